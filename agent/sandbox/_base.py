"""The sandbox plugin boundary."""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..protocol import JobSpec
from ..records import SandboxLimits, SandboxOutcome

ProgressFn = Callable[[str, float], None]


class SandboxRequest(BaseModel):
    """One trial to run: the job, the model source, the prepared data, the limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job: JobSpec
    model_source: str
    data_dir: Path
    limits: SandboxLimits
    trial_id: str = "trial"


class BaseSandbox(abc.ABC):
    """Runs one trial in isolation and reports what it observed.

    Contract: ``run`` never raises for anything the model does; every such outcome is a
    :class:`SandboxOutcome` with a status decided from the host's own observations. It
    raises :class:`~agent.errors.SandboxError` only when the sandbox itself cannot work
    (engine unreachable, image missing). Implementations must leave nothing behind
    (containers, temp files) whatever happens, and must be safe to call from several
    threads at once.
    """

    @abc.abstractmethod
    def run(self, request: SandboxRequest, progress: ProgressFn | None = None) -> SandboxOutcome:
        """Run the trial to completion (or its deadline) and collect its outputs."""

    def reap(self, trial_prefix: str) -> int:
        """Remove what a killed host process left running for trials whose id starts with
        ``trial_prefix``; return how many. Default: nothing to reap."""
        return 0

    @abc.abstractmethod
    def describe(self) -> dict:
        """What a report should record about this sandbox (image, limits, runtime)."""
