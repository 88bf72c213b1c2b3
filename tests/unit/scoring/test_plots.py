"""Every plot renders a real PNG (Agg) into tmp_path without warnings."""

import math

import numpy as np
import pytest

from agent.scoring import (
    classification_report,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_metric_strip,
    plot_reliability,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, returned):
    assert returned == path
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5_000


def test_learning_curves_band_with_gaps_and_ragged_seeds(tmp_path):
    curves = {
        0: {"train_loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.1, 0.7, 0.5, 0.45],
            "train_acc": [0.5, 0.7, 0.8, 0.85], "val_acc": [0.5, 0.65, 0.75, 0.8]},
        1: {"train_loss": [1.1, None, 0.45], "val_loss": [1.2, math.nan, 0.55, math.inf]},
    }
    path = tmp_path / "sub" / "curves.png"
    _assert_png(path, plot_learning_curves(curves, path))


def test_learning_curves_without_data(tmp_path):
    path = tmp_path / "empty.png"
    _assert_png(path, plot_learning_curves([{}], path))


@pytest.mark.parametrize("names", [None, ["cat", "dog", "bird"]])
def test_confusion_matrix(tmp_path, names):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), 50)
    matrix = classification_report(probs, rng.integers(0, 3, 50))["confusion_matrix"]
    path = tmp_path / "cm.png"
    _assert_png(path, plot_confusion_matrix(matrix, path, class_names=names))


@pytest.mark.parametrize("values", [[0.81, 0.84, None, 0.79], {7: 0.9}, []])
def test_metric_strip(tmp_path, values):
    path = tmp_path / "strip.png"
    _assert_png(path, plot_metric_strip(values, path, metric="accuracy", target=0.8))


def test_reliability_diagram(tmp_path):
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4) * 0.5, 200)
    path = tmp_path / "reliability.png"
    _assert_png(path, plot_reliability(probs, rng.integers(0, 4, 200), path))
