"""How far the test set alone lets a claim go: one-sided test-set bounds for ``decide_goal``.

Seed-to-seed spread measures training randomness on one fixed test set; it says nothing about
how well that test set stands for the population it was drawn from. Three seeds that all score
45/45 have zero spread, yet 45/45 supports only about 0.936 as a one-sided 95% lower bound. The
goal decision therefore also asks the test set: an exact binomial (Clopper-Pearson) bound for
metrics that are a fraction of per-row hits, a bootstrap over test rows for every other metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..metrics import check_known

# Metrics that are a fraction of test rows with a per-row hit (exact binomial bounds apply).
PROPORTION_METRICS = frozenset({"accuracy", "top3_accuracy", "precision_micro", "recall_micro", "f1_micro"})

METHODS = frozenset({"clopper_pearson", "bootstrap"})

Bounds = tuple[float, float]


def clopper_pearson(k: int, n: int, alpha: float) -> Bounds:
    """Exact one-sided binomial bounds for ``k`` hits in ``n`` rows, each at level ``1 - alpha``.

    Args:
        k: hits, ``0 <= k <= n``.
        n: rows, at least 1.
        alpha: error of each one-sided bound, in ``(0, 1)``; ``(lower, upper)`` together form the
            two-sided ``1 - 2 * alpha`` Clopper-Pearson interval.

    Returns:
        ``(lower, upper)``; ``lower = 0`` when ``k = 0`` and ``upper = 1`` when ``k = n``.

    Raises:
        ValueError: for ``n < 1``, ``k`` outside ``[0, n]`` or ``alpha`` outside ``(0, 1)``.
    """
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    lower = 0.0 if k == 0 else float(stats.beta.ppf(alpha, k, n - k + 1))
    upper = 1.0 if k == n else float(stats.beta.ppf(1 - alpha, k + 1, n - k))
    return lower, upper


@dataclass(frozen=True)
class TestSetBound:
    """One-sided test-set bounds of a look's mean; build it with ``test_set_bound``.

    Attributes:
        method: ``"clopper_pearson"`` or ``"bootstrap"``.
        n_test: test rows (``None`` if unknown; used in reasons).
        metric: the metric's name (used in reasons).
        seed_bounds: bootstrap only: per-seed ``(lower, upper)`` in seed order.
        alpha: bootstrap only: the level the seed bounds were computed at, if known; ``bounds``
            refuses any other.
    """

    __test__ = False  # pytest: a class named Test*, not a test class

    method: str
    n_test: int | None = None
    metric: str = ""
    seed_bounds: tuple[Bounds, ...] = ()
    alpha: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}, got {self.method!r}")
        if self.method == "clopper_pearson" and (self.n_test is None or self.n_test < 1):
            raise ValueError(f"clopper_pearson needs n_test of at least 1, got {self.n_test}")

    def bounds(self, values_of_look: np.ndarray, alpha: float) -> Bounds:
        """One-sided ``(lower, upper)`` at level ``1 - alpha`` each for the mean of the look's values.

        Clopper-Pearson uses ``k = round(mean * n_test)``; the bootstrap averages the bounds of the
        look's seeds (the first ``len(values_of_look)``). ``nan`` where a seed has no bootstrap bound.
        """
        c = len(values_of_look)
        if self.method == "clopper_pearson":
            k = min(max(round(float(np.mean(values_of_look)) * self.n_test), 0), self.n_test)
            return clopper_pearson(k, self.n_test, alpha)
        if self.alpha is not None and not math.isclose(alpha, self.alpha):
            raise ValueError(f"the seed bounds were computed at alpha {self.alpha:g}, not {alpha:g}")
        if c > len(self.seed_bounds):
            raise ValueError(f"{c} values but only {len(self.seed_bounds)} seed bounds")
        # The seeds share one test set, so their test-set errors are strongly correlated: when
        # they are perfectly correlated the mean of the per-seed bounds is the bound of the mean,
        # and otherwise averaging partly cancels the errors, so this is conservative.
        low, high = np.mean(np.asarray(self.seed_bounds[:c], dtype=float), axis=0)
        return float(low), float(high)

    def best_case(self, alpha: float, higher_is_better: bool) -> float | None:
        """The good-side bound a perfect score would get, or ``None`` when it is not known.

        For Clopper-Pearson and a higher-is-better metric that is the lower bound of
        ``n_test / n_test`` hits, ``alpha ** (1 / n_test)``; a target above it can never be claimed.
        """
        if self.method != "clopper_pearson":
            return None  # a perfect model's bootstrap bound is its ideal value: never limiting
        return clopper_pearson(self.n_test, self.n_test, alpha)[0] if higher_is_better \
            else clopper_pearson(0, self.n_test, alpha)[1]

    def aligned(self, values: Sequence[float | None]) -> TestSetBound:
        """The bound for the defined ones of ``values``: drops the seed bounds of undefined seeds.

        Raises:
            ValueError: if a bootstrap bound does not hold one seed bound per value.
        """
        if self.method == "clopper_pearson":
            return self
        if len(self.seed_bounds) != len(values):
            raise ValueError(f"the bootstrap bound needs one per value: {len(self.seed_bounds)} seed "
                             f"bounds for {len(values)} values")
        kept = tuple(b for v, b in zip(values, self.seed_bounds, strict=True) if _defined(v))
        return TestSetBound(self.method, self.n_test, self.metric, kept, self.alpha)


def proportion_bound(n_test: int, metric: str = "accuracy") -> TestSetBound:
    """Exact Clopper-Pearson bounds for a fraction of ``n_test`` rows (accuracy, top-k accuracy)."""
    return TestSetBound("clopper_pearson", int(n_test), metric)


def bootstrap_bound(seed_bounds: Sequence[Bounds], *, n_test: int | None = None, metric: str = "",
                    alpha: float | None = None) -> TestSetBound:
    """Bootstrap bounds from per-seed ``bootstrap_seed_bounds`` (seed order, one per value).

    Args:
        seed_bounds: per-seed one-sided ``(lower, upper)``, computed at the plan's alpha per
            checkpoint; a look's bound is the mean of its seeds' bounds (see ``TestSetBound.bounds``).
        n_test: test rows, for the reason line.
        metric: the metric's name, for the reason line.
        alpha: the level the seed bounds were computed at; when given, a look at any other is refused.
    """
    return TestSetBound("bootstrap", n_test, metric, tuple((float(lo), float(hi)) for lo, hi in seed_bounds), alpha)


def test_set_bound(metric: str, n_test: int, seed_bounds: Sequence[Bounds] | None = None) -> TestSetBound | None:
    """The test-set bound for ``metric``: exact for proportions, else bootstrap (or ``None`` without it).

    Args:
        metric: a name from ``GOAL_METRICS``.
        n_test: test rows.
        seed_bounds: per-seed ``bootstrap_seed_bounds`` at the plan's alpha per checkpoint; ignored
            for proportion metrics.

    Raises:
        ValueError: for an unknown metric.
    """
    check_known(metric)
    if metric in PROPORTION_METRICS:
        return proportion_bound(n_test, metric)
    return None if seed_bounds is None else bootstrap_bound(seed_bounds, n_test=n_test, metric=metric)


def _defined(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


test_set_bound.__test__ = False  # pytest: a function named test_*, not a test, wherever it is imported
