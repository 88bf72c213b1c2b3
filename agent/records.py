"""Frozen records handed between modules: statuses, sandbox limits, trial outcomes."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .defaults import DEFAULT_MEMORY, DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT_S

__all__ = [
    "DEFAULT_MAX_CPUS",
    "DEFAULT_MEMORY",
    "DEFAULT_MEMORY_BYTES",
    "DEFAULT_TIMEOUT_S",
    "MAX_TIMEOUT_S",
    "MIN_MEMORY_BYTES",
    "LLMExchange",
    "SandboxLimits",
    "SandboxOutcome",
    "TrialStatus",
    "default_cpus",
]

# The limits' bounds; their defaults live in agent.defaults, which the CLI's --help reads without pydantic.
MAX_TIMEOUT_S = 7 * 24 * 3600.0  # a week: past it a trial is a mistake (seconds typed as minutes), not research
MIN_MEMORY_BYTES = 64 * 1024**2  # the least a Python runner needs to start; below it every trial is an oom
DEFAULT_MAX_CPUS = 2  # two cores: torch's intra-op threads speed up small models, the rest of the host stays free


def default_cpus() -> float:
    """The CPU limit when none is given: ``DEFAULT_MAX_CPUS``, or fewer on a smaller host."""
    return float(min(DEFAULT_MAX_CPUS, os.cpu_count() or 1))


class TrialStatus(StrEnum):
    """How a trial ended, decided by the host from what it observed (never from the model).

    The member order is not the decision order: ``agent.sandbox._status.RULES`` is (first
    match wins), rendered in docs/status.md.
    """

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
    INTERRUPTED = "interrupted"
    OK = "ok"

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def retryable(self) -> bool:
        return self in (TrialStatus.INFRA_ERROR, TrialStatus.KILLED, TrialStatus.INTERRUPTED)


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
    TrialStatus.INTERRUPTED: "the run was interrupted (Ctrl-C, SIGTERM or SIGHUP) while this trial ran; "
                             "its finished seeds are kept",
    TrialStatus.OK: "the trial finished and its predictions were scored",
}


class SandboxLimits(BaseModel):
    """Per-trial resource limits (validated at the edge, recorded with every trial)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S)
    memory_bytes: int = Field(default=DEFAULT_MEMORY_BYTES, ge=MIN_MEMORY_BYTES)
    cpus: float = Field(default_factory=default_cpus, gt=0)
    gpus: list[str] = Field(default_factory=list)
    runtime: str | None = None


class SandboxOutcome(BaseModel):
    """What the host observed about one container run.

    ``files`` is what the host copied out of /out (safe regular files, size-capped), for every
    status: a job that ended early may still hold seeds whose ``seed_<k>/.done`` is there. Only
    those are complete; what to use is the trial layer's decision.
    """

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
