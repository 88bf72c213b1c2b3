"""One ledger of candidates: what every finished trial added to its candidate, and the decisions.

The study, both planners and the prompts read the same ``Ledger``. It is frozen; ``add`` returns a
new one that shares every candidate the trial did not touch, so a loop that adds each finished
trial once pays for that trial once, and a step costs what the candidates cost, not what the
history does. The "larger is better" sign lives here (``Goal.sign``) and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ..scoring import Decision, GoalDecision, decide_goal, test_set_bound
from ..specs import Goal, TrialSpec
from ._base import PlanContext, TrialSummary

__all__ = ["Candidate", "Ledger"]

_FULL_ACTIONS = ("promote", "add_seeds")


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
    failed: bool = False  # a trial of it ended other than ok
    full_status: str = "ok"  # the last non-ok status at full fidelity, else ok
    confirm_tried: bool = False
    low_cost: tuple[float, float] | None = None  # the explore trial's (container s, s per epoch)
    seed_s: float | None = None  # container seconds per seed at full fidelity, measured
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

    def projected_s(self, n_train: int, n_seeds: int) -> float | None:
        """Container seconds for ``n_seeds`` seeds at full fidelity: measured when it ran there, else
        the explore trial's per-epoch time scaled by data and epochs plus its fixed cost (container
        start, imports, data loading). None when nothing was measured."""
        if self.seed_s is not None:
            return self.seed_s * n_seeds
        if self.low_cost is None or self.spec is None:
            return None
        wall, epoch_s = self.low_cost
        fixed = max(0.0, wall - self.spec.training.epochs * epoch_s)
        scale = n_train / (self.spec.subset_size or n_train)
        return fixed + n_seeds * self.full_epochs * epoch_s * scale


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
    candidates: Mapping[str, Candidate] = field(default_factory=lambda: MappingProxyType({}))
    best_id: str | None = None
    best_scores: tuple[float | None, ...] = ()

    @classmethod
    def build(cls, goal: Goal, checkpoints: tuple[int, ...], history: Iterable[TrialSummary] = (),
              n_test: int | None = None) -> Ledger:
        return cls(goal=goal, checkpoints=tuple(checkpoints), n_test=n_test).extend(history)

    @property
    def n_trials(self) -> int:
        return len(self.best_scores)

    @property
    def best(self) -> Candidate | None:
        """The candidate with the best full-fidelity mean over at least two seeds (the first on ties)."""
        return self.candidates[self.best_id] if self.best_id is not None else None

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
                       best_scores=(*self.best_scores, best))

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
        if p.action == "explore":
            cost = (t.wall_s, t.epoch_s) if t.wall_s is not None and t.epoch_s is not None else c.low_cost
            return replace(c, spec=p.spec, params=p.params, low=t.values.get(p.seeds[0]) if ok else None,
                           failed=not ok, low_cost=cost)
        if p.action in _FULL_ACTIONS:
            full = {**c.full, **t.values}
            bounds = {**c.test_bounds, **t.test_bounds}
            seed_s = c.seed_s
            if t.wall_s is not None:
                per_seed = t.wall_s / len(p.seeds)
                seed_s = per_seed if seed_s is None else max(seed_s, per_seed)
            return replace(c, promoted=True, full_spec=p.spec, full=full, test_bounds=bounds,
                           full_trials=(*c.full_trials, t.number), failed=c.failed or not ok,
                           full_status=c.full_status if ok else t.status, seed_s=seed_s,
                           score=self._score(full), decision=self.decide(full, None, bounds) if full else None)
        if p.action == "confirm":
            confirm = {**c.confirm, **t.values}
            bounds = {**c.confirm_test_bounds, **t.test_bounds}
            decision = self.decide(confirm, self.checkpoints[:1], bounds) if confirm else None
            return replace(c, confirm_tried=True, confirm=confirm, confirm_test_bounds=bounds,
                           confirm_trial=t.number, confirm_decision=decision)
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
