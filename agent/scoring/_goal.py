"""Is the goal met? A group-sequential one-sided test at planned seed checkpoints.

The plan (``plan_for``, the same for ``eval`` and ``run``): a fixed seed count ``N`` plans one
look at ``N`` seeds, which spends all of ``alpha``; ``"auto"`` plans looks at ``CHECKPOINTS``
(3, 5, 10) and spends ``alpha / len(checkpoints)`` at each (Bonferroni, so the whole plan's chance
of a false "achieved", and separately of a false "not achieved", stays at most ``alpha``). One seed
is never a plan.

At each look two one-sided ``1 - alpha / len(checkpoints)`` bounds of the mean are taken: the
Student-t bound of the seeds (training randomness) and, when a ``TestSetBound`` is given, the
test set's own bound (which rows happened to be drawn; no number of seeds shrinks it). The
decision uses the more conservative of each pair: the lower of the two lower bounds and the
higher of the two upper bounds. The good-side bound clears the target: achieved. The bad-side
bound is past it: not achieved, stop adding seeds. Neither: add seeds up to the next checkpoint;
neither at the last: inconclusive.

An unreachable target: when even a perfect score's test-set bound at ``alpha / len(checkpoints)``
misses the target (45/45 correct at one look of one-sided 95% gives 0.9356, so 45 rows can never
support 0.95), no look can ever claim "achieved". Then no more seeds are asked for: a look among
the given values that already claims "not achieved" stands; otherwise the decision is
"inconclusive" at once, even before the first checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np
from scipy import stats

from ._bounds import TestSetBound
from ._plan import ALPHA, CHECKPOINTS, _validated_plan, next_checkpoint
from ._stats import defined_values, mean_and_sem


class Decision(StrEnum):
    """The outcome of ``decide_goal``."""

    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    UNDECIDED = "undecided"  # not at a checkpoint yet, or bounds straddle the target: add seeds
    INCONCLUSIVE = "inconclusive"  # bounds still straddle the target at the last checkpoint


@dataclass(frozen=True)
class GoalDecision:
    """A goal decision and the numbers behind it.

    Attributes:
        decision: achieved / not_achieved / undecided / inconclusive.
        n: number of defined per-seed values given.
        checkpoint: the seed count of the look the decision rests on (``None`` before the first).
        mean: mean of the first ``checkpoint`` values.
        lower_bound: the one-sided ``1 - alpha_per_checkpoint`` lower bound of the mean the
            decision used: the lower of ``seed_lower_bound`` and ``test_lower_bound``.
        upper_bound: the matching upper bound: the higher of the seed and test-set upper bounds.
        seed_lower_bound: the Student-t lower bound of the seeds alone.
        seed_upper_bound: the Student-t upper bound of the seeds alone.
        test_lower_bound: the test set's own lower bound (``None`` without a ``TestSetBound``,
            ``nan`` where the bootstrap left it undefined).
        test_upper_bound: the test set's own upper bound.
        test_bound_method: ``"clopper_pearson"``, ``"bootstrap"`` or ``None``.
        target: the goal value.
        higher_is_better: direction of the metric.
        alpha: the error budget of the whole plan.
        alpha_per_checkpoint: ``alpha / len(checkpoints)``, spent at each look.
        next_checkpoint: seeds to run next when undecided, else ``None``.
        reason: one line a person can read.
    """

    decision: Decision
    n: int
    checkpoint: int | None
    mean: float | None
    lower_bound: float | None
    upper_bound: float | None
    seed_lower_bound: float | None
    seed_upper_bound: float | None
    test_lower_bound: float | None
    test_upper_bound: float | None
    test_bound_method: str | None
    target: float
    higher_is_better: bool
    alpha: float
    alpha_per_checkpoint: float
    next_checkpoint: int | None
    reason: str

    def to_dict(self) -> dict:
        """A JSON-ready dict (``decision`` as its string value, an undefined bound as ``None``)."""
        record = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}
        return record | {"decision": self.decision.value}


def decide_goal(
    values: Sequence[float | None],
    target: float,
    checkpoints: Sequence[int] = CHECKPOINTS,
    alpha: float = ALPHA,
    higher_is_better: bool = True,
    test_bound: TestSetBound | None = None,
) -> GoalDecision:
    """Decide whether a metric's true mean meets ``target``, looking only at planned checkpoints.

    The plan is replayed in seed order: the looks happen at every checkpoint up to ``n`` using
    the first ``checkpoint`` values, and the first look that claims decides. So 4 seeds give the
    decision of the look at 3, and extra seeds past a claim do not reopen it.

    Args:
        values: per-seed values in seed order; ``None``/``nan`` are left out.
        target: the goal; "achieved" means the true mean is at least (or, for lower-is-better
            metrics, at most) this.
        checkpoints: planned seed counts, increasing, each at least 2 (see ``plan_for``).
        alpha: error budget of the whole plan, split evenly across the checkpoints.
        higher_is_better: ``False`` for losses and calibration errors (log_loss, brier, ece).
        test_bound: the test set's own bound (``test_set_bound``); a bootstrap one holds one
            per-seed bound per value, computed at ``alpha / len(checkpoints)``. ``None``: seeds only.

    Returns:
        The decision record.

    Raises:
        ValueError: for a checkpoint below 2, unsorted checkpoints, alpha outside (0, 1), or a
            bootstrap bound without one seed bound per value.
    """
    plan = _validated_plan(checkpoints)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    values = list(values)
    bound = test_bound.aligned(values) if test_bound is not None else None
    arr = defined_values(values)
    per_look = alpha / len(plan)
    base = {"n": len(arr), "target": float(target), "higher_is_better": higher_is_better,
            "alpha": alpha, "alpha_per_checkpoint": per_look,
            "test_bound_method": bound.method if bound else None}
    look = None
    for c in (c for c in plan if c <= len(arr)):
        look = _look(arr[:c], target, per_look, higher_is_better, bound)
        if look["decision"] in (Decision.ACHIEVED, Decision.NOT_ACHIEVED):
            return GoalDecision(**base, **look, next_checkpoint=None)
    if look is None:
        look = dict.fromkeys(_BOUND_KEYS) | {"checkpoint": None, "mean": None}
    unreachable = _unreachable(bound, target, per_look, higher_is_better)
    if unreachable:
        return GoalDecision(**base, **look | {"decision": Decision.INCONCLUSIVE, "reason": unreachable},
                            next_checkpoint=None)
    following = next_checkpoint(len(arr), plan)
    if look["checkpoint"] is None:
        look |= {"decision": Decision.UNDECIDED,
                 "reason": f"{len(arr)} seed(s) so far; no claim before the first checkpoint "
                           f"({plan[0]} seeds); run {following} seeds"}
    elif following is None:
        look |= {"decision": Decision.INCONCLUSIVE,
                 "reason": f"inconclusive {look['reason']}; no checkpoint left in the plan"}
    else:
        look["reason"] = f"undecided {look['reason']}; run {following} seeds"
    return GoalDecision(**base, **look, next_checkpoint=following)


_BOUND_KEYS = ("lower_bound", "upper_bound", "seed_lower_bound", "seed_upper_bound",
               "test_lower_bound", "test_upper_bound")


def _look(arr: np.ndarray, target: float, alpha: float, higher_is_better: bool,
          bound: TestSetBound | None) -> dict:
    """One planned look: the seed and test-set bounds at level ``1 - alpha`` and what they say."""
    n = len(arr)
    mean, sem = mean_and_sem(arr)
    half = float(stats.t.ppf(1 - alpha, df=n - 1)) * sem
    seed = (mean - half, mean + half)
    test = bound.bounds(arr, alpha) if bound else None
    lower, upper = (seed if test is None else
                    (_conservative(min, seed[0], test[0]), _conservative(max, seed[1], test[1])))
    look = {"decision": Decision.UNDECIDED, "checkpoint": n, "mean": mean,
            "lower_bound": lower, "upper_bound": upper, "seed_lower_bound": seed[0],
            "seed_upper_bound": seed[1], "test_lower_bound": test[0] if test else None,
            "test_upper_bound": test[1] if test else None}
    sign = 1 if higher_is_better else -1
    good, bad = (lower, upper) if higher_is_better else (upper, lower)
    if sign * (good - target) >= 0:
        look["decision"] = Decision.ACHIEVED
    elif sign * (bad - target) < 0:
        look["decision"] = Decision.NOT_ACHIEVED
    return look | {"reason": _Reason(look, target, alpha, higher_is_better, bound).text()}


def _conservative(pick, seed: float, test: float) -> float:
    return math.nan if math.isnan(test) else pick(seed, test)


def _unreachable(bound: TestSetBound | None, target: float, alpha: float, higher_is_better: bool) -> str | None:
    """Why no look can ever claim "achieved" on this test set, or ``None`` when one still can."""
    best = bound.best_case(alpha, higher_is_better) if bound else None
    if best is None or (best >= target if higher_is_better else best <= target):
        return None
    n, metric, level = bound.n_test, bound.metric or "the metric", _level(alpha)
    op, perfect = (">=", f"{n}/{n} correct gives a lower bound") if higher_is_better \
        else ("<=", "a perfect score gives an upper bound")
    return (f"inconclusive: {n} test rows can never support {metric} {op} {_g(target)} at {level}: "
            f"even {perfect} of {best:.4f}; more seeds cannot help: lower the target or test on more rows")


class _Reason:
    """The one-line reason of a look: which bound decided, or which one holds the claim back."""

    def __init__(self, look: dict, target: float, alpha: float, higher_is_better: bool,
                 bound: TestSetBound | None) -> None:
        self.look, self.target, self.hib, self.bound = look, target, higher_is_better, bound
        self.level, self.n = _level(alpha), look["checkpoint"]
        self.metric = (bound.metric if bound else "") or "the metric"
        known = bool(bound and bound.n_test)
        self.rows = f"{bound.n_test} test rows" if known else "the test rows"
        self.test_set = f"the test set ({bound.n_test} rows)" if known else "the test set"

    def text(self) -> str:
        decision = self.look["decision"]
        if decision is Decision.ACHIEVED:
            return self._claim("achieved", "lower" if self.hib else "upper", ">=" if self.hib else "<=")
        if decision is Decision.NOT_ACHIEVED:
            return self._claim("not achieved", "upper" if self.hib else "lower", "<" if self.hib else ">") \
                + "; stop adding seeds"
        return self._unclaimed()

    def _claim(self, what: str, side: str, op: str) -> str:
        value, seed, test = (self.look[f"{k}{side}_bound"] for k in ("", "seed_", "test_"))
        head = f"{what} at {self.n} seeds: "
        tail = f"target {_g(self.target)} (mean {_g(self.look['mean'])}"
        if test is None:
            return f"{head}{self.level} {side} bound {_g(value)} {op} {tail})"
        if value == test:  # the test set is the binding bound
            most = "least" if side == "lower" else "most"
            return (f"{head}{self.rows} support {self.metric} of at {most} {_g(test)} ({self.level}) "
                    f"{op} {tail}; seeds alone {_g(seed)})")
        return (f"{head}{self.level} {side} bound {_g(value)} {op} {tail}; the seeds bound it at "
                f"{_g(seed)}, {self.rows} at {_g(test)})")

    def _unclaimed(self) -> str:
        look, mean = self.look, _g(self.look["mean"])
        seeds = f"[{_g(look['seed_lower_bound'])}, {_g(look['seed_upper_bound'])}]"
        if self.bound is None:
            return (f"at {self.n} seeds: target {_g(self.target)} lies within the {self.level} bounds {seeds} "
                    f"(mean {mean})")
        test_lo, test_hi = look["test_lower_bound"], look["test_upper_bound"]
        if math.isnan(test_lo) or math.isnan(test_hi):
            return (f"at {self.n} seeds: the test-set {self.bound.method} bound of {self.metric} is undefined "
                    f"(too few resamples where it is defined), so no claim (mean {mean}, seeds {seeds})")
        side, seed_good, test_good = ("lower", look["seed_lower_bound"], test_lo) if self.hib \
            else ("upper", look["seed_upper_bound"], test_hi)
        if (seed_good >= self.target) if self.hib else (seed_good <= self.target):
            least, verb = ("least", "raise") if self.hib else ("most", "lower")
            return (f"at {self.n} seeds: {self.test_set} only supports {self.metric} of "
                    f"at {least} {_g(test_good)} at {self.level}, short of target {_g(self.target)}; more seeds "
                    f"cannot {verb} that bound (seeds alone: {side} {_g(seed_good)}, mean {mean})")
        return (f"at {self.n} seeds: target {_g(self.target)} lies within the {self.level} bounds "
                f"[{_g(look['lower_bound'])}, {_g(look['upper_bound'])}] (mean {mean}; seeds {seeds}, "
                f"{self.rows} [{_g(test_lo)}, {_g(test_hi)}])")


def _level(alpha: float) -> str:
    return f"one-sided {100 * (1 - alpha):.1f}%"


def _g(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)
