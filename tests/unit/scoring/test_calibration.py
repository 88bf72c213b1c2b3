"""ECE, Brier, log loss and reliability bins on hand-built inputs."""

import numpy as np
import pytest
from sklearn import metrics as skm

from agent.scoring import brier_score, expected_calibration_error, log_loss, reliability_bins


def test_ece_hand_computed():
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.55, 0.45]])
    y = np.array([0, 1, 0, 0])
    # bin of 0.95: accuracy 0.5 vs confidence 0.95; bin of 0.55: accuracy 1.0 vs 0.55; equal weights
    assert expected_calibration_error(probs, y) == pytest.approx(0.45)


def test_ece_zero_when_confident_and_right_and_one_is_in_the_last_bin():
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert expected_calibration_error(probs, np.array([0, 1])) == 0.0
    bins = reliability_bins(probs, np.array([0, 1]))
    assert bins.counts[-1] == 2 and bins.counts.sum() == 2 and len(bins.edges) == 16


def test_ece_uses_15_bins_by_default():
    probs = np.array([[0.5, 0.5], [0.54, 0.46]])  # 7.5 and 8.1 fifteenths: two bins (one of 20 bins)
    bins = reliability_bins(probs, np.array([0, 1]))
    assert bins.counts[7] == 1 and bins.counts[8] == 1
    assert bins.accuracy[7] == 1.0 and bins.accuracy[8] == 0.0 and np.isnan(bins.accuracy[0])
    assert expected_calibration_error(probs, np.array([0, 1])) == pytest.approx((0.5 + 0.54) / 2)


def test_brier_conventions_match_sklearn():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), 30)
    y = rng.integers(0, 4, 30)
    assert brier_score(probs, y) == pytest.approx(skm.brier_score_loss(y, probs, labels=range(4)))
    binary = rng.dirichlet(np.ones(2), 30)
    yb = rng.integers(0, 2, 30)
    assert brier_score(binary, yb) == pytest.approx(skm.brier_score_loss(yb, binary[:, 1]))
    assert brier_score(np.array([[0.7, 0.2, 0.1]]), np.array([0])) == pytest.approx(0.14)


def test_log_loss_matches_sklearn_and_a_zero_probability_stays_finite():
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(3), 20)
    y = rng.integers(0, 3, 20)
    assert log_loss(probs, y) == pytest.approx(skm.log_loss(y, probs, labels=range(3)))
    hard = log_loss(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([1, 0]))
    assert np.isfinite(hard) and hard == pytest.approx((-np.log(1e-15) - np.log(0.5)) / 2, rel=1e-6)
