"""Across-seed summaries: Student-t intervals checked against scipy, edge cases, coverage."""

import math

import numpy as np
import pytest
from scipy import stats

from agent.scoring import aggregate, summarize, t_interval, t_interval_with_test_noise

KEYS = {"mean", "std", "min", "max", "n", "ci_low", "ci_high"}


@pytest.mark.parametrize("values", [[0.81, 0.84, 0.79], [0.5, 0.7, 0.65, 0.61, 0.66], list(range(10))])
def test_t_interval_matches_scipy(values):
    arr = np.asarray(values, dtype=float)
    sem = arr.std(ddof=1) / math.sqrt(len(arr))
    low, high = stats.t.interval(0.95, df=len(arr) - 1, loc=arr.mean(), scale=sem)
    assert t_interval(values) == pytest.approx((low, high))
    half = stats.t.ppf(0.975, len(arr) - 1) * sem
    assert t_interval(values) == pytest.approx((arr.mean() - half, arr.mean() + half))


def test_t_interval_other_confidence_and_degenerate_cases():
    arr = np.array([1.0, 2.0, 4.0])
    expected = stats.t.interval(0.9, df=2, loc=arr.mean(), scale=stats.sem(arr))
    assert t_interval(arr, confidence=0.9) == pytest.approx(expected)
    assert t_interval([0.7]) is None and t_interval([]) is None
    assert t_interval([0.1, 0.1, 0.1]) == (pytest.approx(0.1), pytest.approx(0.1))


def test_summarize_shape_and_values():
    s = summarize([0.8, 0.9, 0.85])
    assert set(s) == KEYS
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.85) and s["std"] == pytest.approx(0.05)
    assert (s["min"], s["max"]) == (0.8, 0.9)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx(t_interval([0.8, 0.9, 0.85]))


def test_summarize_n1_n0_and_undefined_values():
    one = summarize([0.9])
    assert one == {"mean": 0.9, "std": None, "min": 0.9, "max": 0.9, "n": 1, "ci_low": None, "ci_high": None}
    assert summarize([]) == dict.fromkeys(KEYS - {"n"}) | {"n": 0}
    assert summarize([None, float("nan"), 0.5, 0.7])["n"] == 2
    assert summarize([0.3, 0.3])["std"] == 0.0


def test_aggregate_every_metric_and_missing_ones():
    agg = aggregate([{"accuracy": 0.8, "mcc": None}, {"accuracy": 0.9, "mcc": 0.5}, {"accuracy": 0.85}])
    assert set(agg) == {"accuracy", "mcc"}
    assert all(set(v) == KEYS for v in agg.values())
    assert agg["accuracy"]["n"] == 3 and agg["mcc"]["n"] == 1 and agg["mcc"]["ci_low"] is None
    assert aggregate([]) == {}


def test_equal_perfect_seeds_on_a_small_test_set_keep_the_test_set_width():
    # 45/45 correct on every seed: the seed spread is 0, the test set still allows ~0.92
    agg = aggregate([{"accuracy": 1.0}] * 3, n_test=45)["accuracy"]
    exact = stats.binomtest(45, 45).proportion_ci(confidence_level=0.95, method="exact")
    assert agg["ci_low_with_test_noise"] == pytest.approx(exact.low)
    assert agg["ci_low_with_test_noise"] == pytest.approx(0.9213, abs=1e-4)
    assert agg["ci_high_with_test_noise"] == 1.0


def test_test_noise_interval_is_the_wider_of_seeds_and_test_set():
    values, n_test = [0.80, 0.82, 0.81], 500
    exact = stats.binomtest(405, 500).proportion_ci(confidence_level=0.95, method="exact")
    plain = t_interval(values)
    low, high = t_interval_with_test_noise(values, n_test)
    assert (low, high) == pytest.approx((min(plain[0], exact.low), max(plain[1], exact.high)))
    # a wide seed spread on a large test set: the seed interval is the wider one
    spread = [0.70, 0.90, 0.80]
    assert t_interval_with_test_noise(spread, 100_000) == pytest.approx(t_interval(spread))
    # k = round(mean * n_test): 0.5 on 100 rows is 50/100
    exact = stats.binomtest(50, 100).proportion_ci(confidence_level=0.9, method="exact")
    assert t_interval_with_test_noise([0.5, 0.5], 100, confidence=0.9) == pytest.approx((exact.low, exact.high))
    assert t_interval_with_test_noise([0.5], 100) is None


def test_test_noise_keys_only_for_proportion_metrics():
    values, n_test = [0.80, 0.82, 0.81], 500
    agg = aggregate([{"accuracy": v, "log_loss": 1 - v} for v in values], n_test=n_test)
    assert agg["accuracy"]["ci_low_with_test_noise"] == pytest.approx(t_interval_with_test_noise(values, n_test)[0])
    assert set(agg["log_loss"]) == KEYS  # not a proportion: no extra keys
    assert set(aggregate([{"accuracy": 0.8}])["accuracy"]) == KEYS  # default shape unchanged


@pytest.mark.parametrize("n", [3, 5])
def test_interval_coverage_simulation(n):
    rng = np.random.default_rng(20240501 + n)
    true_mean, reps = 0.82, 2000
    draws = rng.normal(true_mean, 0.015, size=(reps, n))
    covered = 0
    for row in draws:
        low, high = t_interval(row)
        covered += low <= true_mean <= high
    assert 0.93 <= covered / reps <= 0.97
