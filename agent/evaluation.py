"""One model, one dataset, N seeds: preflight -> prepare -> sandbox -> score -> decide -> report.

With ``seeds="auto"`` the seeds come in batches up to the planned checkpoints (3, 5, 10); each
batch is one container, and the statistics decide after each whether more seeds are needed.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from ._seed_scoring import score_batch
from .assembler import dataset_args, preflight
from .config import EvalConfig
from .data import PreparedDataset, prepare
from .protocol import JobSpec
from .records import SandboxOutcome, TrialStatus
from .sandbox import BaseSandbox, ProgressFn, SandboxRequest, ends_in_runner
from .sandbox._controls import RUNNER_DEADLINE_MARGIN_S, thread_count
from .scoring import CHECKPOINTS, Decision, aggregate, decide_goal, dynamics_flags, is_higher_better

__all__ = ["SCHEMA_VERSION", "evaluate", "failed_report", "run_trial", "seed_batches"]

SCHEMA_VERSION = 1


def seed_batches(seeds: int | str) -> list[list[int]]:
    """``3`` -> ``[[0, 1, 2]]``; ``"auto"`` -> batches up to each checkpoint: 0-2, 3-4, 5-9."""
    if seeds == "auto":
        edges = (0, *CHECKPOINTS)
        return [list(range(a, b)) for a, b in zip(edges, edges[1:], strict=False)]
    return [list(range(int(seeds)))]


def evaluate(model_path: Path, config: EvalConfig, sandbox_factory, cache_root: Path,
             progress: ProgressFn | None = None, keep_probs: bool = False) -> dict:
    """Evaluate the model file; return the JSON-ready report (status decided by the host)."""
    source = Path(model_path).read_text(encoding="utf-8", errors="replace")
    data = prepare(config.dataset, cache_root, subset_size=config.subset_size,
                   test_size=config.test_size, target=config.target_column, progress=progress,
                   drop_columns=config.drop_columns)
    return run_trial(source, str(model_path), config, sandbox_factory, data, progress=progress,
                     keep_probs=keep_probs)


def run_trial(source: str, label: str, config: EvalConfig, sandbox_factory, data: PreparedDataset,
              batches: list[list[int]] | None = None, progress: ProgressFn | None = None,
              keep_probs: bool = False, trial_id: str | None = None) -> dict:
    """Preflight, then one container per seed batch, scoring each; stops early once a goal is decided.

    ``sandbox_factory`` is called once (a study passes one that returns its shared sandbox).
    ``batches`` overrides ``config.seeds`` (a study chooses exact seeds per trial).
    """
    report = _base_report(label, source, config, data)
    batches = batches or seed_batches(config.seeds)
    check = preflight(source, Path(label).name, config.entry, config.model_args,
                      dataset_args(data.n_classes, data.input_shape))
    if check.entry is not None:
        report["model"]["entry"] = check.entry.record(config.model_args, check.filled)
    if not check.ok:
        return _finish(report, config, TrialStatus.INVALID_SUBMISSION, check.message, failed_batch=batches[0])
    if check.suspicious_imports or check.suspicious_calls:
        # Reported, never enforced here: the sandbox is the boundary.
        report["preflight"] = {"suspicious_imports": check.suspicious_imports,
                               "suspicious_calls": check.suspicious_calls}
    sandbox: BaseSandbox = sandbox_factory()
    report["sandbox"] = sandbox.describe() | {"limits": config.limits.model_dump(mode="json"), "runs": [],
                                              "runtime": config.limits.runtime or "runc",
                                              "seccomp_sha256": _profile_sha(config.limits.runtime)}
    probs: dict[int, object] = {}
    for batch in batches:
        job = _job(config, data, batch, check.entry.name, check.model_args)
        outcome = sandbox.run(_request(config, data, source, job, trial_id), progress)
        report["sandbox"]["runs"].append(_run_block(outcome, batch))
        _sandbox_summary(report, outcome)
        if outcome.status is TrialStatus.CRASHED and ends_in_runner(outcome.stderr_tail):
            report["flags"].append("runner_error")  # a hint for us, never a status: the model can forge it
        if outcome.status is not TrialStatus.OK:
            return _finish(report, config, outcome.status, outcome.message, failed_batch=batch)
        scored = score_batch(outcome, batch, data)
        report["seeds"].extend(scored["seeds"])
        probs |= scored["probs"]
        _runner_info(report, scored, outcome)
        if scored["problems"]:
            return _finish(report, config, TrialStatus.INVALID_OUTPUT, scored["problems"][0])
        if config.target is not None and _goal(report, config)["decision"] != Decision.UNDECIDED:
            break
    if keep_probs:
        report["_probs"] = (probs, data.test_labels())  # for plots; never written to JSON
    return _finish(report, config, TrialStatus.OK, TrialStatus.OK.message)


def failed_report(label: str, source: str, config: EvalConfig, data: PreparedDataset, status: TrialStatus,
                  message: str, seeds: list[int]) -> dict:
    """A report for a trial that failed before any container (e.g. a spec that cannot render)."""
    return _finish(_base_report(label, source, config, data), config, status, message, failed_batch=seeds)


def _profile_sha(runtime: str | None) -> str:
    """The sha256 of the seccomp profile text this trial's containers actually got."""
    from .sandbox._controls import profile_for

    return hashlib.sha256(profile_for(runtime).encode()).hexdigest()


def _request(config: EvalConfig, data: PreparedDataset, source: str, job: JobSpec,
             trial_id: str | None = None) -> SandboxRequest:
    return SandboxRequest(job=job, model_source=source, data_dir=data.public_dir,
                          limits=config.limits, trial_id=trial_id or f"eval-{uuid.uuid4().hex[:12]}")


def _job(config: EvalConfig, data: PreparedDataset, seeds: list[int], entry: str = "Model",
         model_args: dict | None = None) -> JobSpec:
    threads = thread_count(config.limits)
    t = config.training
    return JobSpec(
        seeds=seeds, epochs=config.epochs, batch_size=config.batch_size, optimizer=config.optimizer,
        lr=config.lr, n_classes=data.n_classes, input_shape=list(data.input_shape),
        deadline_s=max(1.0, config.limits.timeout_s - RUNNER_DEADLINE_MARGIN_S), threads=threads,
        device="cuda" if config.limits.gpus else "cpu", weight_decay=t.weight_decay,
        schedule=t.schedule, label_smoothing=t.label_smoothing, grad_clip=t.grad_clip,
        early_stopping_patience=t.patience, max_params=t.max_params,
        seed_workers=seed_workers(len(seeds), threads, config.parallel_seeds),
        entry=entry, model_args=model_args or {},
    )


def seed_workers(n_seeds: int, threads: int, parallel: bool | None) -> int:
    """Processes for the seeds of one container: sequential unless ``--parallel-seeds``.

    Measured by bench/seeds.py on 2 cores: sequential (one process, all threads) was faster for
    the digits MLP (3.9 s vs 6.6 s with 2 workers) and for a CNN on a Fashion-MNIST subset
    (27.0 s vs 34.0 s; 30.7 s with 3): each spawned worker re-imports torch and the data, and
    these models use both threads well. Parallel seeds stay available for models that don't.
    """
    if not parallel or n_seeds < 2 or threads < 2:
        return 1
    return min(n_seeds, threads)


def _goal(report: dict, config: EvalConfig) -> dict:
    values = [s["metrics"].get(config.metric) for s in report["seeds"] if s["status"] == "ok"]
    goal = decide_goal(values, config.target, CHECKPOINTS,
                       higher_is_better=is_higher_better(config.metric)).to_dict()
    if config.seeds != "auto" and goal["decision"] == Decision.UNDECIDED:
        # A fixed seed count that stops before a decision: what it would take to decide.
        goal["reason"] += "; run with --seeds auto to add seeds until decided"
    report["goal"] = goal | {"metric": config.metric}
    return goal


def _run_block(outcome: SandboxOutcome, seeds: list[int]) -> dict:
    return {"seeds": seeds, "status": outcome.status.value, "exit_code": outcome.exit_code,
            "oom_killed": outcome.oom_killed, "we_killed": outcome.we_killed,
            "wall_s": round(outcome.wall_s, 3)}


def _sandbox_summary(report: dict, outcome: SandboxOutcome) -> None:
    """The top-level sandbox fields describe the last container run (the schema's contract)."""
    runs = report["sandbox"]["runs"]
    report["sandbox"] |= {
        "exit_code": outcome.exit_code, "oom_killed": outcome.oom_killed, "we_killed": outcome.we_killed,
        "wall_s": round(sum(r["wall_s"] for r in runs), 3),
        "stderr_tail": outcome.stderr_tail if outcome.status is not TrialStatus.OK else "",
    }


def _runner_info(report: dict, scored: dict, outcome: SandboxOutcome) -> None:
    runner = scored["runner"]
    if scored["report_problem"]:
        report["flags"].append("runner_report_invalid")
    if runner is None:
        return
    report["model_summary"] = runner.summary.model_dump() | {
        "device": runner.device, "seed_workers": runner.seed_workers}
    if "timing" not in report and runner.first_step_at is not None and outcome.start_s is not None:
        report["timing"] = {"container_start_to_first_step_s": round(runner.first_step_at - outcome.start_s, 3)}


def _base_report(label: str, source: str, config: EvalConfig, data: PreparedDataset) -> dict:
    return {
        "schema_version": SCHEMA_VERSION, "status": None, "message": "", "flags": [],
        "model": {"path": label, "sha256": hashlib.sha256(source.encode()).hexdigest()},
        "dataset": data.card(), "config": config.model_dump(mode="json"), "seeds": [],
        "aggregate": {}, "sandbox": {"limits": config.limits.model_dump(mode="json")},
    }


def _finish(report: dict, config: EvalConfig, status: TrialStatus, message: str,
            failed_batch: list[int] | None = None) -> dict:
    done = {s["seed"] for s in report["seeds"]}
    pending = failed_batch or []
    report["seeds"].extend({"seed": s, "status": status.value, "message": message, "metrics": {}, "curves": {}}
                           for s in pending if s not in done)
    ok = [s for s in report["seeds"] if s["status"] == "ok"]
    report["status"], report["message"] = status.value, message
    report["aggregate"] = aggregate([s["metrics"] for s in ok], n_test=report["dataset"]["n_test"])
    report["flags"] = sorted(set(report["flags"]) | set(dynamics_flags([s["curves"] for s in ok])))
    if config.target is not None and status is TrialStatus.OK:
        _goal(report, config)
    return report
