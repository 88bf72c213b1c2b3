"""Between rows and records: SQLite rows -> frozen records, an evaluation report -> column values."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel

from ..errors import RegistryError
from ..results import EvalReport
from ._export import dumps
from ._records import (
    ArtifactRecord,
    BestMetric,
    LLMCallRecord,
    RunRecord,
    RunSummary,
    SeedResultRecord,
    TrialRecord,
)

__all__ = ["Outcome", "manifest_dict", "outcome_from_report", "sha256_text"]

# Report keys with a column of their own; everything else (dataset card, sandbox block, model
# summary, config, timing, ...) goes to ``details``.
_OUTCOME_KEYS = frozenset({"status", "message", "aggregate", "goal", "flags", "seeds"})
_SEED_KEYS = frozenset({"seed", "status", "message", "metrics", "curves"})


class Outcome(NamedTuple):
    """A finished trial's column values (JSON already encoded) and its seed rows."""

    status: str
    message: str
    summary: str
    goal: str | None
    flags: str
    details: dict[str, Any]
    container_s: float | None
    seeds: list[tuple[int, str, str, str, str, str]]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def outcome_from_report(report: EvalReport) -> Outcome:
    """Split an ``EvalReport`` into columns (its JSON once; the schema's constraints check the rest)."""
    if not isinstance(report, EvalReport):
        raise RegistryError("finish_trial needs the EvalReport run_trial returns; got " + type(report).__name__)
    doc = report.to_dict()
    return Outcome(
        status=report.status.value, message=report.message,
        summary=dumps(doc["aggregate"], "the report's aggregate"),
        goal=None if report.goal is None else dumps(doc["goal"], "the report's goal"),
        flags=dumps(sorted(set(report.flags)), "the report's flags"),
        details={k: v for k, v in doc.items() if k not in _OUTCOME_KEYS},
        container_s=report.sandbox.wall_s, seeds=[_seed_row(s) for s in doc["seeds"]],
    )


def _seed_row(entry: dict[str, Any]) -> tuple[int, str, str, str, str, str]:
    extra = {k: v for k, v in entry.items() if k not in _SEED_KEYS}
    return (entry["seed"], entry["status"], entry["message"], dumps(entry["metrics"], "seed metrics"),
            dumps(entry["curves"], "seed curves"), dumps(extra, "seed result"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"], created_at=row["created_at"], updated_at=row["updated_at"], goal=row["goal"],
        config=_load(row["config"]), status=row["status"], decision=_load(row["decision"]),
        best_trial_id=row["best_trial_id"], planner_seed=row["planner_seed"], manifest=_load(row["manifest"]),
    )


def seed_record(row: sqlite3.Row) -> SeedResultRecord:
    return SeedResultRecord(
        trial_id=row["trial_id"], seed=row["seed"], status=row["status"], message=row["message"],
        metrics=_load(row["metrics"]), curves=_load(row["curves"]), extra=_load(row["extra"]),
    )


def trial_record(row: sqlite3.Row, seeds: Sequence[SeedResultRecord] = ()) -> TrialRecord:
    return TrialRecord(
        id=row["id"], run_id=row["run_id"], number=row["number"], state=row["state"], status=row["status"],
        attempt=row["attempt"], spec=_load(row["spec"]), source=row["source"], source_sha256=row["source_sha256"],
        message=row["message"], summary=_load(row["summary"]), goal=_load(row["goal"]), flags=_load(row["flags"]),
        details=_load(row["details"]), rung=_load(row["rung"]), created_at=row["created_at"],
        started_at=row["started_at"], finished_at=row["finished_at"], wall_s=row["wall_s"],
        container_s=row["container_s"], progress=_load(row["progress"]), seeds=tuple(seeds),
    )


def artifact_record(row: sqlite3.Row) -> ArtifactRecord:
    return ArtifactRecord(**{k: row[k] for k in row.keys()})


def llm_call_record(row: sqlite3.Row) -> LLMCallRecord:
    values = {k: row[k] for k in row.keys()}
    return LLMCallRecord(**values | {"request": _load(row["request"]), "response": _load(row["response"])})


def run_summary(row: sqlite3.Row) -> RunSummary:
    """A ``list_runs`` row: the run plus counts and its best trial's summary and goal."""
    return RunSummary(
        id=row["id"], created_at=row["created_at"], updated_at=row["updated_at"], goal=row["goal"],
        status=row["status"], n_trials=row["n_trials"], n_finished=row["n_finished"],
        best_trial_id=row["best_trial_id"],
        best=_best(_load(row["config"]), _load(row["best_summary"]), _load(row["best_goal"])),
    )


def _best(config: dict, summary: dict | None, goal: dict | None) -> BestMetric | None:
    if summary is None:
        return None
    metric = (goal or {}).get("metric") or config.get("metric")
    if not isinstance(metric, str):
        return None
    stats = summary.get(metric) or {}
    return BestMetric(metric=metric, mean=stats.get("mean"), ci_low=stats.get("ci_low"),
                      ci_high=stats.get("ci_high"), n=stats.get("n") or 0)


def manifest_dict(manifest: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    if manifest is None:
        return {}
    return manifest.model_dump(mode="json") if isinstance(manifest, BaseModel) else dict(manifest)


def history(details_json: str | None) -> dict[str, Any]:
    """What a trial carries from earlier attempts into its final details (``interrupted_attempts``)."""
    old = json.loads(details_json or "{}")
    return {k: old[k] for k in ("interrupted_attempts",) if k in old}


def with_interrupted_attempt(row: sqlite3.Row, recovered_at: str) -> dict[str, Any]:
    """The trial's details plus one entry for the attempt a crash cut short (the audit trail)."""
    details = json.loads(row["details"] or "{}")
    details.setdefault("interrupted_attempts", []).append(
        {"attempt": row["attempt"], "started_at": row["started_at"], "recovered_at": recovered_at})
    return details
