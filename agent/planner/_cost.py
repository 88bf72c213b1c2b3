"""What a trial may cost on this machine: its deadline from its projection, and how many seeds fit.

The planner projects each trial's container seconds (``Ledger.projected_s``: measured epoch time,
scaled to the data and epochs asked for, plus the fixed container cost, corrected by what trials
on this machine actually took); the study turns the projection into the trial's deadline here,
and the planner sizes trials with the same rule, so a trial it proposes fits the deadline it gets.
"""

from __future__ import annotations

import math

from ..records import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S

__all__ = ["DEADLINE_SAFETY", "EXPLORE_SPREAD", "deadline_s", "room_s", "seeds_that_fit"]

DEADLINE_SAFETY = 1.5  # a projection is an estimate: a trial cut at exactly its projection loses its last seed
MIN_DEADLINE_S = 60.0  # a container start, the imports and the data load take seconds on a busy machine
BUDGET_GRACE_S = 60.0  # a trial started in time may end this long after the budget does
UNMEASURED_DEADLINE_S = DEFAULT_TIMEOUT_S  # nothing like it has run on this machine yet
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
