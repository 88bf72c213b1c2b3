"""One model, one dataset, N seeds: preflight -> prepare -> sandbox -> score -> decide -> report.

With ``seeds="auto"`` the seeds come in batches up to the planned checkpoints (3, 5, 10); each
batch is one container, and the statistics decide after each whether more seeds are needed.
The result is built once, at the end, as a frozen ``EvalReport``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import scoring
from ..assembler import dataset_args, preflight
from ..config import EvalConfig
from ..data import PreparedDataset, prepare
from ..protocol import JobSpec, RunnerReport
from ..records import SandboxOutcome, TrialStatus
from ..results import (
    SCHEMA_VERSION,
    EvalReport,
    GoalReport,
    ModelInfo,
    SandboxRun,
    SandboxSummary,
    SeedResult,
    TestBoundRecord,
    finite,
)
from ..sandbox import BaseSandbox, ProgressFn, SandboxRequest, ends_in_runner
from ..sandbox._controls import RUNNER_DEADLINE_MARGIN_S, thread_count
from ..sandbox._load import SINCE_LAST_MAX_S, IdleSample, idle_cpus, training_threads
from ..scoring import ALPHA, CHECKPOINTS, is_higher_better, plan_for
from ._meanwhile import load_scoring_meanwhile
from ._outputs import finished_seeds
from ._seeds import score_batch

__all__ = ["Scored", "TrialInterrupted", "evaluate", "failed_report", "run_trial", "seed_batches"]


class TrialInterrupted(KeyboardInterrupt):
    """The process was interrupted while the trial ran; ``report`` keeps the seeds that finished."""

    def __init__(self, report: EvalReport):
        super().__init__(report.message)
        self.report = report


def seed_batches(seeds: int | str) -> list[list[int]]:
    """``3`` -> ``[[0, 1, 2]]``; ``"auto"`` -> batches up to each checkpoint: 0-2, 3-4, 5-9."""
    if seeds == "auto":
        edges = (0, *CHECKPOINTS)
        return [list(range(a, b)) for a, b in zip(edges, edges[1:], strict=False)]
    return [list(range(int(seeds)))]


@dataclass(frozen=True)
class Scored:
    """A report and the test probabilities behind it (for plots; never serialized)."""

    report: EvalReport
    probs: dict[int, np.ndarray]
    labels: np.ndarray


def evaluate(model_path: Path, config: EvalConfig, sandbox_factory, cache_root: Path,
             progress: ProgressFn | None = None, idle: IdleSample | None = None) -> Scored:
    """Evaluate the model file: the report (status decided by the host) and its predictions.

    ``idle``: a sample of the idle CPUs begun earlier in this process (the caller's imports), read
    before the container starts; without it, one begins here.
    """
    idle = idle or IdleSample()
    source = Path(model_path).read_text(encoding="utf-8", errors="replace")
    data = prepare(config.dataset, cache_root, subset_size=config.subset_size,
                   test_size=config.test_size, target=config.target_column,
                   drop_columns=config.drop_columns)
    trial = _Trial(str(model_path), source, config, data)
    alpha = ALPHA / len(plan_for(config.seeds)) if config.target is not None else None
    trial_id, opened = _trial_id(), []

    def started_early() -> BaseSandbox:
        """Called once the model passed preflight: the container starts (and its runner imports
        torch) while the host builds the job and loads the scoring libraries."""
        sandbox: BaseSandbox = sandbox_factory()
        opened.append(sandbox)
        # Before the start, which would read as a busy machine; a window that also held a long data
        # preparation says little of now, so a fresh sample replaces it.
        trial.idle_before_start = idle.idle(max_s=SINCE_LAST_MAX_S)
        if trial.idle_before_start is None:
            trial.idle_before_start = IdleSample().idle()
        sandbox.start_early(data.public_dir, config.limits, trial_id)
        return sandbox

    try:
        trial.run(started_early, seed_batches(config.seeds), progress, trial_id, bound_alpha=alpha)
    finally:
        for sandbox in opened:  # a container started early and never used is removed here
            sandbox.close()
    return Scored(trial.report(), trial.probs, data.test_labels())


def run_trial(source: str, label: str, config: EvalConfig, sandbox_factory, data: PreparedDataset,
              batches: list[list[int]] | None = None, progress: ProgressFn | None = None,
              trial_id: str | None = None, bound_alpha: float | None = None,
              next_data_dir: Path | None = None) -> EvalReport:
    """Preflight, then one container per seed batch, scoring each; stops early once a goal is decided.

    ``sandbox_factory`` is called once (a study passes one that returns its shared sandbox).
    ``batches`` overrides ``config.seeds`` (a study chooses exact seeds per trial).
    ``bound_alpha``: each seed also records its test-set bounds of ``config.metric`` at this level
    (a study passes its plan's alpha per checkpoint; accuracy-type metrics need none).
    ``next_data_dir``: the data the study's next trial will most likely read, for the container the
    sandbox prepares beside this trial.
    """
    trial = _Trial(label, source, config, data)
    trial.run(sandbox_factory, batches or seed_batches(config.seeds), progress, trial_id, bound_alpha, next_data_dir)
    return trial.report()


def failed_report(label: str, source: str, config: EvalConfig, data: PreparedDataset, status: TrialStatus,
                  message: str, seeds: list[int]) -> EvalReport:
    """A report for a trial that failed before any container (e.g. a spec that cannot render)."""
    trial = _Trial(label, source, config, data)
    trial.fail(status, message, seeds)
    return trial.report()


@dataclass
class _Trial:
    """What one trial has gathered so far; ``report()`` turns it into the frozen ``EvalReport``."""

    label: str
    source: str
    config: EvalConfig
    data: PreparedDataset
    status: TrialStatus = TrialStatus.OK
    message: str = TrialStatus.OK.message
    seeds: list[SeedResult] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    probs: dict[int, np.ndarray] = field(default_factory=dict)
    entry: dict | None = None
    suspicious: dict | None = None
    sandbox: dict = field(default_factory=dict)
    runs: list[SandboxRun] = field(default_factory=list)
    last: SandboxOutcome | None = None
    runner: RunnerReport | None = None
    timing: dict | None = None
    idle_before_start: float | None = None  # CPUs idle before the container started early (evaluate)

    def run(self, sandbox_factory, batches: list[list[int]], progress: ProgressFn | None,
            trial_id: str | None, bound_alpha: float | None = None, next_data_dir: Path | None = None) -> None:
        """``bound_alpha``: record each seed's test-set bounds at this level (the plan's alpha per look).
        ``next_data_dir``: what the next trial will most likely read (``SandboxRequest.next_data_dir``)."""
        config, data = self.config, self.data
        check = preflight(self.source, Path(self.label).name, config.entry, config.model_args,
                          dataset_args(data.n_classes, data.input_shape))
        if check.entry is not None:
            self.entry = check.entry.record(config.model_args, check.filled)
        if not check.ok:
            return self.fail(TrialStatus.INVALID_SUBMISSION, check.message, batches[0])
        if check.suspicious_imports or check.suspicious_calls:
            # Reported, never enforced here: the sandbox is the boundary.
            self.suspicious = {"suspicious_imports": check.suspicious_imports,
                               "suspicious_calls": check.suspicious_calls}
        sandbox: BaseSandbox = sandbox_factory()
        self.sandbox = sandbox.describe() | {"runtime": config.limits.runtime or "runc",
                                             "seccomp_sha256": _profile_sha(config.limits.runtime)}
        for batch in batches:
            idle, self.idle_before_start = self.idle_before_start, None  # the first batch's, sampled earlier
            free = getattr(sandbox, "free_cpus", None)  # sampled since its last container ended
            idle = idle if idle is not None or free is None else free()
            job = _job(config, data, batch, check.entry.name, check.model_args,
                       getattr(sandbox, "yielding_cpu_s", None), idle)
            load_scoring_meanwhile()  # after _job: its idle-CPU sample must not see these imports
            try:
                outcome = sandbox.run(_request(config, data, self.source, job, trial_id, next_data_dir), progress)
            except KeyboardInterrupt as exc:  # the sandbox's SandboxInterrupted carries what it collected
                self.ended_early(getattr(exc, "outcome", None), batch, bound_alpha)
                raise TrialInterrupted(self.report()) from exc
            if outcome.status is not TrialStatus.OK:
                return self.ended_early(outcome, batch, bound_alpha)
            self._observed(outcome, batch)
            scored = score_batch(outcome, batch, data)
            self.probs |= scored.probs
            self.seeds.extend(self.bound_seeds(scored.seeds, bound_alpha) if bound_alpha else scored.seeds)
            self._runner(scored.runner, scored.report_problem, outcome)
            if scored.problems:
                return self.fail(TrialStatus.INVALID_OUTPUT, scored.problems[0])
            if config.target is not None and self.goal().decision != scoring.Decision.UNDECIDED:
                break

    def ended_early(self, outcome: SandboxOutcome | None, batch: list[int], bound_alpha: float | None) -> None:
        """A container that ended other than ok (timeout, oom, crash, interrupt): the seeds that
        finished are complete on their own and count like any other; the rest fail with its status."""
        if outcome is None:  # interrupted before the sandbox had anything to say
            outcome = SandboxOutcome(status=TrialStatus.INTERRUPTED, message=TrialStatus.INTERRUPTED.message)
        else:
            self._observed(outcome, batch)
        done = finished_seeds(outcome.files, batch)
        if done:
            scored = score_batch(outcome, done, self.data)
            self.probs |= scored.probs
            self.seeds.extend(self.bound_seeds(scored.seeds, bound_alpha) if bound_alpha else scored.seeds)
        message = outcome.message
        if len(batch) > 1 or done:
            finished = sum(1 for s in self.seeds if s.status is TrialStatus.OK)
            planned = len(self.seeds) + len(batch) - len(done)
            message = f"{message}; {finished} of {planned} seeds finished"
        self.fail(outcome.status, message, batch)

    def fail(self, status: TrialStatus, message: str, pending: list[int] = ()) -> None:
        done = {s.seed for s in self.seeds}
        self.seeds.extend(SeedResult(seed=s, status=status, message=message, metrics={}, curves={})
                          for s in pending if s not in done)
        self.status, self.message = status, message

    def _observed(self, outcome: SandboxOutcome, batch: list[int]) -> None:
        self.last = outcome
        self.runs.append(SandboxRun(seeds=batch, status=outcome.status, exit_code=outcome.exit_code,
                                    oom_killed=outcome.oom_killed, we_killed=outcome.we_killed,
                                    wall_s=round(outcome.wall_s, 3)))
        if outcome.status is TrialStatus.CRASHED and ends_in_runner(outcome.stderr_tail):
            self.flags.add("runner_error")  # a hint for us, never a status: the model can forge it

    def _runner(self, runner: RunnerReport | None, problem: str | None, outcome: SandboxOutcome) -> None:
        if problem:
            self.flags.add("runner_report_invalid")
        if runner is None:
            return
        self.runner = runner
        if self.timing is None and runner.first_step_at is not None and outcome.start_s is not None:
            self.timing = {"container_start_to_first_step_s": round(runner.first_step_at - outcome.start_s, 3)}

    def goal(self) -> GoalReport:
        """The goal decision: the same rule as ``run`` (``plan_for``), with the test set's own bound."""
        metric, plan = self.config.metric, plan_for(self.config.seeds)
        ok = [s for s in self.seeds if s.status is TrialStatus.OK]
        bounds = [(s.test_bound.lower, s.test_bound.upper) for s in ok if s.test_bound is not None]
        bound = scoring.test_set_bound(metric, self.data.n_test, bounds if len(bounds) == len(ok) else None)
        decision = scoring.decide_goal([s.metrics.get(metric) for s in ok], self.config.target, plan,
                               higher_is_better=is_higher_better(metric), test_bound=bound)
        return GoalReport(**decision.to_dict(), metric=metric)

    def bound_seeds(self, scored: list[SeedResult], alpha: float) -> list[SeedResult]:
        """Per-seed bootstrap bounds of the goal metric over test rows (metrics that are no proportion)."""
        metric, labels = self.config.metric, self.data.test_labels()
        if metric in scoring.PROPORTION_METRICS:
            return scored
        out = []
        for s in scored:
            if s.status is TrialStatus.OK and s.seed in self.probs:
                lower, upper = scoring.bootstrap_seed_bounds(self.probs[s.seed], labels, metric, alpha, seed=s.seed)
                s = s.model_copy(update={"test_bound": TestBoundRecord(
                    metric=metric, alpha=alpha, lower=finite(lower), upper=finite(upper), n_boot=scoring.N_BOOT)})
            out.append(s)
        return out

    def report(self) -> EvalReport:
        ok = [s for s in self.seeds if s.status is TrialStatus.OK]
        fields = {}
        if self.suspicious:
            fields["preflight"] = self.suspicious
        if self.runner is not None:
            fields["model_summary"] = self.runner.summary.model_dump() | {
                "device": self.runner.device, "seed_workers": self.runner.seed_workers,
                "threads_per_worker": self.runner.threads_per_worker}  # fewer on a busy machine (sandbox._load)
        if self.timing is not None:
            fields["timing"] = self.timing
        if self.config.target is not None and self.status is TrialStatus.OK:
            fields["goal"] = self.goal()
        return EvalReport(
            schema_version=SCHEMA_VERSION, status=self.status, message=self.message,
            flags=sorted(self.flags | set(scoring.dynamics_flags([s.curves for s in ok]))),
            model=ModelInfo(path=self.label, sha256=hashlib.sha256(self.source.encode()).hexdigest(),
                            **({"entry": self.entry} if self.entry is not None else {})),
            dataset=self.data.card(), config=self.config, seeds=self.seeds,
            aggregate=scoring.aggregate([s.metrics for s in ok], n_test=self.data.n_test),
            sandbox=self._sandbox_summary(), **fields)

    def _sandbox_summary(self) -> SandboxSummary:
        """The top-level sandbox fields describe the last container run (the schema's contract)."""
        base = {"limits": self.config.limits}
        if self.last is None:
            return SandboxSummary(**base)
        last = self.last
        return SandboxSummary(
            **self.sandbox, **base, runs=self.runs, exit_code=last.exit_code, oom_killed=last.oom_killed,
            we_killed=last.we_killed, wall_s=round(sum(r.wall_s for r in self.runs), 3),
            stderr_tail=last.stderr_tail if last.status is not TrialStatus.OK else "")


def _profile_sha(runtime: str | None) -> str:
    """The sha256 of the seccomp profile text this trial's containers actually got."""
    from ..sandbox._controls import profile_for

    return hashlib.sha256(profile_for(runtime).encode()).hexdigest()


def _request(config: EvalConfig, data: PreparedDataset, source: str, job: JobSpec,
             trial_id: str | None = None, next_data_dir: Path | None = None) -> SandboxRequest:
    return SandboxRequest(job=job, model_source=source, data_dir=data.public_dir, limits=config.limits,
                          trial_id=trial_id or _trial_id(), next_data_dir=next_data_dir)


def _trial_id() -> str:
    """An eval's trial id (a run's trials are named by the study): the label its container carries."""
    return f"eval-{uuid.uuid4().hex[:12]}"


def _job(config: EvalConfig, data: PreparedDataset, seeds: list[int], entry: str = "Model",
         model_args: dict | None = None, yielding=None, idle: float | None = None) -> JobSpec:
    """``idle``: the CPUs free, sampled already; else sampled now."""
    limit = thread_count(config.limits)
    threads = training_threads(limit, idle if idle is not None else idle_cpus(yielding=yielding))
    t = config.training
    return JobSpec(
        seeds=seeds, epochs=config.epochs, batch_size=config.batch_size, optimizer=config.optimizer,
        lr=config.lr, n_classes=data.n_classes, input_shape=list(data.input_shape),
        deadline_s=max(1.0, config.limits.timeout_s - RUNNER_DEADLINE_MARGIN_S), threads=threads,
        device="cuda" if config.limits.gpus else "cpu", weight_decay=t.weight_decay,
        schedule=t.schedule, label_smoothing=t.label_smoothing, grad_clip=t.grad_clip,
        early_stopping_patience=t.patience, max_params=t.max_params,
        seed_workers=seed_workers(len(seeds), limit, config.parallel_seeds),
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
