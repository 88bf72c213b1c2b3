"""Aggregates across seeds with Student-t intervals (never z; n = 1 gets no interval).

Seed-to-seed spread measures training randomness (init, data order, dropout) on one fixed test
set. ``aggregate(..., n_test=...)`` can also report a wider interval that also allows for the test
set's own sampling noise, for metrics that are a fraction of per-row hits: the wider of the seed
interval and an exact binomial one (see ``t_interval_with_test_noise``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from ._bounds import PROPORTION_METRICS, clopper_pearson

CONFIDENCE = 0.95


def defined_values(values: Sequence[float | None]) -> np.ndarray:
    """The finite values as a float array; ``None`` and ``nan`` mean "undefined for that seed"."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return arr[np.isfinite(arr)]


def sample_std(values: Sequence[float]) -> float:
    """Standard deviation with ``ddof=1`` of at least two values; exactly 0 when all are equal."""
    arr = np.asarray(values, dtype=float)
    # identical values: an exact 0 instead of a rounding residue like 1e-17
    return 0.0 if np.all(arr == arr[0]) else float(arr.std(ddof=1))


def mean_and_sem(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (``std(ddof=1) / sqrt(n)``) of at least two values."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), sample_std(arr) / math.sqrt(len(arr))


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Two-sided Student-t interval of the mean with ``n - 1`` degrees of freedom.

    Args:
        values: per-seed values.
        confidence: two-sided coverage, 0.95 by default.

    Returns:
        ``(low, high)``, or ``None`` for fewer than two values. Zero spread gives ``(mean, mean)``.
    """
    arr = np.asarray(values, dtype=float)
    if len(arr) < 2:
        return None
    mean, sem = mean_and_sem(arr)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=len(arr) - 1)) * sem
    return mean - half, mean + half


def t_interval_with_test_noise(
    values: Sequence[float], n_test: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """A wider interval for a proportion metric that also counts test-set sampling noise.

    The seed mean varies with training randomness, which more seeds average away, and with which
    test rows were drawn, which every seed shares and no number of seeds removes. This is the
    wider of the two-sided Student-t seed interval and the two-sided exact Clopper-Pearson
    interval of ``k = round(mean * n_test)`` hits in ``n_test`` rows, at the same confidence. So
    seeds that all score 45/45 get about ``[0.921, 1]``, not ``[1, 1]``. Use it for claims about
    the population the test set was drawn from; the plain ``t_interval`` is about this test set.

    Args:
        values: per-seed values of a metric that is a fraction of test rows, in ``[0, 1]``.
        n_test: number of test rows.
        confidence: two-sided coverage of each interval.

    Returns:
        ``(low, high)``, or ``None`` for fewer than two values or no test rows.
    """
    arr = np.asarray(values, dtype=float)
    seeds = t_interval(arr, confidence)
    if seeds is None or n_test < 1:
        return None
    k = min(max(round(float(arr.mean()) * n_test), 0), n_test)
    low, high = clopper_pearson(k, n_test, (1 - confidence) / 2)
    return min(seeds[0], low), max(seeds[1], high)


def summarize(values: Sequence[float | None], n_test: int | None = None, metric: str = "") -> dict:
    """mean, std (ddof=1), min, max, n and the 95% t-interval of the defined values.

    Args:
        values: per-seed values; ``None``/``nan`` (undefined for that seed) are left out of ``n``.
        n_test: test-set size; with it, proportion metrics also get ``ci_low_with_test_noise``
            and ``ci_high_with_test_noise`` (see ``t_interval_with_test_noise``).
        metric: the metric's name, which decides whether it is a proportion metric.

    Returns:
        ``{"mean", "std", "min", "max", "n", "ci_low", "ci_high"}``; ``std`` and the interval are
        ``None`` for ``n = 1``, and everything but ``n`` is ``None`` for ``n = 0``.
    """
    arr = defined_values(values)
    n = len(arr)
    out: dict = dict.fromkeys(("mean", "std", "min", "max"), None) | {"n": n}
    ci = t_interval(arr)
    if n:
        out |= {"mean": float(arr.mean()), "std": sample_std(arr) if n > 1 else None,
                "min": float(arr.min()), "max": float(arr.max())}
    out |= {"ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None}
    if n_test is not None and metric in PROPORTION_METRICS:
        wide = t_interval_with_test_noise(arr, n_test)
        out |= {"ci_low_with_test_noise": wide[0] if wide else None,
                "ci_high_with_test_noise": wide[1] if wide else None}
    return out


def aggregate(per_seed: Sequence[dict[str, float | None]], n_test: int | None = None) -> dict[str, dict]:
    """Summarize every metric that appears in the per-seed dicts.

    Args:
        per_seed: one ``{metric: value}`` dict per seed, as ``classification_metrics`` returns.
        n_test: test-set size; when given, proportion metrics also carry the wider interval keys.

    Returns:
        ``{metric: summarize(...)}`` for every metric seen in any seed, sorted by name.
    """
    keys = sorted({k for m in per_seed for k in m})
    return {k: summarize([m.get(k) for m in per_seed], n_test=n_test, metric=k) for k in keys}
