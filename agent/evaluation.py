"""One model, one dataset, N seeds: preflight -> prepare -> sandbox -> score -> report dict."""

from __future__ import annotations

import hashlib
import math
import uuid
from pathlib import Path

from ._outputs import InvalidOutput, load_predictions, load_report
from .assembler import preflight
from .config import EvalConfig
from .data import PreparedDataset, prepare
from .protocol import JobSpec
from .records import SandboxOutcome, TrialStatus
from .sandbox import BaseSandbox, ProgressFn, SandboxRequest
from .sandbox._controls import RUNNER_DEADLINE_MARGIN_S, thread_count
from .scoring import aggregate, classification_metrics

__all__ = ["SCHEMA_VERSION", "evaluate"]

SCHEMA_VERSION = 1


def evaluate(
    model_path: Path,
    config: EvalConfig,
    sandbox_factory,
    cache_root: Path,
    progress: ProgressFn | None = None,
) -> dict:
    """Evaluate the model file; return the JSON-ready report (status decided by the host)."""
    source = Path(model_path).read_text(encoding="utf-8", errors="replace")
    data = prepare(config.dataset, cache_root, subset_size=config.subset_size,
                   test_size=config.test_size, target=config.target, progress=progress)
    base = _base_report(model_path, source, config, data)
    check = preflight(source, Path(model_path).name)
    if not check.ok:
        return _finish(base, TrialStatus.INVALID_SUBMISSION, check.message, [], None)
    if check.suspicious_imports:
        base["preflight"] = {"suspicious_imports": check.suspicious_imports}
    sandbox: BaseSandbox = sandbox_factory()
    request = SandboxRequest(job=_job(config, data), model_source=source,
                             data_dir=data.public_dir, limits=config.limits,
                             trial_id=f"eval-{uuid.uuid4().hex[:12]}")
    outcome = sandbox.run(request, progress)
    base["sandbox"] = _sandbox_block(sandbox, outcome, config)
    if outcome.status is not TrialStatus.OK:
        return _finish(base, outcome.status, outcome.message, [], outcome)
    return _score(base, outcome, request.job, data)


def _job(config: EvalConfig, data: PreparedDataset) -> JobSpec:
    return JobSpec(
        seeds=list(range(config.seeds)),
        epochs=config.epochs,
        batch_size=config.batch_size,
        optimizer=config.optimizer,
        lr=config.lr,
        n_classes=data.n_classes,
        input_shape=list(data.input_shape),
        deadline_s=max(1.0, config.limits.timeout_s - RUNNER_DEADLINE_MARGIN_S),
        threads=thread_count(config.limits),
        device="cuda" if config.limits.gpus else "cpu",
    )


def _score(base: dict, outcome: SandboxOutcome, job: JobSpec, data: PreparedDataset) -> dict:
    y_true = data.test_labels()
    report, report_problem = load_report(outcome.files)
    curves = {s.seed: s.curves.model_dump() for s in report.seeds} if report else {}
    seeds, per_seed, problems = [], [], []
    for seed in job.seeds:
        try:
            probs = load_predictions(outcome.files, seed, data.n_test, data.n_classes)
        except InvalidOutput as exc:
            problems.append(str(exc))
            seeds.append({"seed": seed, "status": TrialStatus.INVALID_OUTPUT.value,
                          "message": str(exc), "metrics": {}, "curves": curves.get(seed, {})})
            continue
        metrics = classification_metrics(probs, y_true)
        per_seed.append(metrics)
        seeds.append({"seed": seed, "status": TrialStatus.OK.value, "message": "",
                      "metrics": metrics, "curves": curves.get(seed, {})})
    flags = _flags(curves)
    if report_problem:
        flags.append("runner_report_invalid")
    if report:
        base["model_summary"] = report.summary.model_dump() | {"device": report.device}
        base["timing"] = {"container_start_to_first_step_s": _first_step(outcome, report)}
    status = TrialStatus.INVALID_OUTPUT if problems else TrialStatus.OK
    message = problems[0] if problems else status.message
    base["seeds"] = seeds
    return _finish(base, status, message, flags, outcome, per_seed)


def _flags(curves: dict) -> list[str]:
    flags = set()
    for c in curves.values():
        losses = [v for v in c.get("train_loss", [])]
        if any(v is None or not math.isfinite(v) for v in losses):
            flags.add("nan_loss")
        finite = [v for v in losses if v is not None and math.isfinite(v)]
        if len(finite) >= 3 and max(finite) - min(finite) < 1e-7:
            flags.add("constant_loss")
    return sorted(flags)


def _first_step(outcome: SandboxOutcome, report) -> float | None:
    if report.first_step_at is None or outcome.start_s is None:
        return None
    return round(report.first_step_at - outcome.start_s, 3)


def _base_report(model_path: Path, source: str, config: EvalConfig, data: PreparedDataset) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "status": None,
        "message": "",
        "flags": [],
        "model": {"path": str(model_path), "sha256": hashlib.sha256(source.encode()).hexdigest()},
        "dataset": data.card(),
        "config": config.model_dump(mode="json"),
        "seeds": [],
        "aggregate": {},
        "sandbox": {"limits": config.limits.model_dump(mode="json")},
    }


def _sandbox_block(sandbox: BaseSandbox, outcome: SandboxOutcome, config: EvalConfig) -> dict:
    return sandbox.describe() | {
        "limits": config.limits.model_dump(mode="json"),
        "exit_code": outcome.exit_code,
        "oom_killed": outcome.oom_killed,
        "we_killed": outcome.we_killed,
        "wall_s": round(outcome.wall_s, 3),
        "stderr_tail": outcome.stderr_tail if outcome.status is not TrialStatus.OK else "",
    }


def _finish(base, status: TrialStatus, message: str, flags, outcome, per_seed=None) -> dict:
    if not base["seeds"]:
        base["seeds"] = [
            {"seed": s, "status": status.value, "message": message, "metrics": {}, "curves": {}}
            for s in range(base["config"]["seeds"])
        ]
    base["status"] = status.value
    base["message"] = message
    base["flags"] = flags
    base["aggregate"] = aggregate(per_seed or [])
    return base
