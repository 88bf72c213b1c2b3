"""What a trial may cost on this machine: its deadline from its projection, and how many seeds fit.

The planner projects each trial's container seconds (``Ledger.projected_s``: measured epoch time,
scaled to the data and epochs asked for, plus the fixed container cost, corrected by what trials
on this machine actually took); the study turns the projection into the trial's deadline here,
and the planner sizes trials with the same rule, so a trial it proposes fits the deadline it gets.
"""

from __future__ import annotations

import math

from ..records import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S

__all__ = ["DEADLINE_SAFETY", "EXPLORE_SPREAD", "OUT_OF_TIME", "deadline_s", "machine_costs", "room_s", "seed_time",
           "seeds_that_fit"]

DEADLINE_SAFETY = 1.5  # a projection is an estimate: a trial cut at exactly its projection loses its last seed
MIN_DEADLINE_S = 60.0  # a container start, the imports and the data load take seconds on a busy machine
BUDGET_GRACE_S = 60.0  # a trial started in time may end this long after the budget does
UNMEASURED_DEADLINE_S = DEFAULT_TIMEOUT_S  # nothing like it has run on this machine yet
PRIOR_COST_RATIO = 1.3  # full-data trials took 1.25-1.35x the scaled projection (Fashion-MNIST, 2 cores)
OVERRUN_FACTOR = 1.5  # a seed that did not finish in W seconds is planned at W times this
# Statuses that say a trial ran out of time, not that the model is broken: its finished seeds
# count, and the missing ones are planned again in trials that fit.
OUT_OF_TIME = frozenset({"timeout", "interrupted"})
FULL_ACTIONS = ("promote", "add_seeds")  # trials at full fidelity (a confirmation aside)
EXPLORE_SPREAD = 3.0  # another explore trial may take this much longer than the slowest so far (widths differ)


def room_s(cap_s: float | None, left_s: float | None) -> float:
    """The most one trial may take: the user's ``--timeout`` and the budget left, whichever is less."""
    cap = cap_s if cap_s is not None else MAX_TIMEOUT_S
    left = max(MIN_DEADLINE_S, left_s + BUDGET_GRACE_S) if left_s is not None else math.inf
    return min(cap, left)


def deadline_s(projected_s: float | None, cap_s: float | None, left_s: float | None) -> float:
    """A trial's deadline: its projection times the safety factor (at least a minute), bounded by the room."""
    wanted = UNMEASURED_DEADLINE_S if projected_s is None else max(MIN_DEADLINE_S, DEADLINE_SAFETY * projected_s)
    return min(wanted, room_s(cap_s, left_s))


def seeds_that_fit(seed_s: float, fixed_s: float, room: float) -> int:
    """How many seeds of ``seed_s`` each (plus ``fixed_s`` once) fit a trial whose deadline is ``room``."""
    if seed_s <= 0 or math.isinf(room):
        return 1_000  # more than any seed list
    return max(0, math.floor((room / DEADLINE_SAFETY - fixed_s) / seed_s))


def machine_costs(ledger, old, t) -> dict:
    """The ledger fields a trial changes about this machine (``old``: its candidate before it): its
    full-data seeds' time against the projection, or a floor when none finished in time."""
    out: dict = {}
    if t.proposal.action == "explore" and t.wall_s is not None:
        out["explore_wall_s"] = max(ledger.explore_wall_s or 0.0, t.wall_s)
    scaled = old.scaled_cost(ledger.n_train) if ledger.n_train is not None else None
    if (t.proposal.action not in FULL_ACTIONS or old.seed_s is not None or scaled is None
            or t.wall_s is None or scaled[0] <= 0):
        return out
    per_seed, fixed = scaled
    if t.seed_s is not None:  # a finished seed is a measurement, whatever ended its trial
        out["cost_ratios"] = (*ledger.cost_ratios, t.seed_s / per_seed)
        out["cost_floor"] = 0.0  # measured since: an older candidate's slowness no longer bounds it
    elif t.status in OUT_OF_TIME:  # not one seed finished in what the container had: a lower bound
        out["cost_floor"] = max(ledger.cost_floor, max(0.0, t.wall_s - fixed) / per_seed)
    return out


def seed_time(c, t) -> tuple[float | None, float | None, float | None]:
    """(training seconds per seed, the slowest trial's; the container's fixed seconds; a floor on a
    seed's seconds when none finished in time) after a full-fidelity trial."""
    if t.wall_s is None:
        return c.seed_s, c.fixed_s, c.seed_floor_s
    if t.seed_s is None:  # nothing finished: a seed takes longer than the whole container had
        floor = max(c.seed_floor_s or 0.0, t.wall_s) if t.status in OUT_OF_TIME else c.seed_floor_s
        return c.seed_s, c.fixed_s, floor
    # A cut trial's unfinished seed counts as fixed time here: an overestimate, kept only until an
    # ok trial measures it.
    fixed = max(0.0, t.wall_s - len(t.finished or t.values) * t.seed_s)
    fixed_s = fixed if t.status == "ok" or c.fixed_s is None else c.fixed_s
    return max(c.seed_s or 0.0, t.seed_s), fixed_s, c.seed_floor_s
