"""The research loop: plan -> assemble -> preflight -> sandbox -> score -> record, repeated.

It stops when the goal is ``achieved`` (a candidate's interval cleared the target at a planned
checkpoint AND it did again on fresh seeds), when the budget (iterations, minutes) runs out, or
when no candidate has improved for ``patience`` trials. Every state change goes to the registry
in one transaction, so a run killed at any moment resumes (``resume``) without losing or
double-counting a finished trial; a trial that was running is re-run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._watch import TrialWatch
from .assembler import AssemblyError, source_for
from .config import EvalConfig, TrainingConfig
from .data import PreparedDataset, prepare
from .errors import AgentError
from .planner import (
    BasePlanner,
    Ledger,
    LLMExchange,
    LLMReplayMismatch,
    LLMSettings,
    PlanContext,
    Proposal,
    TrialSummary,
    deadline_s,
    make_planner,
    planning,
    summary_of,
)
from .records import SandboxLimits, TrialStatus
from .registry import BaseRegistry, RunStatus, TrialRecord
from .results import EvalReport
from .scoring import ALPHA, Decision, plan_for
from .specs import Goal
from .trial import TrialInterrupted, failed_report, run_trial

__all__ = ["Study", "StudyConfig", "StudyResult"]



class StudyConfig(BaseModel):
    """Everything that decides a run; stored with it so ``resume`` rebuilds the same loop."""

    @classmethod
    def from_stored(cls, stored: dict) -> StudyConfig:
        return cls.model_validate({k: v for k, v in stored.items() if k != "metric"})

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: Goal
    max_iterations: int = Field(default=40, ge=1)
    budget_minutes: float = Field(default=10.0, gt=0)
    patience: int = Field(default=12, ge=1)
    planner: Literal["search", "llm"] = "search"
    planner_seed: int = 0
    llm: LLMSettings | None = None  # endpoint, model, limits; the key's variable NAME, never the key
    replay_of: str | None = None  # `run --replay RUN`: the LLM answers come from RUN's records
    seeds: Annotated[int, Field(le=100)] | Literal["auto"] = "auto"
    # `run --timeout`: the most one trial may take. None: each trial's deadline follows its projected
    # cost on this machine (planner._cost), bounded by the budget left.
    trial_timeout_s: float | None = Field(default=None, gt=0)

    @field_validator("seeds")
    @classmethod
    def _claimable(cls, seeds: int | str) -> int | str:
        if seeds != "auto" and seeds < 2:
            raise ValueError("one seed never claims a goal (it has no spread to bound); use 2 or more, or auto")
        return seeds
    limits: SandboxLimits = Field(default_factory=SandboxLimits)


class StudyResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    status: RunStatus
    reason: str
    decision: dict | None = None
    best_trial: int | None = None
    trials: int = 0
    wall_s: float = 0.0
    container_s: float = 0.0
    planning: dict | None = None  # who planned the trials (planner.planning)


Progress = Callable[[str], None]


class Study:
    """One run of the loop over a registry and a sandbox (both injected)."""

    def __init__(self, config: StudyConfig, registry: BaseRegistry, sandbox_factory, cache_root: Path,
                 planner: BasePlanner | None = None, progress: Progress | None = None,
                 observe: Callable[[str], None] | None = None):
        """``observe(run_id)`` is called after each change the loop records (live tracking); it must
        return at once and never raise."""
        self.config = config
        self.registry = registry
        self._sandbox_factory = sandbox_factory
        self._sandbox = None
        self.cache_root = Path(cache_root)
        self.checkpoints = plan_for(config.seeds)  # the rule `eval` uses too
        self.planner = planner or self._default_planner()
        self.progress = progress or (lambda line: None)
        self._observe = observe or (lambda run_id: None)
        self.data = prepare(config.goal.dataset, self.cache_root)
        self.shape = self.data.shape
        self._ledger = self._empty_ledger()
        self._history: list[TrialSummary] = []  # finished trials, as planners see them, in ledger order
        self._seen: dict[str, int] = {}  # finished trial id -> its number (finished trials never change)
        self._read: list[TrialRecord] = []  # trials 1..k, all finished: read once from the registry

    def _empty_ledger(self) -> Ledger:
        return Ledger.build(self.config.goal, self.checkpoints, n_test=self.data.n_test, n_train=self.data.n_train)

    def _default_planner(self) -> BasePlanner:
        """The configured planner; a replay answers LLM requests from the recorded run's calls."""
        c, replay = self.config, None
        if c.replay_of:
            replay = (c.replay_of, [x.model_dump(mode="json") for x in self.registry.list_llm_calls(c.replay_of)])
        return make_planner(c.planner, c.llm, c.planner_seed, self.checkpoints, replay=replay)

    # -- entry points --------------------------------------------------------------------------
    def start(self) -> StudyResult:
        # "metric" at the top level lets `runs list` show the best interval without knowing our schema.
        stored = self.config.model_dump(mode="json") | {"metric": self.config.goal.metric}
        run = self.registry.create_run(self.config.goal.text, stored,
                                       self.config.planner_seed, self._manifest())
        self._observe(run.id)
        return self._loop(run.id, time.monotonic())

    def resume(self, run_id: str) -> StudyResult:
        """Continue a run: re-run trials a crash left running, then plan on from the history."""
        reaped = self._shared_sandbox().reap(f"{run_id}/")
        pending = self.registry.recover(run_id)
        if reaped:
            self.progress(f"removed {reaped} container(s) the interrupted run left behind")
        self.registry.set_run_status(run_id, RunStatus.RUNNING)
        self._observe(run_id)
        self.progress(f"resuming {run_id}: {len(pending)} interrupted trial(s) to re-run")
        spent = sum(t.wall_s or 0.0 for t in self.registry.list_trials(run_id, "finished"))
        # The LLM's answers took time between trials too (minutes on a small local model).
        spent += sum(c.latency_s or 0.0 for c in self.registry.list_llm_calls(run_id))
        return self._loop(run_id, time.monotonic() - spent)

    # -- the loop ------------------------------------------------------------------------------
    def _loop(self, run_id: str, t0: float) -> StudyResult:
        past = [c.model_dump(mode="json") for c in self.registry.list_llm_calls(run_id)]
        self.planner.bind(lambda exchange: self._record_llm(run_id, exchange), past)
        try:
            while True:
                trials = self._trials(run_id)
                stop = self._stop_reason(trials, t0)
                if stop:
                    return self._finish(run_id, trials, *stop, t0)
                try:
                    self._step(run_id, trials, t0)
                except _Exhausted:
                    trials = self._trials(run_id)
                    final = self._final(self._ledger_of(trials), "the planner has nothing left to try")
                    return self._finish(run_id, trials, *final, t0)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP as the CLI maps them: resume continues it
            self.registry.set_run_status(run_id, RunStatus.INTERRUPTED)
            self._observe(run_id)
            raise
        except (AgentError, LLMReplayMismatch) as exc:  # the run is over: say why in the record too
            self.registry.set_run_status(run_id, RunStatus.FAILED, decision={"reason": str(exc)})
            self._observe(run_id)
            raise
        finally:
            if self._sandbox is not None and hasattr(self._sandbox, "close"):
                self._sandbox.close()  # a container prepared for a trial that will not come

    def _step(self, run_id: str, trials: list[TrialRecord], t0: float) -> None:
        pending = [t for t in trials if t.state == "pending"]
        if pending:
            trial = self.registry.restart_trial(pending[0].id)
            proposal = Proposal.model_validate(trial.rung)
            nxt = proposal.spec.subset_size  # the next step's training subset (None: the full data): a guess
        else:
            ctx = self._context(trials, t0)
            proposal = self.planner.propose(ctx)
            if proposal is None:
                raise _Exhausted()
            hint = getattr(self.planner, "next_subset", None)  # optional: a planner that cannot tell keeps this data
            trial, nxt = None, hint(ctx, proposal) if hint else proposal.spec.subset_size
        try:
            source = source_for(proposal.spec, self.shape)
        except AssemblyError as exc:
            source, problem = proposal.spec.source or "", str(exc)
        else:
            problem = None
        if trial is None:
            trial = self.registry.start_trial(run_id, proposal.spec, source, rung=proposal.model_dump(mode="json"))
        config = self._eval_config(proposal, t0)
        self._observe(run_id)
        self.progress(self._describe(trial.number, proposal, trials, t0, config.limits.timeout_s))
        try:
            report = self._evaluate(trial, proposal, source, problem, config, self._data_dir(nxt))
        except TrialInterrupted as exc:
            if any(s.status is TrialStatus.OK for s in exc.report.seeds):  # keep what finished; plan the rest
                self.registry.finish_trial(trial.id, exc.report)
            raise  # with nothing finished the trial stays running: resume re-runs it
        self.registry.finish_trial(trial.id, report)
        self._observe(run_id)

    def _evaluate(self, trial: TrialRecord, proposal: Proposal, source: str, problem: str | None,
                  config: EvalConfig, next_data_dir: Path | None = None) -> EvalReport:
        data = self._data_for(proposal)
        label = f"trial-{trial.number}.py"
        if problem is not None:  # the spec cannot be rendered for this data: a failed trial, not a crash
            return failed_report(label, source, config, data, TrialStatus.INVALID_SUBMISSION, problem,
                                 list(proposal.seeds))
        watch = TrialWatch(self.registry, trial.id, trial.number, config.limits.timeout_s, self.progress)
        return run_trial(source, label, config, self._shared_sandbox, data, batches=[list(proposal.seeds)],
                         trial_id=f"{trial.run_id}/trial-{trial.number}", bound_alpha=ALPHA / len(self.checkpoints),
                         progress=watch, next_data_dir=next_data_dir)

    def _record_llm(self, run_id: str, e: LLMExchange) -> None:
        """The planner's exchanges (and fallbacks) go to the registry, which redacts them first."""
        self.registry.record_llm_call(run_id, e.purpose, e.request, e.response, prompt_tokens=e.prompt_tokens,
                                      completion_tokens=e.completion_tokens, latency_s=e.latency_s, error=e.error,
                                      fallback_reason=e.fallback_reason)

    def _shared_sandbox(self):
        if self._sandbox is None:
            self._sandbox = self._sandbox_factory()
        return self._sandbox

    def _data_for(self, proposal: Proposal) -> PreparedDataset:
        subset = proposal.spec.subset_size
        return self.data if subset is None else prepare(self.config.goal.dataset, self.cache_root, subset_size=subset)

    def _data_dir(self, subset: int | None) -> Path | None:
        """The next step's data, for the container prepared beside this trial: the full data (prepared
        when the study began); for a subset None, i.e. this trial's (a guess never prepares data)."""
        return self.data.public_dir if subset is None else None

    def _eval_config(self, proposal: Proposal, t0: float) -> EvalConfig:
        t = proposal.spec.training
        timeout = deadline_s(proposal.projected_s, self.config.trial_timeout_s, self._left_s(t0))
        return EvalConfig(
            dataset=self.config.goal.dataset, metric=self.config.goal.metric, seeds=len(proposal.seeds),
            epochs=t.epochs, batch_size=t.batch_size,
            lr=t.lr, optimizer=t.optimizer, subset_size=proposal.spec.subset_size,
            training=TrainingConfig(weight_decay=t.weight_decay, schedule=t.schedule,
                                    label_smoothing=t.label_smoothing),
            limits=self.config.limits.model_copy(update={"timeout_s": timeout}),
        )

    def _left_s(self, t0: float) -> float:
        """Seconds left of ``--budget-minutes`` for a loop whose clock started at ``t0`` (negative once spent)."""
        return self.config.budget_minutes * 60 - (time.monotonic() - t0)

    def _trials(self, run_id: str) -> list[TrialRecord]:
        """The run's trials: the finished prefix read before, and only the rest from the registry."""
        known = len(self._read)
        fresh = self.registry.list_trials(run_id, after=known)
        for t in fresh:
            if t.state != "finished" or t.number != len(self._read) + 1:
                break
            self._read.append(t)  # finished is final (the registry's triggers): never read again
        return self._read + fresh[len(self._read) - known:]

    # -- what the statistics say ---------------------------------------------------------------
    def _ledger_of(self, trials: list[TrialRecord]) -> Ledger:
        """The ledger over the finished trials: each one summarized and added once, in number order."""
        new = [t for t in trials if t.state == "finished" and t.id not in self._seen]
        if new and self._seen and min(t.number for t in new) < max(self._seen.values()):
            # a trial finished out of order (not the sequential loop's way): start over, in order
            self._ledger = self._empty_ledger()
            self._history, self._seen = [], {}
            new = [t for t in trials if t.state == "finished"]
        summaries = [self._summary(t) for t in new]
        self._history.extend(summaries)
        self._seen.update((t.id, t.number) for t in new)
        self._ledger = self._ledger.extend(summaries)
        return self._ledger

    def _context(self, trials: list[TrialRecord], t0: float) -> PlanContext:
        ledger = self._ledger_of(trials)
        return PlanContext(goal=self.config.goal, shape=self.shape, n_train=self.data.n_train,
                           history=list(self._history), budget_left_s=max(0.0, self._left_s(t0)), ledger=ledger,
                           trial_cap_s=self.config.trial_timeout_s)

    def _summary(self, t: TrialRecord) -> TrialSummary:
        return summary_of(t, self.config.goal.metric)

    def _stop_reason(self, trials: list[TrialRecord], t0: float):
        ledger = self._ledger_of(trials)
        unreachable = ledger.decide({})  # with no seeds at all: only the test set's size can decide
        if unreachable.decision == Decision.INCONCLUSIVE:  # e.g. 45 test rows cannot carry accuracy >= 0.97
            return RunStatus.INCONCLUSIVE, f"stopped before any trial: {unreachable.reason}", None
        achieved = ledger.achieved()
        if achieved is not None:
            return RunStatus.ACHIEVED, f"candidate {achieved.id} cleared the target on fresh seeds", achieved.id
        if ledger.n_trials >= self.config.max_iterations:
            return self._final(ledger, f"reached --max-iterations {self.config.max_iterations}")
        if self._left_s(t0) <= 0:
            _, _, cid = self._final(ledger, "")
            return RunStatus.BUDGET_EXHAUSTED, f"spent the {self.config.budget_minutes:g}-minute budget", cid
        if ledger.stale(self.config.patience):
            return self._final(ledger, f"no candidate improved for {self.config.patience} trials (--patience)")
        return None

    def _final(self, ledger: Ledger, reason: str):
        best = ledger.best
        if best is None:
            return RunStatus.INCONCLUSIVE, reason + "; no candidate reached full fidelity", None
        status = RunStatus.NOT_ACHIEVED if best.decision.decision == Decision.NOT_ACHIEVED else RunStatus.INCONCLUSIVE
        return status, reason, best.id

    def _finish(self, run_id: str, trials: list[TrialRecord], status: RunStatus, reason: str, cid: str | None,
                t0: float) -> StudyResult:
        best = self._ledger_of(trials).candidates.get(cid) if cid else None
        decision, best_number = None, None
        if best is not None and best.decision is not None:
            chosen = best.confirm_decision if status == RunStatus.ACHIEVED else best.decision
            decision = chosen.to_dict() | {
                "metric": self.config.goal.metric, "candidate": cid, "selection": best.decision.to_dict(),
                "on_fresh_seeds": status == RunStatus.ACHIEVED, "statistics": chosen.reason}
            best_number = best.confirm_trial if status == RunStatus.ACHIEVED else best.full_trials[-1]
        best_id = next((t.id for t in trials if t.number == best_number), None)
        decision = (decision or {}) | {"reason": reason}
        self.registry.set_run_status(run_id, status, decision=decision, best_trial_id=best_id)
        self._observe(run_id)
        container_s = sum(t.container_s or 0.0 for t in trials)
        return StudyResult(run_id=run_id, status=status, reason=reason, decision=decision, best_trial=best_number,
                           trials=len(trials), wall_s=time.monotonic() - t0, container_s=container_s,
                           planning=planning([t.rung or {} for t in trials], self.config.planner))

    # -- reporting -----------------------------------------------------------------------------
    def _describe(self, number: int, proposal: Proposal, trials: list[TrialRecord], t0: float,
                  deadline: float) -> str:
        left = self._left_s(t0) / 60
        best = self._ledger_of(trials).best
        best_txt = "none yet"
        if best is not None:
            d = best.decision
            best_txt = (f"{best.mean:.4f}, one-sided [{d.lower_bound:.4f}, {d.upper_bound:.4f}] (n={d.n})"
                        if d.lower_bound is not None else f"{best.mean:.4f} (n={d.n})")
        family = proposal.spec.model.family if proposal.spec.model else "free source"
        cost = f"~{proposal.projected_s:.0f} s, " if proposal.projected_s is not None else ""
        return (f"trial {number}: {proposal.action} {family} seeds {proposal.seeds}{self._planned(proposal)} | "
                f"{cost}deadline {deadline:.0f} s | best {best_txt} | {left:.1f} min left")

    def _planned(self, proposal: Proposal) -> str:
        """`` [llm]``, `` [fallback: format_rejected]`` or `` [schedule]`` in an LLM run; nothing otherwise."""
        if self.config.planner != "llm":
            return ""
        if proposal.planned_by == "fallback":
            return f" [fallback: {proposal.fallback}]"
        return f" [{proposal.planned_by}]"

    def _manifest(self) -> dict:
        sandbox = self._shared_sandbox().describe()
        packages = {}
        for name in ("research-agent", "numpy", "scipy", "scikit-learn", "optuna", "pydantic", "docker", "torch"):
            try:
                packages[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        labels = sandbox.get("image_labels", {})
        packages["torch (sandbox image)"] = labels.get("org.research-agent.torch", "")
        return {"image_id": sandbox.get("image"), "image_labels": labels,
                "seccomp_sha256": sandbox.get("seccomp_sha256"), "packages": packages,
                "dataset_fingerprint": self.data.fingerprint, "seeds": list(self.checkpoints),
                "planner_seed": self.config.planner_seed}


class _Exhausted(Exception):
    """The planner has nothing left to propose."""
