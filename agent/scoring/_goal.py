"""Is the goal met? A group-sequential one-sided t test at planned seed checkpoints.

The plan: look only at the planned seed counts (3, 5, 10 by default); at each look compute the
one-sided ``1 - alpha / len(checkpoints)`` Student-t bounds of the mean (Bonferroni split, so the
whole plan's chance of a false "achieved", and separately of a false "not achieved", stays at most
``alpha``). Lower bound clears the target: achieved. Upper bound below it: not achieved, stop
adding seeds. Neither: add seeds up to the next checkpoint; neither at the last: inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np
from scipy import stats

from ._stats import defined_values, mean_and_sem

CHECKPOINTS = (3, 5, 10)  # DESIGN.md; a single seed can never be a checkpoint
ALPHA = 0.05


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
        lower_bound: one-sided ``1 - alpha_per_checkpoint`` lower bound of the mean at that look.
        upper_bound: the matching one-sided upper bound.
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
    target: float
    higher_is_better: bool
    alpha: float
    alpha_per_checkpoint: float
    next_checkpoint: int | None
    reason: str

    def to_dict(self) -> dict:
        """A JSON-ready dict (``decision`` as its string value)."""
        return asdict(self) | {"decision": self.decision.value}


def next_checkpoint(n: int, checkpoints: Sequence[int] = CHECKPOINTS) -> int | None:
    """The seed count to run up to next after ``n`` seeds (for ``--seeds auto``).

    Args:
        n: seeds run so far.
        checkpoints: the planned seed counts.

    Returns:
        The smallest checkpoint above ``n``, or ``None`` once ``n`` reaches the last one.
    """
    return next((c for c in _plan(checkpoints) if c > n), None)


def decide_goal(
    values: Sequence[float | None],
    target: float,
    checkpoints: Sequence[int] = CHECKPOINTS,
    alpha: float = ALPHA,
    higher_is_better: bool = True,
) -> GoalDecision:
    """Decide whether a metric's true mean meets ``target``, looking only at planned checkpoints.

    The plan is replayed in seed order: the looks happen at every checkpoint up to ``n`` using
    the first ``checkpoint`` values, and the first look that claims decides. So 4 seeds give the
    decision of the look at 3, and extra seeds past a claim do not reopen it.

    Args:
        values: per-seed values in seed order; ``None``/``nan`` are left out.
        target: the goal; "achieved" means the true mean is at least (or, for lower-is-better
            metrics, at most) this.
        checkpoints: planned seed counts, increasing, each at least 2.
        alpha: error budget of the whole plan, split evenly across the checkpoints.
        higher_is_better: ``False`` for losses and calibration errors (log_loss, brier, ece).

    Returns:
        The decision record.

    Raises:
        ValueError: for a checkpoint below 2, unsorted checkpoints or alpha outside (0, 1).
    """
    plan = _plan(checkpoints)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    arr = defined_values(values)
    base = {"n": len(arr), "target": float(target), "higher_is_better": higher_is_better,
            "alpha": alpha, "alpha_per_checkpoint": alpha / len(plan)}
    look = None
    for c in (c for c in plan if c <= len(arr)):
        look = _look(arr[:c], target, base["alpha_per_checkpoint"], higher_is_better)
        if look["decision"] in (Decision.ACHIEVED, Decision.NOT_ACHIEVED):
            return GoalDecision(**base, **look, next_checkpoint=None)
    following = next_checkpoint(len(arr), plan)
    if look is None:
        return GoalDecision(**base, decision=Decision.UNDECIDED, checkpoint=None, mean=None,
                            lower_bound=None, upper_bound=None, next_checkpoint=following,
                            reason=f"{len(arr)} seed(s) so far; no claim before the first checkpoint "
                                   f"({plan[0]} seeds); run {following} seeds")
    if following is None:
        look |= {"decision": Decision.INCONCLUSIVE,
                 "reason": f"inconclusive {look['reason']}; no checkpoint left in the plan"}
    else:
        look["reason"] = f"undecided {look['reason']}; run {following} seeds"
    return GoalDecision(**base, **look, next_checkpoint=following)


def _plan(checkpoints: Sequence[int]) -> tuple[int, ...]:
    plan = tuple(int(c) for c in checkpoints)
    if not plan or plan[0] < 2 or any(b <= a for a, b in zip(plan, plan[1:], strict=False)):
        raise ValueError(f"checkpoints must be increasing seed counts of at least 2, got {checkpoints}")
    return plan


def _look(arr: np.ndarray, target: float, alpha: float, higher_is_better: bool) -> dict:
    """One planned look: one-sided bounds at level ``1 - alpha`` and what they say."""
    n = len(arr)
    mean, sem = mean_and_sem(arr)
    half = float(stats.t.ppf(1 - alpha, df=n - 1)) * sem
    lower, upper = mean - half, mean + half
    look = {"decision": Decision.UNDECIDED, "checkpoint": n, "mean": mean,
            "lower_bound": lower, "upper_bound": upper}
    level = f"one-sided {100 * (1 - alpha):.1f}%"
    # "good" is the bound on the side of the goal: the lower bound when higher is better
    good, bad = ("lower", lower), ("upper", upper)
    if not higher_is_better:
        good, bad = bad, good
    sign = 1 if higher_is_better else -1
    if sign * (good[1] - target) >= 0:
        look |= {"decision": Decision.ACHIEVED, "reason": (
            f"achieved at {n} seeds: {level} {good[0]} bound {_g(good[1])} "
            f"{'>=' if higher_is_better else '<='} target {_g(target)} (mean {_g(mean)})")}
    elif sign * (bad[1] - target) < 0:
        look |= {"decision": Decision.NOT_ACHIEVED, "reason": (
            f"not achieved at {n} seeds: {level} {bad[0]} bound {_g(bad[1])} "
            f"{'<' if higher_is_better else '>'} target {_g(target)} (mean {_g(mean)}); stop adding seeds")}
    else:
        look["reason"] = (f"at {n} seeds: target {_g(target)} lies within the {level} bounds "
                          f"[{_g(lower)}, {_g(upper)}] (mean {_g(mean)})")
    return look


def _g(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)
