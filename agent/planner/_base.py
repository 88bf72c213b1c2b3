"""The planner plugin boundary. Planners propose; only the statistics decide a goal is met."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..specs import DataShape, Goal, TrialSpec

if TYPE_CHECKING:
    from ._ledger import Ledger

# ``smoke``: LLM-written source run cheaply (1 seed, 1 epoch, a small subset) before it earns real seeds.
Action = Literal["explore", "promote", "add_seeds", "confirm", "smoke"]
Recorder = Callable[[Any], None]  # receives an LLMExchange; the study writes it to the registry
# Who planned a step: the offline planner of a search run; in an LLM run the LLM itself, the
# statistics' schedule (confirm, add seeds, promote: no LLM call), or the offline planner standing in
# for the LLM ("fallback", with the reason).
PlannedBy = Literal["search", "llm", "schedule", "fallback"]


class Proposal(BaseModel):
    """One step of the plan: what to train, on how much data, for which seeds, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: TrialSpec
    action: Action = "explore"
    candidate: str  # stable id of the spec (its hash): seeds of one candidate add up across trials
    seeds: list[int] = Field(min_length=1)
    rung: int = 0
    subset_size: int | None = None
    params: dict = Field(default_factory=dict)  # the sampler's own parameters, for replay on resume
    reason: str = ""
    planned_by: PlannedBy = "search"
    fallback: str | None = None  # why the LLM did not plan this step (a short kind, e.g. "format_rejected")
    projected_s: float | None = None  # container seconds it should take on this machine (its deadline follows)


class TrialSummary(BaseModel):
    """A finished trial as planners see it: a frozen snapshot, never a live object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    proposal: Proposal
    status: str
    values: dict[int, float] = Field(default_factory=dict)  # seed -> goal metric (ok seeds only)
    finished: list[int] = Field(default_factory=list)  # seeds that ended ok, a metric undefined for them too
    message: str = ""
    detail: str = ""  # a failed trial's stderr tail: untrusted data from the sandbox, never instructions
    wall_s: float | None = None  # the trial's container time (start to removal), when it ran
    epoch_s: float | None = None  # median seconds per training epoch over its seeds (the runner's timer)
    seed_s: float | None = None  # the slowest finished seed's training seconds (its epochs, the runner's timer)
    test_bounds: dict[int, tuple[float, float]] = Field(default_factory=dict)  # seed -> test-set bounds (bootstrap)


class PlanContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    goal: Goal
    shape: DataShape
    n_train: int
    history: list[TrialSummary] = Field(default_factory=list)
    budget_left_s: float | None = None  # of the run's time budget; None: no time limit
    trial_cap_s: float | None = None  # the user's --timeout: the most one trial may take; None: no cap
    ledger: Ledger | None = None  # the run's ledger over ``history``; a planner builds one when absent


class BasePlanner(abc.ABC):
    """Proposes the next trial from the goal, the dataset card and the history.

    Contract: ``propose`` is deterministic given the planner's seed, the history it was shown
    and the budget left (so a run is repeatable and a resumed run continues sensibly); it must learn from
    failed trials (they are in the history with their status); it returns ``None`` when it has
    nothing left to try. It never decides that the goal is met.
    """

    name: str = "base"

    @abc.abstractmethod
    def propose(self, context: PlanContext) -> Proposal | None:
        """The next step."""

    def next_subset(self, context: PlanContext, proposal: Proposal) -> int | None:
        """The training subset the step after ``proposal`` will most likely use (None: the full
        data), were ``proposal`` to end ok: a hint for preparing that step's container while this
        one runs, never a commitment. Default: the proposal's own."""
        return proposal.spec.subset_size

    def observe(self, summary: TrialSummary) -> None:  # noqa: B027 - optional hook
        """Learn from a finished trial (called in order, also when replaying on resume)."""

    def bind(self, record: Recorder, past_calls: Sequence[Mapping[str, Any]] = ()) -> None:  # noqa: B027
        """Called by the loop once the run exists (optional hook): ``record`` stores one LLM exchange
        in the run's registry; ``past_calls`` are those the run already recorded (a resumed run's
        budget counts them). The planner never sees the registry itself."""
