"""Bootstrap bounds over test rows: the fast statistics equal ``classification_metrics`` per resample."""

import numpy as np
import pytest

from agent.scoring import GOAL_METRICS, bootstrap_seed_bounds, classification_metrics, clopper_pearson
from agent.scoring._bootstrap import _statistics


def _problem(n, k, seed, ties=False, collapse=False, labels=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, labels or k, n)
    logits = rng.normal(0, 1, (n, k)) + 1.5 * np.eye(k)[y]
    if collapse:  # class k-1 is never predicted
        logits[:, -1] -= 10
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if ties:
        probs = np.round(probs, 1) + 1e-4
        probs /= probs.sum(axis=1, keepdims=True)
    return probs, y


def _reference(probs, y, metrics, idx):
    """``{metric: (B,) array}`` from ``classification_metrics`` on each resample, nan where undefined."""
    per_resample = [classification_metrics(probs[i], y[i]) for i in idx]
    return {m: np.array([np.nan if r[m] is None else r[m] for r in per_resample]) for m in metrics}


# (rows, classes, seed, tied scores, last class never predicted, labels drawn from the first ...)
CASES = [(60, 4, 1, False, False, None), (60, 2, 2, False, False, None), (15, 5, 3, True, False, None),
         (40, 3, 4, True, True, None), (12, 2, 5, False, True, None), (50, 6, 6, False, False, None),
         (30, 4, 7, False, True, 3),  # class 3 neither in y nor predicted: F1 is 0/0
         (6, 2, 8, False, True, 1)]  # one class in y and in predictions: kappa's chance agreement is 1


@pytest.mark.parametrize(("n", "k", "seed", "ties", "collapse", "labels"), CASES)
def test_fast_statistics_equal_classification_metrics_per_resample(n, k, seed, ties, collapse, labels):
    probs, y = _problem(n, k, seed, ties, collapse, labels)
    idx = np.random.default_rng(seed).integers(0, n, size=(25, n))
    metrics = [m for m in GOAL_METRICS if m in classification_metrics(probs, y)]
    reference = _reference(probs, y, metrics, idx)
    for metric in metrics:
        np.testing.assert_allclose(_statistics(probs, y, metric, idx), reference[metric], rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=metric)


def test_bounds_are_reproducible_and_bracket_the_estimate():
    probs, y = _problem(400, 4, 7)
    low, high = bootstrap_seed_bounds(probs, y, "f1_macro", alpha=0.05, seed=3)
    assert bootstrap_seed_bounds(probs, y, "f1_macro", alpha=0.05, seed=3) == (low, high)
    assert bootstrap_seed_bounds(probs, y, "f1_macro", alpha=0.05, seed=4) != (low, high)
    assert low < classification_metrics(probs, y)["f1_macro"] < high
    ll_low, ll_high = bootstrap_seed_bounds(probs, y, "log_loss", alpha=0.05, seed=3)
    assert ll_low < classification_metrics(probs, y)["log_loss"] < ll_high


def test_bootstrap_accuracy_bounds_are_close_to_the_exact_ones():
    probs, y = _problem(2000, 4, 8)
    hits = int(np.sum(probs.argmax(axis=1) == y))
    low, high = bootstrap_seed_bounds(probs, y, "accuracy", alpha=0.05, seed=0, n_boot=2000)
    assert (low, high) == pytest.approx(clopper_pearson(hits, 2000, 0.05), abs=0.005)


def test_a_metric_too_often_undefined_on_resamples_has_no_bounds():
    probs, y = _problem(30, 3, 9)
    y[:] = np.where(y == 2, 0, y)
    y[0] = 2  # one row of class 2: about a third of the resamples miss it and ROC-AUC is undefined
    assert np.isnan(bootstrap_seed_bounds(probs, y, "roc_auc", alpha=0.05, seed=0)).all()
    assert np.isfinite(bootstrap_seed_bounds(probs, y, "accuracy", alpha=0.05, seed=0)).all()


def test_bootstrap_errors():
    probs, y = _problem(30, 3, 10)
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_seed_bounds(probs, y, "acuracy", alpha=0.05, seed=0)
    with pytest.raises(ValueError, match="4 or more classes"):
        bootstrap_seed_bounds(probs, y, "top3_accuracy", alpha=0.05, seed=0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_seed_bounds(probs, y, "accuracy", alpha=0.001, seed=0, n_boot=1000)
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_seed_bounds(probs, y, "accuracy", alpha=0.7, seed=0)
