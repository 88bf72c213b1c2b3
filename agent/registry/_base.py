"""The registry plugin boundary: what every backend promises."""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import RegistryError
from ..specs import TrialSpec
from ._export import build_export, write_json
from ._records import (
    ArtifactRecord,
    LLMCallRecord,
    RunManifest,
    RunRecord,
    RunSnapshot,
    RunStatus,
    RunSummary,
    TrialRecord,
    TrialState,
)

__all__ = ["BaseRegistry", "RUN_ID_PATTERN"]

# `run-20261125-211500-ab12`: UTC creation time plus random hex. Checked before an id becomes a
# directory name, so `../../etc` from a command line never leaves the home.
RUN_ID_PATTERN = re.compile(r"run-\d{8}-\d{6}-[0-9a-f]{4,16}")


class BaseRegistry(abc.ABC):
    """Durable record of runs, trials, seed results, artifacts and LLM calls.

    Contract for implementations:

    - Thread-safe: one instance may be shared by threads; several processes may open the same
      store (one writes, others read or write).
    - Every state change is one transaction: it happens entirely or not at all, also when the
      process is killed in the middle. ``finish_trial`` writes the trial's outcome and all its
      seed results together.
    - Readers never see a half-written state: every read (``snapshot`` included) is one
      consistent view.
    - Reads return frozen snapshots (``RunRecord``, ``TrialRecord``, ...), never live rows.
    - A finished trial is final: it is never re-run, changed or counted twice. A trial left
      ``running`` by a crash becomes ``pending`` (same number, ``attempt + 1``) in ``recover``.
    - Errors of the storage engine surface as ``RegistryError`` with a one-line message that
      names the next step; unknown ids are ``RegistryError`` too.
    - Secrets never reach the store: LLM requests pass through ``redact`` before they are written.

    ``home`` holds the store and one directory per run (``run_dir``) for its artifacts.
    """

    home: Path

    # --- runs ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(self, goal: str, config: Mapping[str, Any], planner_seed: int | None = None,
                   manifest: RunManifest | Mapping[str, Any] | None = None) -> RunRecord:
        """Start a run in status ``running`` and create its directory."""

    @abc.abstractmethod
    def set_run_status(self, run_id: str, status: RunStatus | str, decision: Mapping[str, Any] | None = None,
                       best_trial_id: str | None = None) -> RunRecord:
        """Change the status; ``decision``/``best_trial_id`` replace the stored ones when given."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunRecord: ...

    @abc.abstractmethod
    def list_runs(self) -> list[RunSummary]:
        """Every run, newest first."""

    # --- trials -------------------------------------------------------------------------------
    @abc.abstractmethod
    def start_trial(self, run_id: str, spec: TrialSpec | Mapping[str, Any], source: str | None = None,
                    rung: Mapping[str, Any] | None = None) -> TrialRecord:
        """Add a trial in state ``running`` with the next number of the run (1, 2, ...)."""

    @abc.abstractmethod
    def restart_trial(self, trial_id: str) -> TrialRecord:
        """Move a ``pending`` trial (see ``recover``) back to ``running``."""

    @abc.abstractmethod
    def finish_trial(self, trial_id: str, report: Mapping[str, Any]) -> TrialRecord:
        """Record a running trial's outcome from its evaluation report, seeds included."""

    @abc.abstractmethod
    def set_trial_progress(self, trial_id: str, progress: Mapping[str, Any]) -> None:
        """Note where a running trial is (a no-op once it finished: a finished trial is final)."""

    @abc.abstractmethod
    def recover(self, run_id: str) -> list[TrialRecord]:
        """After a crash: every ``running`` trial of the run becomes ``pending`` with ``attempt + 1``.

        Returns all pending trials (oldest number first), which the loop re-runs with
        ``restart_trial`` before it plans new ones. Idempotent: calling it again without a restart
        changes nothing. Call it only when no other process is working on the run.
        """

    @abc.abstractmethod
    def get_trial(self, trial_id: str) -> TrialRecord: ...

    @abc.abstractmethod
    def list_trials(self, run_id: str, state: TrialState | str | None = None, after: int = 0) -> list[TrialRecord]:
        """The run's trials by number, optionally only those in ``state`` or numbered above ``after``
        (a loop that keeps the finished trials it has read asks only for the rest)."""

    def pending_trials(self, run_id: str) -> list[TrialRecord]:
        return self.list_trials(run_id, TrialState.PENDING)

    @abc.abstractmethod
    def best_trial(self, run_id: str, metric: str, higher_is_better: bool = True) -> TrialRecord | None:
        """The finished ``ok`` trial with the best mean ``metric`` (ties: lowest number).

        A plain ranking by the mean; claims that one trial beats another need the statistics.
        """

    # --- artifacts and LLM calls --------------------------------------------------------------
    @abc.abstractmethod
    def add_artifact(self, run_id: str, path: str | Path, kind: str, trial_id: str | None = None) -> ArtifactRecord:
        """Register an existing file; its sha256 and size are computed from the file."""

    @abc.abstractmethod
    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]: ...

    @abc.abstractmethod
    def record_llm_call(self, run_id: str, purpose: str, request: Mapping[str, Any],
                        response: Mapping[str, Any] | None = None, *, prompt_tokens: int | None = None,
                        completion_tokens: int | None = None, latency_s: float | None = None,
                        error: str | None = None, fallback_reason: str | None = None) -> LLMCallRecord:
        """Store one LLM exchange; ``request``, ``response`` and ``error`` are redacted first."""

    @abc.abstractmethod
    def list_llm_calls(self, run_id: str) -> list[LLMCallRecord]: ...

    # --- whole runs ---------------------------------------------------------------------------
    @abc.abstractmethod
    def snapshot(self, run_id: str) -> RunSnapshot:
        """The run with its trials (and seeds), artifacts and LLM calls, read as one view."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; later calls raise ``RegistryError``."""

    def export_run(self, run_id: str) -> dict[str, Any]:
        """The run as a JSON-ready dict with a stable key order (see ``write_export``)."""
        return build_export(self.snapshot(run_id))

    def write_export(self, run_id: str, path: str | Path) -> Path:
        """Write ``export_run`` to ``path`` atomically (a reader never sees half a file)."""
        return write_json(self.export_run(run_id), Path(path))

    def run_dir(self, run_id: str) -> Path:
        """``<home>/<run_id>/``: where the run's artifacts live."""
        if not RUN_ID_PATTERN.fullmatch(run_id):
            raise RegistryError(f"{run_id!r} is not a run id (like run-20261125-211500-ab12); check the id")
        return self.home / run_id

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
