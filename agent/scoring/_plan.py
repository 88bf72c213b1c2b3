"""The planned looks at a goal: which seed counts a ``--seeds`` value decides at, and at what alpha.

Standard library only, apart from the decision (``_goal``): a trial knows its plan before its
container starts, and the statistics load while it trains.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

CHECKPOINTS = (3, 5, 10)  # DESIGN.md; a single seed can never be a checkpoint
ALPHA = 0.05


def next_checkpoint(n: int, checkpoints: Sequence[int] = CHECKPOINTS) -> int | None:
    """The seed count to run up to next after ``n`` seeds (for ``--seeds auto``).

    Args:
        n: seeds run so far.
        checkpoints: the planned seed counts.

    Returns:
        The smallest checkpoint above ``n``, or ``None`` once ``n`` reaches the last one.
    """
    return next((c for c in _validated_plan(checkpoints) if c > n), None)


def plan_for(seeds: int | str) -> tuple[int, ...]:
    """The planned looks for a ``--seeds`` value: ``N`` -> ``(N,)``, ``"auto"`` -> ``CHECKPOINTS``.

    Args:
        seeds: a seed count of at least 2 (an int, or its digits as a string), or ``"auto"``.

    Raises:
        ValueError: for a count below 2 (one seed never claims) or anything else that is not a count.
    """
    if seeds == "auto":
        return CHECKPOINTS
    count = _count(seeds)
    if count is None:
        raise ValueError(f"seeds must be a count of 2 or more, or 'auto', got {seeds!r}")
    if count < 2:
        raise ValueError(f"seeds={count}: one seed never claims a goal (it has no spread to bound); "
                         "use 2 or more seeds, or 'auto'")
    return (count,)


def _count(seeds: object) -> int | None:
    if isinstance(seeds, bool):
        return None
    if isinstance(seeds, str):
        text = seeds.strip()
        return int(text) if text.lstrip("+-").isdigit() else None
    try:
        return operator.index(seeds)
    except TypeError:
        return None


def _validated_plan(checkpoints: Sequence[int]) -> tuple[int, ...]:
    plan = tuple(int(c) for c in checkpoints)
    if not plan or plan[0] < 2 or any(b <= a for a, b in zip(plan, plan[1:], strict=False)):
        raise ValueError(f"checkpoints must be increasing seed counts of at least 2, got {checkpoints}")
    return plan
