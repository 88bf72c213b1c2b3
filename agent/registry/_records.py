"""Frozen snapshots the registry hands out. A record is a copy taken inside one read
transaction: changing it (or a dict inside it) never reaches the registry.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..records import LLMExchange, TrialStatus
from ..specs import TrialSpec

__all__ = [
    "ArtifactRecord",
    "BestMetric",
    "LLMCallRecord",
    "RunManifest",
    "RunRecord",
    "RunSnapshot",
    "RunStatus",
    "RunSummary",
    "SeedResultRecord",
    "TrialRecord",
    "TrialState",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class RunStatus(StrEnum):
    """Where a run stands. Only ``running`` is not final (a crash leaves it ``running``)."""

    RUNNING = "running"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    INCONCLUSIVE = "inconclusive"
    BUDGET_EXHAUSTED = "budget_exhausted"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class TrialState(StrEnum):
    """Where a trial is in its life; ``TrialStatus`` says how a finished one ended.

    ``pending`` (waiting to be re-run after a crash) -> ``running`` -> ``finished`` (final).
    """

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"


class RunManifest(BaseModel):
    """What it takes to reproduce a run (stored as JSON with the run).

    Every field is optional so a manifest can be recorded before everything is known.
    """

    model_config = _FROZEN

    image_id: str | None = None
    image_labels: dict[str, str] = Field(default_factory=dict)
    seccomp_sha256: str | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    dataset_fingerprint: str | None = None
    seeds: list[int] = Field(default_factory=list)
    planner_seed: int | None = None


class RunRecord(BaseModel):
    model_config = _FROZEN

    id: str
    created_at: datetime
    updated_at: datetime
    goal: str
    config: dict[str, Any]
    status: RunStatus
    decision: dict[str, Any] | None = None
    best_trial_id: str | None = None
    planner_seed: int | None = None
    manifest: dict[str, Any] = Field(default_factory=dict)


class SeedResultRecord(BaseModel):
    model_config = _FROZEN

    trial_id: str
    seed: int
    status: str
    message: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    curves: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)


class TrialRecord(BaseModel):
    """One trial with its seed results (empty unless ``state`` is finished).

    ``summary`` is the report's ``aggregate`` (``{metric: {mean, std, n, ci_low, ci_high, ...}}``);
    ``details`` keeps the rest of the report (dataset card, sandbox block, model summary, ...).
    ``rung`` carries successive-halving bookkeeping (rung, subset_size, epochs, parent).
    """

    model_config = _FROZEN

    id: str
    run_id: str
    number: int
    state: TrialState
    status: TrialStatus | None = None
    attempt: int = 1
    spec: dict[str, Any]
    source: str | None = None
    source_sha256: str | None = None
    message: str = ""
    summary: dict[str, Any] = Field(default_factory=dict)
    goal: dict[str, Any] | None = None
    flags: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    rung: dict[str, Any] | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    wall_s: float | None = None
    container_s: float | None = None
    progress: dict[str, Any] | None = None  # while it runs: the runner's latest progress (untrusted numbers)
    seeds: tuple[SeedResultRecord, ...] = ()

    def trial_spec(self) -> TrialSpec:
        """The stored spec as a ``TrialSpec`` (raises pydantic's error if the space changed since)."""
        return TrialSpec.model_validate(self.spec)

    def mean(self, metric: str) -> float | None:
        return (self.summary.get(metric) or {}).get("mean")


class ArtifactRecord(BaseModel):
    """A file that belongs to a run (or one of its trials). ``path`` is relative to the run's
    directory when the file lies inside it, absolute otherwise."""

    model_config = _FROZEN

    id: int
    run_id: str
    trial_id: str | None = None
    kind: str
    path: str
    sha256: str
    bytes: int
    created_at: datetime


class LLMCallRecord(LLMExchange):
    """One stored LLM exchange of a run. The API key is never stored (requests are redacted)."""

    model_config = _FROZEN

    id: int
    run_id: str
    created_at: datetime


class BestMetric(BaseModel):
    model_config = _FROZEN

    metric: str
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0


class RunSummary(BaseModel):
    """One line of ``list_runs``. ``best`` comes from the run's ``best_trial_id`` (set by the loop,
    which decides "best" with statistics); the metric is the best trial's goal metric, else the run
    config's ``metric``."""

    model_config = _FROZEN

    id: str
    created_at: datetime
    updated_at: datetime
    goal: str
    status: RunStatus
    n_trials: int = 0
    n_finished: int = 0
    best_trial_id: str | None = None
    best: BestMetric | None = None


class RunSnapshot(BaseModel):
    """Everything about one run, read in one transaction (what ``export_run`` serializes)."""

    model_config = _FROZEN

    run: RunRecord
    trials: tuple[TrialRecord, ...] = ()
    artifacts: tuple[ArtifactRecord, ...] = ()
    llm_calls: tuple[LLMCallRecord, ...] = ()
