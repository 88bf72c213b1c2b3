"""What an experiment tracker receives of a run: the registry's snapshot as plain entries.

MLflow (``_mlflow``) and TensorBoard (``_tensorboard``) write the same view, so a run reads the
same in both, and live logging (``_live``) and an export afterwards send the same values: both
build them from a snapshot here. Only finite numbers become metrics; every string is what the
registry holds (untrusted where a model or an LLM wrote it: trackers show it as text).
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import TrackingError
from ..registry import RunSnapshot, TrialRecord

__all__ = ["CURVES", "SeedEntry", "TrackedRun", "TrialEntry", "import_extra", "safe_uri", "tracked_run"]

# The per-epoch series a seed records (protocol.SeedCurves), in the order trackers list them.
CURVES = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm", "epoch_s")
# A parameter's text is cut here: MLflow refuses longer values (6,000 characters in 3.x).
MAX_PARAM_CHARS = 500
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


@dataclass(frozen=True)
class SeedEntry:
    seed: int
    status: str
    metrics: dict[str, float]
    curves: dict[str, list[tuple[int, float]]]  # key -> [(epoch, value)], epochs 1-based


@dataclass(frozen=True)
class TrialEntry:
    id: str
    number: int
    finished: bool
    status: str  # ours: ok, timeout, ... ("running" or "pending" until it finishes)
    params: dict[str, str]
    hparams: dict[str, str | int | float | bool]  # the params with their types (TensorBoard's table sorts numbers)
    tags: dict[str, str]
    metrics: dict[str, float]
    seeds: tuple[SeedEntry, ...]
    source: str
    report: dict[str, Any]  # the trial as the registry holds it, source aside
    created_ms: int
    finished_ms: int | None


@dataclass(frozen=True)
class TrackedRun:
    id: str
    status: str
    final: bool
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]  # the decision's numbers, once the run is final
    manifest: dict[str, Any]
    decision: dict[str, Any]
    created_ms: int
    updated_ms: int
    trials: tuple[TrialEntry, ...] = field(default=())

    @property
    def n_finished(self) -> int:
        return sum(t.finished for t in self.trials)


def tracked_run(snapshot: RunSnapshot) -> TrackedRun:
    run = snapshot.run
    config, goal = run.config, run.config.get("goal") or {}
    decision = run.decision or {}
    params = _params({
        "goal": run.goal, "dataset": goal.get("dataset"), "metric": goal.get("metric"),
        "target": goal.get("target"), "higher_is_better": goal.get("higher_is_better"),
        "family": goal.get("family"), "planner": config.get("planner"), "planner_seed": run.planner_seed,
        "seeds": config.get("seeds"), "max_iterations": config.get("max_iterations"),
        "budget_minutes": config.get("budget_minutes"), "patience": config.get("patience"),
        "trial_timeout_s": config.get("trial_timeout_s"),
        "memory": (config.get("limits") or {}).get("memory"),
    })
    final = run.status.value != "running"
    metrics = {}
    if final:
        metrics = _numbers({f"decision.{k}": decision.get(k) for k in ("mean", "lower_bound", "upper_bound", "n")})
    tags = {"status": run.status.value, "decision": str(decision.get("reason") or ""),
            "best_trial_id": run.best_trial_id or ""}
    return TrackedRun(id=run.id, status=run.status.value, final=final, params=params, tags=tags, metrics=metrics,
                      manifest=dict(run.manifest), decision=dict(decision), created_ms=_ms(run.created_at),
                      updated_ms=_ms(run.updated_at), trials=tuple(_trial(t) for t in snapshot.trials))


def _trial(t: TrialRecord) -> TrialEntry:
    spec, rung = t.spec, t.rung or {}
    model = spec.get("model") or {}
    flat: dict[str, Any] = {"action": rung.get("action"), "family": model.get("family", "source"),
                            "origin": spec.get("origin"), "seeds": ",".join(map(str, rung.get("seeds", []))),
                            "subset_size": spec.get("subset_size"), "source_sha256": t.source_sha256}
    flat |= {f"training.{k}": v for k, v in (spec.get("training") or {}).items()}
    flat |= {f"model.{k}": v for k, v in model.items() if k != "family"}
    finished = t.state.value == "finished"
    status = t.status.value if t.status is not None else t.state.value
    metrics: dict[str, Any] = {}
    if finished:
        for name, agg in t.summary.items():
            if isinstance(agg, dict):
                metrics[name] = agg.get("mean")
                metrics |= {f"{name}.{k}": agg.get(k) for k in ("std", "ci_low", "ci_high", "n")}
        metrics |= {"wall_s": t.wall_s, "container_s": t.container_s}
    tags = {"status": status, "attempt": str(t.attempt), "message": (t.message or "")[:MAX_PARAM_CHARS]}
    return TrialEntry(
        id=t.id, number=t.number, finished=finished, status=status, params=_params(flat),
        hparams={k: v if isinstance(v, int | float | bool) else _text(v)[:MAX_PARAM_CHARS]
                 for k, v in flat.items() if v is not None}, tags=tags,
        metrics=_numbers(metrics), seeds=tuple(_seed(s) for s in t.seeds) if finished else (),
        source=t.source or "", report=t.model_dump(mode="json", exclude={"source"}),
        created_ms=_ms(t.created_at), finished_ms=_ms(t.finished_at) if t.finished_at else None)


def _seed(s) -> SeedEntry:
    curves = {}
    for key in CURVES:
        points = [(epoch, float(v)) for epoch, v in enumerate(s.curves.get(key) or [], start=1) if _finite(v)]
        if points:
            curves[key] = points
    return SeedEntry(seed=s.seed, status=s.status, metrics=_numbers(s.metrics), curves=curves)


def _params(values: dict[str, Any]) -> dict[str, str]:
    """Set values as text (None is left out: a tracker shows a missing param as missing)."""
    return {k: _text(v)[:MAX_PARAM_CHARS] for k, v in values.items() if v is not None}


def _text(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ",".join(map(str, v))
    return str(v)


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if _finite(v)}


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def safe_uri(uri: str) -> str:
    """The URI with any ``user:password@`` taken out: what may be printed or stored."""
    return _CREDENTIALS.sub("***@", uri)


def import_extra(module: str, extra: str):
    """Import an optional tracker package, or one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise TrackingError(f"{module.split('.')[0]} is not installed ({exc.name or exc}); "
                            f"install it with `pip install 'research-agent[{extra}]'`") from None
