"""A versus B on the same seeds (paired t), and multiple-comparison corrections.

Holm's step-down controls the family-wise error rate: use it before claiming "A beats B" among
many candidates. Benjamini-Hochberg controls the false discovery rate: use it to pick which
candidates get more seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from ._stats import CONFIDENCE, mean_and_sem


@dataclass(frozen=True)
class PairedComparison:
    """A paired comparison of A and B over the seeds both have a value for.

    Attributes:
        n: number of paired seeds.
        mean_a: mean of A over those seeds.
        mean_b: mean of B over those seeds.
        mean_diff: mean of the per-seed differences ``A - B``.
        ci_low: lower end of the two-sided 95% Student-t interval of ``mean_diff``.
        ci_high: upper end of that interval.
        p_value: two-sided paired t-test p-value (``scipy.stats.ttest_rel``'s).
        p_a_better: P(A is better than B): with a flat prior on the true mean difference ``mu``
            and the t model, the posterior of ``(mu - mean_diff) / sem`` is Student-t with
            ``n - 1`` df, so P(mu > 0) is the t CDF at ``mean_diff / sem`` (``-mean_diff / sem``
            when lower is better). It equals one minus the one-sided p-value.
        higher_is_better: direction of the metric.
        verdict: one line, e.g. "A is better than B (+0.012, 95% CI [+0.004, +0.02], p=0.011)".
    """

    n: int
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_a_better: float | None
    higher_is_better: bool
    verdict: str

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class MultipleTesting:
    """Adjusted p-values and rejections, in the order the p-values were given.

    Attributes:
        adjusted: the adjusted p-values (monotone in the raw ones, capped at 1).
        reject: whether each hypothesis is rejected at the given level.
    """

    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]


def compare_paired(
    a_values: Sequence[float | None],
    b_values: Sequence[float | None],
    higher_is_better: bool = True,
    confidence: float = CONFIDENCE,
) -> PairedComparison:
    """Paired t-test of A against B on per-seed values (index i of both is the same seed).

    Seeds where either value is ``None``/``nan`` are dropped. Zero spread of the differences is
    handled without a division: identical values give p = 1 and P(A>B) = 0.5; a constant nonzero
    difference gives p = 0 and P(A>B) of 0 or 1.

    Args:
        a_values: A's per-seed values.
        b_values: B's per-seed values, same seeds in the same order.
        higher_is_better: ``False`` for losses and calibration errors.
        confidence: two-sided level of the interval; a difference is significant when it excludes 0.

    Returns:
        The comparison record.

    Raises:
        ValueError: if the two sequences differ in length.
    """
    if len(a_values) != len(b_values):
        raise ValueError(f"paired values need the same seeds: {len(a_values)} vs {len(b_values)} values")
    a, b = _pairs(a_values, b_values)
    n = len(a)
    means = {"mean_a": float(a.mean()) if n else None, "mean_b": float(b.mean()) if n else None}
    if n < 2:
        return PairedComparison(n, **means, mean_diff=means["mean_a"] - means["mean_b"] if n else None,
                                ci_low=None, ci_high=None, p_value=None, p_a_better=None,
                                higher_is_better=higher_is_better,
                                verdict=f"not enough paired seeds to compare (n={n}; need at least 2)")
    diff, sem = mean_and_sem(a - b)
    sign = 1.0 if higher_is_better else -1.0
    if sem == 0.0:
        half, p_value = 0.0, 1.0 if diff == 0.0 else 0.0
        p_a_better = 0.5 if diff == 0.0 else float(sign * diff > 0)
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sem
        p_value = float(2 * stats.t.sf(abs(diff) / sem, df=n - 1))
        p_a_better = float(stats.t.cdf(sign * diff / sem, df=n - 1))
    low, high = diff - half, diff + half
    return PairedComparison(n, **means, mean_diff=diff, ci_low=low, ci_high=high, p_value=p_value,
                            p_a_better=p_a_better, higher_is_better=higher_is_better,
                            verdict=_verdict(diff, low, high, p_value, sign, confidence))


def _pairs(
    a_values: Sequence[float | None], b_values: Sequence[float | None]
) -> tuple[np.ndarray, np.ndarray]:
    def ok(v: float | None) -> bool:
        return v is not None and math.isfinite(v)

    kept = [(x, y) for x, y in zip(a_values, b_values, strict=True) if ok(x) and ok(y)]
    return np.array([x for x, _ in kept], dtype=float), np.array([y for _, y in kept], dtype=float)


def _verdict(diff: float, low: float, high: float, p_value: float, sign: float, confidence: float) -> str:
    detail = f"({diff:+.3g}, {100 * confidence:.0f}% CI [{low:+.3g}, {high:+.3g}], p={p_value:.3g})"
    if low == high == 0.0:
        return "no difference: identical per-seed values"
    if p_value >= 1 - confidence:
        return f"no significant difference {detail}"
    winner = "A is better than B" if sign * diff > 0 else "B is better than A"
    return f"{winner} {detail}"


def holm(pvalues: Sequence[float], alpha: float = 0.05) -> MultipleTesting:
    """Holm's step-down adjustment (family-wise error rate ``alpha``).

    The i-th smallest p-value (1-based) is multiplied by ``m - i + 1``; adjusted values are made
    non-decreasing in that order and capped at 1. Reject where the adjusted p-value is <= alpha.

    Args:
        pvalues: raw p-values in ``[0, 1]``.
        alpha: family-wise error rate.

    Returns:
        Adjusted p-values and rejections, in input order.
    """
    p = _check(pvalues)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order]) if m else p
    return _result(order, np.minimum(stepped, 1.0), alpha)


def benjamini_hochberg(pvalues: Sequence[float], q: float = 0.05) -> MultipleTesting:
    """Benjamini-Hochberg step-up adjustment (false discovery rate ``q``).

    The i-th smallest p-value (1-based) is multiplied by ``m / i``; adjusted values are made
    non-decreasing by a running minimum from the largest down, and capped at 1. Reject where
    the adjusted p-value is <= q.

    Args:
        pvalues: raw p-values in ``[0, 1]``.
        q: false discovery rate.

    Returns:
        Adjusted p-values and rejections, in input order.
    """
    p = _check(pvalues)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1] if m else scaled
    return _result(order, np.minimum(stepped, 1.0), q)


def _check(pvalues: Sequence[float]) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float).reshape(-1)
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    return p


def _result(order: np.ndarray, adjusted_sorted: np.ndarray, level: float) -> MultipleTesting:
    adjusted = np.empty_like(adjusted_sorted)
    adjusted[order] = adjusted_sorted
    return MultipleTesting(tuple(float(v) for v in adjusted), tuple(bool(v <= level) for v in adjusted))
