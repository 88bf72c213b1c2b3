"""Test-set bounds: exact Clopper-Pearson and the per-look bound objects ``decide_goal`` takes."""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from agent.scoring import TestSetBound, bootstrap_bound, clopper_pearson, proportion_bound, test_set_bound


def test_clopper_pearson_known_value():
    low, high = clopper_pearson(45, 45, 0.05)
    assert low == pytest.approx(0.9355957111922, abs=1e-12) and high == 1.0
    assert low == pytest.approx(0.05 ** (1 / 45))  # k = n: the lower bound solves p^n = alpha


@pytest.mark.parametrize("k", [0, 1, 7, 22, 44, 45])
@pytest.mark.parametrize("alpha", [0.05, 0.05 / 3, 0.2])
def test_clopper_pearson_matches_scipy_two_sided_at_twice_alpha(k, alpha):
    exact = stats.binomtest(k, 45).proportion_ci(confidence_level=1 - 2 * alpha, method="exact")
    assert clopper_pearson(k, 45, alpha) == pytest.approx((exact.low, exact.high), abs=1e-12)


def test_clopper_pearson_ends_and_errors():
    assert clopper_pearson(0, 10, 0.05)[0] == 0.0 and clopper_pearson(10, 10, 0.05)[1] == 1.0
    for k, n, alpha in ((11, 10, 0.05), (-1, 10, 0.05), (0, 0, 0.05), (5, 10, 0.0), (5, 10, 1.0)):
        with pytest.raises(ValueError):
            clopper_pearson(k, n, alpha)


def test_proportion_bound_rounds_the_look_mean_to_a_count():
    bound = proportion_bound(45)
    assert bound.method == "clopper_pearson" and bound.n_test == 45
    assert bound.bounds(np.array([1.0, 1.0, 1.0]), 0.05) == pytest.approx(clopper_pearson(45, 45, 0.05))
    # seeds at 40, 41, 42 of 45: mean 41/45
    values = np.array([40, 41, 42]) / 45
    assert bound.bounds(values, 0.05) == pytest.approx(clopper_pearson(41, 45, 0.05))
    assert bound.bounds(np.array([0.901, 0.902]), 0.05) == pytest.approx(clopper_pearson(41, 45, 0.05))
    with pytest.raises(ValueError, match="n_test"):
        proportion_bound(0)


def test_bootstrap_bound_averages_the_first_seeds():
    bound = bootstrap_bound([(0.1, 0.3), (0.2, 0.4), (0.9, 1.0)])
    assert bound.method == "bootstrap"
    assert bound.bounds(np.array([0.2, 0.3]), 0.05) == pytest.approx((0.15, 0.35))
    with pytest.raises(ValueError, match="seed bounds"):
        bound.bounds(np.zeros(4), 0.05)
    checked = bootstrap_bound([(0.1, 0.3)] * 3, alpha=0.05 / 3)
    assert checked.bounds(np.zeros(3), 0.05 / 3) == pytest.approx((0.1, 0.3))
    with pytest.raises(ValueError, match="alpha"):
        checked.bounds(np.zeros(3), 0.05)


def test_bounds_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        proportion_bound(45).n_test = 10


@pytest.mark.parametrize("metric", ["accuracy", "top3_accuracy", "f1_micro", "precision_micro", "recall_micro"])
def test_test_set_bound_for_proportions(metric):
    bound = test_set_bound(metric, 45)
    assert bound.method == "clopper_pearson" and bound.n_test == 45


def test_test_set_bound_for_other_metrics():
    assert test_set_bound("log_loss", 45) is None
    bound = test_set_bound("f1_macro", 45, seed_bounds=[(0.8, 0.9)] * 3)
    assert bound.method == "bootstrap" and bound.n_test == 45
    # a proportion metric ignores bootstrap bounds: the exact bound is better
    assert test_set_bound("accuracy", 45, seed_bounds=[(0.8, 0.9)] * 3).method == "clopper_pearson"
    with pytest.raises(ValueError, match="unknown metric"):
        test_set_bound("acuracy", 45)


def test_a_bound_checks_itself():
    with pytest.raises(ValueError, match="method"):
        TestSetBound("normal", 45)
    with pytest.raises(ValueError, match="n_test"):
        TestSetBound("clopper_pearson")
