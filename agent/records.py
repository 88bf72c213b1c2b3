"""Frozen records handed between modules: statuses, sandbox limits, trial outcomes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TrialStatus", "STATUS_PRIORITY", "SandboxLimits", "SandboxOutcome", "LLMExchange"]


class TrialStatus(StrEnum):
    """How a trial ended, decided by the host from what it observed (never from the model)."""

    INFRA_ERROR = "infra_error"
    TIMEOUT = "timeout"
    POLICY_VIOLATION = "policy_violation"
    OOM = "oom"
    KILLED = "killed"
    CRASHED = "crashed"
    RESOURCE_LIMIT = "resource_limit"
    OUTPUT_LIMIT = "output_limit"
    INVALID_OUTPUT = "invalid_output"
    INVALID_SUBMISSION = "invalid_submission"
    OK = "ok"

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def retryable(self) -> bool:
        return self in (TrialStatus.INFRA_ERROR, TrialStatus.KILLED)


# First match wins: when several apply (a timeout that also ran out of memory), the earlier one.
STATUS_PRIORITY = tuple(TrialStatus)

_MESSAGES = {
    TrialStatus.INFRA_ERROR: "the sandbox could not run the trial (Docker/image problem); retry",
    TrialStatus.TIMEOUT: "the trial ran past its deadline and was stopped",
    TrialStatus.POLICY_VIOLATION: "the model made a system call the sandbox forbids (SIGSYS)",
    TrialStatus.OOM: "the trial ran out of memory (killed by the memory limit)",
    TrialStatus.KILLED: "the trial was killed by a signal we did not send; retry",
    TrialStatus.CRASHED: "the model or its training raised an error",
    TrialStatus.RESOURCE_LIMIT: "the trial hit a resource limit (disk, files, processes)",
    TrialStatus.OUTPUT_LIMIT: "the trial's output exceeded the size cap",
    TrialStatus.INVALID_OUTPUT: "the trial ended without valid predictions",
    TrialStatus.INVALID_SUBMISSION: "the model file does not satisfy the model contract",
    TrialStatus.OK: "the trial finished and its predictions were scored",
}


class SandboxLimits(BaseModel):
    """Per-trial resource limits (validated at the edge, recorded with every trial)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=600.0, gt=0, le=7 * 24 * 3600)
    memory_bytes: int = Field(default=2 * 1024**3, ge=64 * 1024**2)
    cpus: float = Field(default=1.0, gt=0)
    gpus: list[str] = Field(default_factory=list)
    runtime: str | None = None


class SandboxOutcome(BaseModel):
    """What the host observed about one container run. ``files`` are validated output bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    status: TrialStatus
    message: str
    exit_code: int | None = None
    oom_killed: bool = False
    we_killed: bool = False
    wall_s: float = 0.0
    start_s: float | None = None
    stderr_tail: str = ""
    files: dict[str, bytes] = Field(default_factory=dict, repr=False)
    image: str = ""
    container_id: str = ""


class LLMExchange(BaseModel):
    """One request to an LLM endpoint (or one fallback decision), as the planner hands it to the
    registry. The API key is never in it: requests are redacted again before they are stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: str
    request: dict[str, Any]
    response: dict[str, Any] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    error: str | None = None
    fallback_reason: str | None = None
