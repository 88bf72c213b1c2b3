"""Which metrics a goal may name and which targets are inside their range."""

import math

import numpy as np
import pytest

from agent.scoring import GOAL_METRICS, check_goal, classification_metrics, metric_range


def test_goal_metrics_are_the_per_seed_scalars():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=40)
    y = np.arange(40) % 5
    assert GOAL_METRICS == tuple(classification_metrics(probs, y))


@pytest.mark.parametrize(("metric", "expected"), [
    ("accuracy", (0.0, 1.0)), ("top3_accuracy", (0.0, 1.0)), ("f1_weighted", (0.0, 1.0)),
    ("roc_auc", (0.0, 1.0)), ("pr_auc", (0.0, 1.0)), ("ece", (0.0, 1.0)),
    ("mcc", (-1.0, 1.0)), ("cohen_kappa", (-1.0, 1.0)),
    ("log_loss", (0.0, math.inf)), ("brier", (0.0, 2.0)),
])
def test_metric_range(metric, expected):
    assert metric_range(metric) == expected


def test_metric_ranges_cover_every_goal_metric_and_binary_brier():
    assert all(metric_range(m)[0] < metric_range(m)[1] for m in GOAL_METRICS)
    assert metric_range("brier", n_classes=2) == (0.0, 1.0)
    with pytest.raises(ValueError, match="unknown metric"):
        metric_range("acuracy")


@pytest.mark.parametrize(("metric", "target"), [("accuracy", 0.9), ("accuracy", 1.0), ("accuracy", 0.0),
                                               ("mcc", -0.5), ("log_loss", 3.0), ("brier", 1.5)])
def test_check_goal_accepts(metric, target):
    assert check_goal(metric, target) is None


def test_check_goal_unknown_metric_lists_the_known_ones():
    with pytest.raises(ValueError) as err:
        check_goal("acuracy", 0.9)
    assert str(err.value) == f"unknown metric 'acuracy'; use one of: {', '.join(GOAL_METRICS)}"
    assert str(err.value).startswith("unknown metric 'acuracy'; use one of: accuracy, balanced_accuracy, ")


def test_check_goal_target_outside_the_range():
    with pytest.raises(ValueError) as err:
        check_goal("accuracy", 1.9)
    assert str(err.value) == ("a target of 1.9 is outside accuracy's range [0, 1]; "
                              "give a fraction such as 0.9 or a percentage such as 90%")
    with pytest.raises(ValueError, match=r"^a target of -0.1 is outside log_loss's range \[0, inf\)$"):
        check_goal("log_loss", -0.1)
    with pytest.raises(ValueError, match=r"outside mcc's range \[-1, 1\]"):
        check_goal("mcc", -1.5)
    with pytest.raises(ValueError, match="a number"):
        check_goal("accuracy", float("nan"))
    with pytest.raises(ValueError, match=r"range \[0, 1\]"):
        check_goal("brier", 1.5, n_classes=2)
