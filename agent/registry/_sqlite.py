"""The SQLite registry: stdlib ``sqlite3``, WAL, one connection per thread, ``BEGIN IMMEDIATE``
for every write."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import home_dir
from ..errors import RegistryError
from ..specs import TrialSpec
from . import _rows
from ._base import BaseRegistry
from ._connect import Connections, connect, mapped
from ._export import dumps
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
from ._redact import redact
from ._schema import migrate

__all__ = ["REGISTRY_FILE", "SQLiteRegistry", "open_registry"]

REGISTRY_FILE = "registry.sqlite"
_METRIC_NAME = re.compile(r"[A-Za-z0-9_.\-]+")  # safe inside a JSON path without escaping


def open_registry(home: str | Path | None = None) -> SQLiteRegistry:
    """The registry at ``<home>/registry.sqlite`` (``--home``, ``$RESEARCH_AGENT_HOME`` or ``./runs``)."""
    return SQLiteRegistry(home_dir(str(home) if home is not None else None) / REGISTRY_FILE)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SQLiteRegistry(BaseRegistry):
    """``BaseRegistry`` on one SQLite file; run directories go next to it (``home = path.parent``).

    The file is created (and migrated to the current schema) on open.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.home = self.path.parent
        where = str(self.path)
        with mapped("open", where):
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RegistryError(f"registry {where}: cannot create {self.home} ({exc.strerror}); "
                                    "choose a writable --home") from exc
            self._pool = Connections(lambda: connect(self.path), where)
            try:
                migrate(self._pool.get(), where)
            except BaseException:
                self._pool.close()
                raise

    def close(self) -> None:
        self._pool.close()

    def _before_commit(self, action: str) -> None:
        """Called inside every write transaction just before COMMIT. A no-op: the crash tests
        override it to kill a process at that exact point."""

    @contextlib.contextmanager
    def _tx(self, action: str, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction: ``BEGIN IMMEDIATE`` (takes the write lock first, so two writers never
        deadlock upgrading a read) or ``BEGIN`` (a read snapshot); rolled back on any exception."""
        with mapped(action, str(self.path)):
            conn = self._pool.get()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
                if write:
                    self._before_commit(action)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    # --- runs ---------------------------------------------------------------------------------
    def create_run(self, goal: str, config: Mapping[str, Any], planner_seed: int | None = None,
                   manifest: RunManifest | Mapping[str, Any] | None = None) -> RunRecord:
        manifest = _rows.manifest_dict(manifest)
        if planner_seed is None:
            planner_seed = manifest.get("planner_seed")
        manifest["planner_seed"] = planner_seed
        config_json, manifest_json = dumps(config, "the run config"), dumps(manifest, "the run manifest")
        with self._tx("create_run", write=True) as conn:
            run_id = self._new_run_id(conn)
            now = _now()
            conn.execute(
                "INSERT INTO runs (id, created_at, updated_at, goal, config, status, planner_seed, manifest)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, now, now, str(goal), config_json, RunStatus.RUNNING.value, planner_seed, manifest_json))
            self._make_run_dir(run_id)  # inside the transaction: a run never exists without its folder
            return self._run(conn, run_id)

    def _new_run_id(self, conn: sqlite3.Connection) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        for width in (2, 2, 2, 3, 4):  # hex bytes: 4 digits like the docs, longer after collisions
            run_id = f"run-{stamp}-{secrets.token_hex(width)}"
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                return run_id
        raise RegistryError("could not pick a free run id; retry")

    def _make_run_dir(self, run_id: str) -> None:
        try:
            self.run_dir(run_id).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(f"cannot create the run folder {self.run_dir(run_id)} ({exc.strerror}); "
                                "choose a writable --home") from exc

    def set_run_status(self, run_id: str, status: RunStatus | str, decision: Mapping[str, Any] | None = None,
                       best_trial_id: str | None = None) -> RunRecord:
        status = _enum(RunStatus, status, "run status")
        decision_json = None if decision is None else dumps(decision, "the decision")
        with self._tx("set_run_status", write=True) as conn:
            self._require_run(conn, run_id)
            if best_trial_id is not None:
                self._require_trial_of(conn, run_id, best_trial_id)
            conn.execute(
                "UPDATE runs SET status = ?, decision = COALESCE(?, decision),"
                " best_trial_id = COALESCE(?, best_trial_id), updated_at = ? WHERE id = ?",
                (status.value, decision_json, best_trial_id, _now(), run_id))
            return self._run(conn, run_id)

    def get_run(self, run_id: str) -> RunRecord:
        with self._tx("get_run") as conn:
            return self._run(conn, run_id)

    def list_runs(self) -> list[RunSummary]:
        with self._tx("list_runs") as conn:
            rows = conn.execute(
                "SELECT r.*, b.summary AS best_summary, b.goal AS best_goal,"
                " (SELECT COUNT(*) FROM trials t WHERE t.run_id = r.id) AS n_trials,"
                " (SELECT COUNT(*) FROM trials t WHERE t.run_id = r.id AND t.state = 'finished') AS n_finished"
                " FROM runs r LEFT JOIN trials b ON b.id = r.best_trial_id"
                " ORDER BY r.created_at DESC, r.id DESC").fetchall()
        return [_rows.run_summary(row) for row in rows]

    def _run(self, conn: sqlite3.Connection, run_id: str) -> RunRecord:
        return _rows.run_record(self._require_run(conn, run_id))

    def _require_run(self, conn: sqlite3.Connection, run_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RegistryError(f"no run {run_id!r} in registry {self.path}; check the id against the run list")
        return row

    def _touch(self, conn: sqlite3.Connection, run_id: str) -> None:
        conn.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (_now(), run_id))

    # --- trials -------------------------------------------------------------------------------
    def start_trial(self, run_id: str, spec: TrialSpec | Mapping[str, Any], source: str | None = None,
                    rung: Mapping[str, Any] | None = None) -> TrialRecord:
        spec_json = dumps(spec, "the trial spec")
        rung_json = None if rung is None else dumps(rung, "the rung info")
        digest = None if source is None else _rows.sha256_text(source)
        with self._tx("start_trial", write=True) as conn:
            self._require_run(conn, run_id)
            # Inside BEGIN IMMEDIATE no other writer runs, so MAX+1 is the next free number;
            # UNIQUE (run_id, number) stands behind it anyway.
            number = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM trials WHERE run_id = ?",
                                  (run_id,)).fetchone()[0]
            trial_id, now = f"{run_id}-t{number:04d}", _now()
            conn.execute(
                "INSERT INTO trials (id, run_id, number, state, spec, source, source_sha256, rung, created_at,"
                " started_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (trial_id, run_id, number, spec_json, source, digest, rung_json, now, now))
            self._touch(conn, run_id)
            return self._trial(conn, trial_id)

    def restart_trial(self, trial_id: str) -> TrialRecord:
        with self._tx("restart_trial", write=True) as conn:
            row = self._trial_row(conn, trial_id)
            if row["state"] != TrialState.PENDING:
                raise RegistryError(f"trial {trial_id} is {row['state']}, not pending; only trials that "
                                    "recover() returned can be restarted")
            conn.execute("UPDATE trials SET state = 'running', started_at = ? WHERE id = ?", (_now(), trial_id))
            self._touch(conn, row["run_id"])
            return self._trial(conn, trial_id)

    def finish_trial(self, trial_id: str, report: Mapping[str, Any]) -> TrialRecord:
        out = _rows.outcome_from_report(report)
        with self._tx("finish_trial", write=True) as conn:
            row = self._trial_row(conn, trial_id)
            if row["state"] != TrialState.RUNNING:
                raise RegistryError(f"trial {trial_id} is {row['state']}, not running; a finished trial is final "
                                    "and a pending one needs restart_trial first")
            finished, started = datetime.now(UTC), row["started_at"]
            wall_s = max(0.0, (finished - datetime.fromisoformat(started)).total_seconds()) if started else None
            details = out.details | _rows.history(row["details"])
            conn.execute(
                "UPDATE trials SET state = 'finished', status = ?, message = ?, summary = ?, goal = ?, flags = ?,"
                " details = ?, finished_at = ?, wall_s = ?, container_s = ? WHERE id = ?",
                (out.status, out.message, out.summary, out.goal, out.flags, dumps(details, "the report"),
                 finished.isoformat(timespec="microseconds"), wall_s, out.container_s, trial_id))
            conn.executemany(
                "INSERT INTO seed_results (trial_id, seed, status, message, metrics, curves, extra)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", [(trial_id, *seed) for seed in out.seeds])
            self._touch(conn, row["run_id"])
            return self._trial(conn, trial_id)

    def set_trial_progress(self, trial_id: str, progress: Mapping[str, Any]) -> None:
        text = dumps(progress, "the trial progress")
        with self._tx("set_trial_progress", write=True) as conn:
            conn.execute("UPDATE trials SET progress = ? WHERE id = ? AND state = 'running'", (text, trial_id))

    def recover(self, run_id: str) -> list[TrialRecord]:
        with self._tx("recover", write=True) as conn:
            self._require_run(conn, run_id)
            now = _now()
            running = conn.execute("SELECT * FROM trials WHERE run_id = ? AND state = 'running'", (run_id,))
            for row in running.fetchall():
                details = _rows.with_interrupted_attempt(row, now)
                conn.execute("UPDATE trials SET state = 'pending', attempt = attempt + 1, started_at = NULL,"
                             " details = ? WHERE id = ?", (dumps(details, "the trial history"), row["id"]))
            self._touch(conn, run_id)
            return self._trials(conn, run_id, TrialState.PENDING)

    def get_trial(self, trial_id: str) -> TrialRecord:
        with self._tx("get_trial") as conn:
            return self._trial(conn, trial_id)

    def list_trials(self, run_id: str, state: TrialState | str | None = None, after: int = 0) -> list[TrialRecord]:
        state = None if state is None else _enum(TrialState, state, "trial state")
        with self._tx("list_trials") as conn:
            self._require_run(conn, run_id)
            return self._trials(conn, run_id, state, after)

    def best_trial(self, run_id: str, metric: str, higher_is_better: bool = True) -> TrialRecord | None:
        if not _METRIC_NAME.fullmatch(metric):
            raise RegistryError(f"{metric!r} is not a metric name; use one such as accuracy or f1_macro")
        path, order = f'$."{metric}".mean', "DESC" if higher_is_better else "ASC"
        with self._tx("best_trial") as conn:
            self._require_run(conn, run_id)
            row = conn.execute(
                "SELECT id FROM trials WHERE run_id = ? AND state = 'finished' AND status = 'ok'"
                f" AND json_type(summary, ?) IN ('integer', 'real') ORDER BY json_extract(summary, ?) {order}, number"
                " LIMIT 1", (run_id, path, path)).fetchone()
            return None if row is None else self._trial(conn, row["id"])

    def _trial_row(self, conn: sqlite3.Connection, trial_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()
        if row is None:
            raise RegistryError(f"no trial {trial_id!r} in registry {self.path}; check the id against the run's trials")
        return row

    def _require_trial_of(self, conn: sqlite3.Connection, run_id: str, trial_id: str) -> None:
        if self._trial_row(conn, trial_id)["run_id"] != run_id:
            raise RegistryError(f"trial {trial_id} belongs to another run than {run_id}; pass one of its trials")

    def _trial(self, conn: sqlite3.Connection, trial_id: str) -> TrialRecord:
        row = self._trial_row(conn, trial_id)
        seeds = conn.execute("SELECT * FROM seed_results WHERE trial_id = ? ORDER BY seed", (trial_id,)).fetchall()
        return _rows.trial_record(row, [_rows.seed_record(s) for s in seeds])

    def _trials(self, conn: sqlite3.Connection, run_id: str, state: TrialState | None = None,
                after: int = 0) -> list[TrialRecord]:
        wanted = None if state is None else state.value
        args = (run_id, after, wanted, wanted)
        rows = conn.execute("SELECT * FROM trials WHERE run_id = ? AND number > ? AND (? IS NULL OR state = ?)"
                            " ORDER BY number", args).fetchall()
        seeds: dict[str, list] = {}
        for s in conn.execute("SELECT s.* FROM seed_results s JOIN trials t ON t.id = s.trial_id"
                              " WHERE t.run_id = ? AND t.number > ? AND (? IS NULL OR t.state = ?)"
                              " ORDER BY s.trial_id, s.seed", args):
            seeds.setdefault(s["trial_id"], []).append(_rows.seed_record(s))
        return [_rows.trial_record(row, seeds.get(row["id"], ())) for row in rows]

    # --- artifacts and LLM calls --------------------------------------------------------------
    def add_artifact(self, run_id: str, path: str | Path, kind: str, trial_id: str | None = None) -> ArtifactRecord:
        digest, size, stored = self._hash_file(run_id, Path(path))
        with self._tx("add_artifact", write=True) as conn:
            self._require_run(conn, run_id)
            if trial_id is not None:
                self._require_trial_of(conn, run_id, trial_id)
            cur = conn.execute(
                "INSERT INTO artifacts (run_id, trial_id, kind, path, sha256, bytes, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (run_id, trial_id, kind, stored, digest, size, _now()))
            row = conn.execute("SELECT * FROM artifacts WHERE id = ?", (cur.lastrowid,)).fetchone()
            return _rows.artifact_record(row)

    def _hash_file(self, run_id: str, path: Path) -> tuple[str, int, str]:
        """sha256, size and the path to store (relative to the run folder when inside it)."""
        try:
            resolved = path.resolve(strict=True)
            digest, size = hashlib.sha256(), 0
            with resolved.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise RegistryError(f"cannot read artifact {path} ({exc.strerror or exc}); write the file before "
                                "registering it") from exc
        run_dir = self.run_dir(run_id).resolve()
        stored = resolved.relative_to(run_dir).as_posix() if resolved.is_relative_to(run_dir) else str(resolved)
        return digest.hexdigest(), size, stored

    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]:
        with self._tx("list_artifacts") as conn:
            self._require_run(conn, run_id)
            return self._artifacts(conn, run_id)

    def _artifacts(self, conn: sqlite3.Connection, run_id: str) -> list[ArtifactRecord]:
        rows = conn.execute("SELECT * FROM artifacts WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [_rows.artifact_record(r) for r in rows]

    def record_llm_call(self, run_id: str, purpose: str, request: Mapping[str, Any],
                        response: Mapping[str, Any] | None = None, *, prompt_tokens: int | None = None,
                        completion_tokens: int | None = None, latency_s: float | None = None,
                        error: str | None = None, fallback_reason: str | None = None) -> LLMCallRecord:
        values = (dumps(redact(request), "the LLM request"),
                  None if response is None else dumps(redact(response), "the LLM response"),
                  prompt_tokens, completion_tokens, latency_s,
                  None if error is None else redact(str(error)),
                  None if fallback_reason is None else redact(str(fallback_reason)))
        with self._tx("record_llm_call", write=True) as conn:
            self._require_run(conn, run_id)
            cur = conn.execute(
                "INSERT INTO llm_calls (run_id, created_at, purpose, request, response, prompt_tokens,"
                " completion_tokens, latency_s, error, fallback_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, _now(), purpose, *values))
            row = conn.execute("SELECT * FROM llm_calls WHERE id = ?", (cur.lastrowid,)).fetchone()
            return _rows.llm_call_record(row)

    def list_llm_calls(self, run_id: str) -> list[LLMCallRecord]:
        with self._tx("list_llm_calls") as conn:
            self._require_run(conn, run_id)
            return self._llm_calls(conn, run_id)

    def _llm_calls(self, conn: sqlite3.Connection, run_id: str) -> list[LLMCallRecord]:
        rows = conn.execute("SELECT * FROM llm_calls WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [_rows.llm_call_record(r) for r in rows]

    # --- whole runs ---------------------------------------------------------------------------
    def snapshot(self, run_id: str) -> RunSnapshot:
        with self._tx("snapshot") as conn:
            return RunSnapshot(run=self._run(conn, run_id), trials=tuple(self._trials(conn, run_id)),
                               artifacts=tuple(self._artifacts(conn, run_id)),
                               llm_calls=tuple(self._llm_calls(conn, run_id)))


def _enum(cls, value, what: str):
    try:
        return cls(value)
    except ValueError:
        raise RegistryError(f"{value!r} is not a {what}; use one of {', '.join(m.value for m in cls)}") from None
