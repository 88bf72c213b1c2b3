"""The sandbox plugin boundary."""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..protocol import JobSpec, RunnerProgress
from ..records import SandboxLimits, SandboxOutcome

# (phase, seconds since the container started, the runner's newest valid progress line or None).
# The progress is untrusted (the model can write it): bounded and validated, for display only.
ProgressFn = Callable[[str, float, RunnerProgress | None], None]


class SandboxInterrupted(KeyboardInterrupt):
    """The host was interrupted while a sandbox ran a trial; ``outcome`` is what it saved.

    ``outcome.status`` is ``interrupted`` and ``outcome.files`` holds what could be copied out
    of /out in the moment (a seed is complete only if its ``seed_<k>/.done`` is there). A
    KeyboardInterrupt, so code that does not know it unwinds as it would on Ctrl-C; the
    original interrupt (with its signal, if any) is ``__cause__``.
    """

    def __init__(self, outcome: SandboxOutcome):
        super().__init__(outcome.message)
        self.outcome = outcome


class SandboxRequest(BaseModel):
    """One trial to run: the job, the model source, the prepared data, the limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job: JobSpec
    model_source: str
    data_dir: Path
    limits: SandboxLimits
    trial_id: str = "trial"
    # The data the next trial will most likely read (None: this trial's): a sandbox that prepares the
    # next trial's container beside this one mounts it. A hint; a wrong guess costs only that container.
    next_data_dir: Path | None = None


class BaseSandbox(abc.ABC):
    """Runs one trial in isolation and reports what it observed.

    Contract: ``run`` never raises for anything the model does; every such outcome is a
    :class:`SandboxOutcome` with a status decided from the host's own observations. It
    raises :class:`~agent.errors.SandboxError` only when the sandbox itself cannot work
    (engine unreachable, image missing), and :class:`SandboxInterrupted` when a
    KeyboardInterrupt (or a subclass) arrives while it runs. Implementations must leave
    nothing behind (containers, temp files) whatever happens, and must be safe to call from
    several threads at once.
    """

    @abc.abstractmethod
    def run(self, request: SandboxRequest, progress: ProgressFn | None = None) -> SandboxOutcome:
        """Run the trial to completion (or its deadline) and collect its outputs.

        ``progress`` is called on every look at the running trial (see :data:`ProgressFn`); an
        exception it raises ends the run like any other (a KeyboardInterrupt: SandboxInterrupted).
        """

    def reap(self, trial_prefix: str) -> int:
        """Remove what a killed host process left running for trials whose id starts with
        ``trial_prefix``; return how many. Default: nothing to reap."""
        return 0

    def start_early(self, data_dir: Path, limits: SandboxLimits, trial_id: str) -> None:
        """Start the container of the trial about to run before its job is known, so its start
        overlaps the host's work; it is labelled ``trial_id``, the next ``run`` with these data and
        limits (the timeout aside) uses it, and ``close`` removes it unused. Default: nothing (``run``
        starts its own)."""
        return None

    def free_cpus(self) -> float | None:
        """CPUs idle since the last ``run`` ended, when that was recent (this process's own work and
        the yielding helpers count as idle), so the next job need not sleep through a sample of
        its own; None when there is no such sample. Default: None."""
        return None

    def yielding_cpu_s(self) -> float:
        """CPU seconds used so far by the sandbox's own helpers that yield to a running trial (a
        prepared container's imports); a trial's idle-CPU sample counts them as idle. Default: 0."""
        return 0.0

    def close(self) -> None:
        """Release what the sandbox keeps between runs (a prepared container). Default: nothing."""
        return None

    @abc.abstractmethod
    def describe(self) -> dict:
        """What a report should record about this sandbox (image, limits, runtime)."""
