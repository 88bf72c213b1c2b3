"""Logging a run to MLflow while it goes (``run --mlflow``), never at the run's expense.

The loop calls ``notify(run_id)`` after each change it records; a thread of the tracker's own
then reads the registry's snapshot and syncs it (the same ``sync`` an export afterwards does, so
both give the same MLflow runs). Notifications that arrive while a sync is under way fold into
the next one. A failed sync is kept (a JSON-lines file in the run's folder, registered as the
run's ``tracking_log`` artifact) and reported at the end; the run goes on, and the next change
tries again from the registry, which holds everything.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

from ..errors import TrackingError
from ._tracked import tracked_run

__all__ = ["LiveTracker", "NOTE_FILE"]

NOTE_FILE = "tracking.json"  # in the run's folder: where it was logged live (no credentials), for `resume`

# How long the end of a command waits for the last sync before it leaves the rest to `export`.
FLUSH_S = 120.0
FLUSH_INTERRUPTED_S = 10.0  # after Ctrl-C a user wants the prompt back


class LiveTracker:
    def __init__(self, sink, registry):
        self.sink, self.registry = sink, registry
        self.run_id: str | None = None
        self.failures: list[dict] = []
        self.synced = None  # the last SyncCounts
        self._cv = threading.Condition()
        self._pending = self._busy = self._stop = False
        self._summary: dict | None = None
        # daemon: a tracking server that hangs must not keep the finished command alive (close bounds the wait)
        self._thread = threading.Thread(target=self._work, name="mlflow-live", daemon=True)
        self._thread.start()

    def notify(self, run_id: str) -> None:
        """Called by the loop after it records a change: cheap, never raises, never waits on the server."""
        with self._cv:
            self.run_id, self._pending = run_id, True
            self._cv.notify_all()

    @property
    def closed(self) -> bool:
        return self._summary is not None

    def close(self, interrupted: bool = False) -> dict:
        """Wait (bounded) for the last sync, keep the failures, and say what was logged (once)."""
        if self._summary is not None:
            return self._summary
        with self._cv:
            self._stop = True
            self._cv.notify_all()
            done = self._cv.wait_for(lambda: not (self._pending or self._busy),
                                     FLUSH_INTERRUPTED_S if interrupted else FLUSH_S)
        if not done:
            self._fail(TrackingError(f"{self.sink.where} did not finish the last write in time"))
        log = self._keep_failures()
        self._summary = {
            "target": "mlflow", "where": self.sink.where,
            "parent_run_id": self.synced.parent_id if self.synced else None, "failures": len(self.failures),
            "last_error": self.failures[-1]["error"] if self.failures else None, "failure_log": log}
        return self._summary

    def _work(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._pending or self._stop)
                if not self._pending:
                    return
                self._pending, self._busy, run_id = False, True, self.run_id
            try:
                self.synced = self.sink.sync(tracked_run(self.registry.snapshot(run_id)))
                self._note(run_id)
            except Exception as exc:  # noqa: BLE001  (logging must never end the run: kept and reported)
                self._fail(exc)
            with self._cv:
                self._busy = False
                self._cv.notify_all()

    def _note(self, run_id: str) -> None:
        path = self.registry.run_dir(run_id) / NOTE_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"mlflow": {"where": self.sink.where}}) + "\n")

    def _fail(self, exc: Exception) -> None:
        self.failures.append({"at": datetime.now(UTC).isoformat(timespec="seconds"), "error": str(exc)[:500]})

    def _keep_failures(self) -> str | None:
        if not self.failures or self.run_id is None:
            return None
        try:
            path = self.registry.run_dir(self.run_id) / f"tracking-mlflow-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(f, sort_keys=True) + "\n" for f in self.failures))
            self.registry.add_artifact(self.run_id, path, "tracking_log")
            return str(path)
        except Exception:  # noqa: BLE001  (the registry is the record; a failure log that cannot be kept is reported)
            return None
