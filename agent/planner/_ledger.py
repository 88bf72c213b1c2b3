"""One ledger of candidates: what every finished trial added to its candidate, and the decisions.

The study, both planners and the prompts read the same ``Ledger``. It is frozen; ``add`` returns a
new one that shares every candidate the trial did not touch, so a loop that adds each finished
trial once pays for that trial once, and a step costs what the candidates cost, not what the
history does. The "larger is better" sign lives here (``Goal.sign``) and nowhere else.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ..scoring import Decision, GoalDecision, decide_goal, test_set_bound
from ..specs import Goal, TrialSpec
from ._base import PlanContext, TrialSummary
from ._cost import FULL_ACTIONS, OUT_OF_TIME, OVERRUN_FACTOR, PRIOR_COST_RATIO, machine_costs, seed_time

__all__ = ["OUT_OF_TIME", "Candidate", "Ledger"]

STALL_LIMIT = 2  # trials in a row that ran out of time without finishing a seed: it is too slow, not unlucky


@dataclass(frozen=True)
class Candidate:
    """One candidate (a spec's hash) across its trials: low fidelity, full fidelity, fresh seeds."""

    id: str
    spec: TrialSpec | None = None  # the explore (low-fidelity) spec
    full_spec: TrialSpec | None = None
    params: Mapping = field(default_factory=dict)  # the sampler's parameters (TPE is told them)
    low: float | None = None  # the explore trial's value, when it was ok
    full: Mapping[int, float] = field(default_factory=dict)  # seed -> value at full fidelity
    confirm: Mapping[int, float] = field(default_factory=dict)  # seed -> value on fresh seeds
    test_bounds: Mapping[int, tuple[float, float]] = field(default_factory=dict)  # full seeds' test-set bounds
    confirm_test_bounds: Mapping[int, tuple[float, float]] = field(default_factory=dict)
    full_trials: tuple[int, ...] = ()  # trial numbers behind ``full``
    confirm_trial: int | None = None
    promoted: bool = False
    failed: bool = False  # a trial ended other than ok (at full fidelity out of time aside: see OUT_OF_TIME)
    full_status: str = "ok"  # the last non-ok status at full fidelity, else ok
    confirm_tried: bool = False
    confirm_failed: bool = False  # a confirmation trial ended other than ok or out of time
    out_of_time: tuple[int, ...] = ()  # trial numbers of it that ran out of time
    stalled: int = 0  # its latest trials in a row that ran out of time without finishing a seed
    ran: frozenset[int] = frozenset()  # seeds that finished at full fidelity or in the confirmation
    seed_floor_s: float | None = None  # a full-fidelity seed took longer than this (none finished in time)
    low_cost: tuple[float, float] | None = None  # the explore trial's (container s, s per epoch)
    seed_s: float | None = None  # training seconds per full-fidelity seed (its epochs), the slowest measured
    fixed_s: float | None = None  # a full-fidelity container's seconds beyond its seeds' training
    score: float | None = None  # sign * mean of ``full``: larger is better, for every metric
    decision: GoalDecision | None = None  # the goal decision on ``full`` at the planned checkpoints
    confirm_decision: GoalDecision | None = None  # on ``confirm``, at the first checkpoint only

    @property
    def family(self) -> str:
        spec = self.spec or self.full_spec
        return spec.model.family if spec is not None and spec.model is not None else "source"

    @property
    def full_epochs(self) -> int:
        """The epochs TPE drew for full fidelity (the explore trial ran a third of them)."""
        return int(self.params.get("values", {}).get("epochs", self.spec.training.epochs))

    @property
    def mean(self) -> float | None:
        return math.fsum(self.full.values()) / len(self.full) if self.full else None

    def scaled_cost(self, n_train: int) -> tuple[float, float] | None:
        """(seconds per full-fidelity seed, fixed seconds per container) projected from the explore
        trial: its per-epoch time scaled by data and epochs; the fixed part (container start, imports,
        data loading) is what its wall took beyond its epochs. None when nothing was measured."""
        if self.low_cost is None or self.spec is None:
            return None
        wall, epoch_s = self.low_cost
        fixed = max(0.0, wall - self.spec.training.epochs * epoch_s)
        scale = n_train / (self.spec.subset_size or n_train)
        return self.full_epochs * epoch_s * scale, fixed

    def missing(self, checkpoints: tuple[int, ...]) -> list[int]:
        """Seeds up to the checkpoint it stands before that it has no value for (a trial ran out of
        time, or was split): planned again, never re-run when finished."""
        if not self.promoted or self.failed:
            return []
        ran = set(self.full) | {k for k in self.ran if k < checkpoints[-1]}
        cp = next((c for c in checkpoints if c >= max(len(ran), 1)), None)
        if cp is None or len(ran) == cp:
            return []
        return [k for k in range(cp) if k not in ran]

    def confirm_short(self, first: int) -> int:
        """Fresh seeds its confirmation still lacks (a trial of it ran out of time); 0 when none."""
        if not self.confirm_tried or self.confirm_failed:
            return 0
        return max(0, first - len(set(self.confirm) | (self.ran - set(self.full))))


@dataclass(frozen=True)
class Ledger:
    """Every candidate of a run, in the order first seen, with the goal decisions already made.

    ``n_test`` is the full test set's size: with it, accuracy-type decisions carry the test set's own
    sampling noise (Clopper-Pearson); other metrics use the per-seed bootstrap bounds the trials
    recorded. ``best_scores[i]`` is the best candidate's score after the first ``i + 1`` trials.
    """

    goal: Goal
    checkpoints: tuple[int, ...]
    n_test: int | None = None
    n_train: int | None = None  # the full training set's size (cost projections scale to it)
    cost_ratios: tuple[float, ...] = ()  # actual / projected seed time of full-data trials on this machine
    cost_floor: float = 0.0  # a full-data trial that ran out of time: the ratio is at least this
    explore_wall_s: float | None = None  # the slowest explore trial's container seconds
    candidates: Mapping[str, Candidate] = field(default_factory=lambda: MappingProxyType({}))
    best_id: str | None = None
    best_scores: tuple[float | None, ...] = ()

    @classmethod
    def build(cls, goal: Goal, checkpoints: tuple[int, ...], history: Iterable[TrialSummary] = (),
              n_test: int | None = None, n_train: int | None = None) -> Ledger:
        return cls(goal=goal, checkpoints=tuple(checkpoints), n_test=n_test, n_train=n_train).extend(history)

    @property
    def n_trials(self) -> int:
        return len(self.best_scores)

    @property
    def best(self) -> Candidate | None:
        """The candidate with the best full-fidelity mean over at least two seeds (the first on ties)."""
        return self.candidates[self.best_id] if self.best_id is not None else None

    @property
    def cost_ratio(self) -> float:
        """How much longer than projected full-data trials take on this machine (the prior until one ran)."""
        ratio = statistics.median(self.cost_ratios) if self.cost_ratios else PRIOR_COST_RATIO
        return max(ratio, self.cost_floor)

    def seed_cost(self, c: Candidate) -> tuple[float, float] | None:
        """(seconds per full-fidelity seed, fixed seconds per container) on this machine, or None:
        measured when it ran at full fidelity, else scaled from its explore trial and corrected by
        ``cost_ratio``; never below what a seed that ran out of time already took."""
        if c.seed_s is not None:
            per, fixed = c.seed_s, c.fixed_s or 0.0
        elif self.n_train is not None and (scaled := c.scaled_cost(self.n_train)) is not None:
            per, fixed = scaled[0] * self.cost_ratio, scaled[1]
        elif c.seed_floor_s is None:
            return None
        else:
            per, fixed = 0.0, 0.0
        if c.seed_floor_s is not None:
            per = max(per, c.seed_floor_s * OVERRUN_FACTOR)
        return per, fixed

    def projected_s(self, c: Candidate, n_seeds: int) -> float | None:
        """Container seconds for ``n_seeds`` full-fidelity seeds of ``c`` on this machine, or None."""
        cost = self.seed_cost(c)
        return None if cost is None else cost[1] + n_seeds * cost[0]

    def extend(self, summaries: Iterable[TrialSummary]) -> Ledger:
        ledger = self
        for s in summaries:
            ledger = ledger.add(s)
        return ledger

    def add(self, t: TrialSummary) -> Ledger:
        """The ledger with one more finished trial."""
        p = t.proposal
        old = self.candidates.get(p.candidate) or Candidate(
            id=p.candidate, spec=p.spec if p.action == "explore" else None, params=p.params)
        cand = self._updated(old, t)
        candidates = dict(self.candidates)
        candidates[cand.id] = cand
        best_id = self._best_after(candidates, cand)
        best = candidates[best_id].score if best_id is not None else None
        return replace(self, candidates=MappingProxyType(candidates), best_id=best_id,
                       best_scores=(*self.best_scores, best), **machine_costs(self, old, t))

    def decide(self, values: Mapping[int, float], checkpoints: tuple[int, ...] | None = None,
               test_bounds: Mapping[int, tuple[float, float]] | None = None) -> GoalDecision:
        """The goal decision on seed values (seed order), with the test set's bound where known."""
        order = sorted(values)
        bounds = [test_bounds[k] for k in order] if test_bounds and all(k in test_bounds for k in order) else None
        bound = None if self.n_test is None else test_set_bound(self.goal.metric, self.n_test, bounds)
        return decide_goal([values[k] for k in order], self.goal.target, checkpoints or self.checkpoints,
                           higher_is_better=self.goal.higher_is_better, test_bound=bound)

    def stale(self, patience: int) -> bool:
        """True when the best score has not improved during the last ``patience`` trials."""
        if self.n_trials <= patience:
            return False
        before, now = self.best_scores[-1 - patience], self.best_scores[-1]
        return before is not None and now is not None and now <= before

    def achieved(self) -> Candidate | None:
        """The first candidate whose fresh-seed confirmation cleared the target, if any."""
        first = self.checkpoints[0]
        return next((c for c in self.candidates.values() if len(c.confirm) >= first
                     and c.confirm_decision is not None and c.confirm_decision.decision == Decision.ACHIEVED), None)

    def ranked(self) -> list[Candidate]:
        """Candidates with full-fidelity values, best score first (then the order first seen)."""
        scored = [c for c in self.candidates.values() if c.score is not None]
        return sorted(scored, key=lambda c: -c.score)

    # -- one trial -----------------------------------------------------------------------------
    def _updated(self, c: Candidate, t: TrialSummary) -> Candidate:
        p, ok = t.proposal, t.status == "ok"
        late = (*c.out_of_time, t.number) if t.status in OUT_OF_TIME else c.out_of_time
        done = set(t.finished) | set(t.values)
        stalled = c.stalled + 1 if t.status in OUT_OF_TIME and not done else 0
        ran = c.ran | done if p.action != "explore" else c.ran
        if p.action == "explore":
            cost = (t.wall_s, t.epoch_s) if t.wall_s is not None and t.epoch_s is not None else c.low_cost
            return replace(c, spec=p.spec, params=p.params, low=t.values.get(p.seeds[0]) if ok else None,
                           failed=not ok, low_cost=cost, out_of_time=late)
        if p.action in FULL_ACTIONS:
            full = {**c.full, **t.values}
            bounds = {**c.test_bounds, **t.test_bounds}
            seed_s, fixed_s, floor = seed_time(c, t)
            broken = (not ok and t.status not in OUT_OF_TIME) or stalled >= STALL_LIMIT
            return replace(c, promoted=True, ran=ran, stalled=stalled, full_spec=p.spec, full=full, test_bounds=bounds,
                           full_trials=(*c.full_trials, t.number), failed=c.failed or broken,
                           full_status=c.full_status if ok else t.status, seed_s=seed_s, fixed_s=fixed_s,
                           seed_floor_s=floor, out_of_time=late, score=self._score(full),
                           decision=self.decide(full, None, bounds) if full else None)
        if p.action == "confirm":
            confirm = {**c.confirm, **t.values}
            bounds = {**c.confirm_test_bounds, **t.test_bounds}
            decision = self.decide(confirm, self.checkpoints[:1], bounds) if confirm else None
            broken = (not ok and t.status not in OUT_OF_TIME) or stalled >= STALL_LIMIT
            return replace(c, confirm_tried=True, ran=ran, stalled=stalled, confirm=confirm, confirm_test_bounds=bounds,
                           confirm_trial=t.number, confirm_decision=decision, out_of_time=late,
                           confirm_failed=c.confirm_failed or broken)
        return c  # smoke: a cheap check of free source, never a score

    def _score(self, full: Mapping[int, float]) -> float | None:
        return self.goal.sign * math.fsum(full.values()) / len(full) if len(full) >= 2 else None

    def _best_after(self, candidates: Mapping[str, Candidate], changed: Candidate) -> str | None:
        """The best id once ``changed`` changed: one comparison, unless the best itself changed."""
        if self.best_id != changed.id:
            best = candidates[self.best_id] if self.best_id is not None else None
            if changed.score is not None and (best is None or changed.score > best.score):
                return changed.id
            return self.best_id
        top = None
        for c in candidates.values():  # ties: the candidate seen first
            if c.score is not None and (top is None or c.score > top.score):
                top = c
        return top.id if top is not None else None


PlanContext.model_rebuild(_types_namespace={"Ledger": Ledger})
