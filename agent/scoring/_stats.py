"""Aggregates across seeds with Student-t intervals (never z; n = 1 gets no interval)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Two-sided Student-t interval of the mean; ``None`` for fewer than two values."""
    arr = np.asarray(values, dtype=float)
    n = len(arr)
    if n < 2:
        return None
    mean, sem = float(arr.mean()), float(arr.std(ddof=1)) / math.sqrt(n)
    if sem == 0.0:
        return mean, mean
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sem
    return mean - half, mean + half


def summarize(values: Sequence[float | None]) -> dict:
    """mean, std (ddof=1), min, max, n and the 95% t-interval of the defined values."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    n = len(arr)
    if n == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0,
                "ci_low": None, "ci_high": None}
    ci = t_interval(arr)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if n > 1 else None,
        "min": float(arr.min()),
        "max": float(arr.max()),
        "n": n,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
    }


def aggregate(per_seed: Sequence[dict[str, float | None]]) -> dict[str, dict]:
    """Summarize every metric that appears in the per-seed dicts."""
    keys = sorted({k for m in per_seed for k in m})
    return {k: summarize([m.get(k) for m in per_seed]) for k in keys}
