"""The offline planner: Optuna TPE over the typed space, successive halving over data and
epochs, and statistical racing (Benjamini-Hochberg) deciding which candidates get more seeds.

One step is one of:
- ``explore``: a new candidate at low fidelity (a stratified train subset, a third of its
  epochs, one seed): cheap, only used to rank. The first ones are each family's default
  configuration (``_space.default_params``), then TPE draws;
- ``promote``: every ``ETA`` explorations, an unpromoted candidate runs at full fidelity on the
  first checkpoint's seeds (0, 1, 2). Low fidelity ranks candidates within a family well, but not
  across families (an MLP learns faster from little data than a CNN that ends up better), so
  every family's best gets one full-fidelity look first, best low score first, except that the
  cheapest of those whose low score already clears the target goes before them all (any model
  that meets a threshold ends the run); after that the family with the best full-fidelity mean
  supplies the next candidate, its best low score;
- ``add_seeds``: candidates whose goal decision is still undecided and that Benjamini-Hochberg
  keeps among the promising (one-sided t-test against the target) get seeds up to the next
  checkpoint (5, then 10); when none is kept, only a candidate whose mean beats the target;
- ``confirm``: a candidate whose interval cleared the target is re-run on fresh seeds before
  anyone calls it the winner.
The planner never decides the goal; the study loop does, with ``scoring.decide_goal``.
With a time budget, ``promote`` and ``add_seeds`` skip a candidate whose projected cost (from its
measured epoch time, scaled to the full data and epochs) plus a confirmation would not fit in what
is left: a trial that cannot finish in time only spends the budget.
Deterministic: the sampler is rebuilt from the history with a seed derived from the planner seed.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import optuna
from scipy import stats

from ..scoring import CHECKPOINTS, Decision, benjamini_hochberg
from ..specs import TrialSpec
from ._base import BasePlanner, PlanContext, Proposal
from ._cost import EXPLORE_SPREAD, room_s, seeds_that_fit
from ._ledger import Candidate, Ledger
from ._space import default_params, families, suggest

ETA = 3  # successive-halving ratio: one promotion per three explorations
RACING_Q = 0.2  # Benjamini-Hochberg level for "promising enough to deserve more seeds"
CONFIRM_SEEDS = [1000, 1001, 1002]  # fresh seeds, never used for selection
MIN_SUBSET = 1000  # the low-fidelity subset never drops below this many training rows


def candidate_id(spec: TrialSpec) -> str:
    payload = {"model": spec.model.model_dump() if spec.model else None, "source": spec.source,
               "training": spec.training.model_dump()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def low_fidelity_subset(n_train: int) -> int | None:
    size = max(MIN_SUBSET, n_train // 8)
    return size if size < n_train else None


class SearchPlanner(BasePlanner):
    name = "search"

    def __init__(self, seed: int = 0, checkpoints: tuple[int, ...] = CHECKPOINTS):
        """``checkpoints``: the planned seed counts; ``(n,)`` means fixed ``--seeds n`` (no racing)."""
        self.seed = seed
        self.checkpoints = tuple(checkpoints)
        optuna.logging.set_verbosity(optuna.logging.WARNING)

    def propose(self, ctx: PlanContext) -> Proposal | None:
        return self.follow_up(ctx) or self._explore(ctx, self.ledger(ctx))

    def next_subset(self, ctx: PlanContext, proposal: Proposal) -> int | None:
        """After the exploration that completes a halving round, a promotion (the full data); after
        any other exploration, another one on the same subset; after a full-fidelity step, the full
        data (a confirmation or more seeds; a guess that misses when an exploration follows)."""
        if proposal.action != "explore":
            return None
        cands = self.ledger(ctx).candidates.values()
        explored = sum(1 for c in cands if c.spec is not None and c.low is not None) + 1  # this one, if ok
        promoted = sum(1 for c in cands if c.promoted)
        return None if explored >= ETA * (promoted + 1) else proposal.spec.subset_size

    def follow_up(self, ctx: PlanContext) -> Proposal | None:
        """The steps the statistics and the halving schedule drive (confirm, add seeds, promote), or
        None when it is time for a new candidate. The LLM planner defers to these too."""
        led = self.ledger(ctx)
        return (self._complete(ctx, led) or self._confirm(ctx, led) or self._add_seeds(ctx, led)
                or self._promote(ctx, led))

    def ledger(self, ctx: PlanContext) -> Ledger:
        """The run's ledger: the study's, or one built from the history (planner tests, replays)."""
        return ctx.ledger or Ledger.build(ctx.goal, self.checkpoints, ctx.history, n_train=ctx.n_train)

    # -- the five actions --------------------------------------------------------------------
    def _complete(self, ctx: PlanContext, led: Ledger) -> Proposal | None:
        """The seeds a candidate's trial did not finish (it ran out of time) or a split left for later:
        the same seed list and checkpoints as if they had run at once, never re-running a finished one."""
        first = self.checkpoints[0]
        for cid, c in led.candidates.items():
            if c.confirm_short(first):
                action, missing = "confirm", [k for k in self._fresh_seeds() if k not in c.confirm and k not in c.ran]
            elif missing := c.missing(self.checkpoints):
                action = "add_seeds"
            else:
                continue
            seeds, projected = self._sized(ctx, led, c, missing)
            if not seeds:  # not one seed fits what a trial may take: it stays as far as it got
                continue
            last = c.confirm_trial if action == "confirm" else c.full_trials[-1]
            why = (f"trial {last} ran out of time" if last in c.out_of_time
                   else "the last trial was split to fit the time a trial may take")
            split = f", split over trials (~{(projected or 0) / len(seeds):.0f} s a seed)" if seeds != missing else ""
            return Proposal(spec=c.full_spec, action=action, candidate=cid, seeds=seeds, rung=1, params=c.params,
                            projected_s=projected,
                            reason=f"{why}: {len(seeds)} of its {len(missing)} missing seeds{split}")
        return None

    def _confirm(self, ctx: PlanContext, led: Ledger) -> Proposal | None:
        achieved = [(cid, c) for cid, c in led.candidates.items() if c.full and not c.failed and not c.confirm_tried
                    and c.decision.decision == Decision.ACHIEVED]
        if not achieved:
            return None
        cid, c = max(achieved, key=lambda kv: ctx.goal.sign * kv[1].mean)
        seeds, projected = self._sized(ctx, led, c, self._fresh_seeds())
        if not seeds:
            return None
        split = f" ({len(seeds)} now, the rest in later trials)" if len(seeds) < self.checkpoints[0] else ""
        return Proposal(spec=c.full_spec, action="confirm", candidate=cid, seeds=seeds, rung=1, params=c.params,
                        projected_s=projected, reason=f"its interval cleared the target: re-run on fresh seeds{split}")

    def _add_seeds(self, ctx: PlanContext, led: Ledger) -> Proposal | None:
        cands = led.candidates
        open_ = [(cid, c) for cid, c in cands.items() if c.full and not c.failed and not c.confirm_tried
                 and c.decision.decision == Decision.UNDECIDED]
        if not open_:
            return None
        pvals = [self._p_above_target(ctx, list(c.full.values())) for _, c in open_]
        keep = benjamini_hochberg(pvals, RACING_Q).reject
        ranked = sorted(zip(pvals, keep, open_, strict=True), key=lambda x: x[0])
        # None kept: more seeds only for a mean above the target (p < 0.5); below it, more seeds
        # would mostly confirm a miss, and a new candidate is the better use of the time.
        chosen = [item for p, k, item in ranked if k] or [item for p, _, item in ranked[:1] if p < 0.5]
        for cid, c in chosen:  # noqa: B007 - the chosen one is used after the loop
            n = len(c.full)
            nxt = next((cp for cp in self.checkpoints if cp > n), None)
            if nxt is not None and self._fits(ctx, led, c, nxt - n):
                seeds, projected = self._sized(ctx, led, c, list(range(n, nxt)))
                if seeds:
                    break
        else:
            return None
        split = f" ({len(seeds)} now, the rest in later trials)" if len(seeds) < nxt - n else ""
        return Proposal(spec=c.full_spec, action="add_seeds", candidate=cid, seeds=seeds, rung=1, params=c.params,
                        projected_s=projected,
                        reason=f"undecided at {n} seeds and still promising: seeds up to {nxt}{split}")

    def _promote(self, ctx: PlanContext, led: Ledger) -> Proposal | None:
        cands = led.candidates
        explored = [c for c in cands.values() if c.spec is not None and c.low is not None]
        promoted = sum(1 for c in cands.values() if c.promoted)
        if len(explored) < ETA * (promoted + 1):
            return None
        waiting = [(cid, c) for cid, c in cands.items() if c.spec is not None and c.low is not None
                   and not c.promoted and self._fits(ctx, led, c, self.checkpoints[0])
                   and self._sized(ctx, led, c, [0])[0]]
        if not waiting:
            return None
        (cid, c), why = self._next_to_promote(ctx, led, waiting)
        full = c.spec.model_copy(update={"subset_size": None, "training": self._full_training(c)})
        first = self.checkpoints[0]
        seeds, projected = self._sized(ctx, led, c, list(range(first)))
        split = "" if len(seeds) == first else f" ({len(seeds)} now, the rest in later trials: a trial may take " \
                                                f"{room_s(ctx.trial_cap_s, ctx.budget_left_s):.0f} s)"
        return Proposal(spec=full, action="promote", candidate=cid, seeds=seeds, rung=1, params=c.params,
                        projected_s=projected, reason=f"{why} ({c.low:.4f} at low fidelity): full data, "
                                                      f"{full.training.epochs} epochs, {first} seeds{split}")

    def _explore(self, ctx: PlanContext, led: Ledger) -> Proposal | None:
        cands = led.candidates
        study = self._study(ctx, cands)
        fams = families(ctx.shape, ctx.goal.family)
        n_explored = sum(1 for c in cands.values() if c.params)
        if n_explored < len(fams):  # each family's defaults first, in the catalog's order
            study.enqueue_trial(default_params(fams[n_explored], ctx.shape, ctx.n_train))
        trial = study.ask()
        model, training = suggest(trial, ctx.shape, ctx.n_train, ctx.goal.family)
        full = TrialSpec(model=model, training=training, origin="search")
        low_epochs = max(1, training.epochs // 3)
        subset = low_fidelity_subset(ctx.n_train)
        low = full.model_copy(update={"training": training.model_copy(update={"epochs": low_epochs}),
                                      "subset_size": subset})
        projected = led.explore_wall_s * EXPLORE_SPREAD if led.explore_wall_s else None
        return Proposal(spec=low, action="explore", candidate=candidate_id(full), seeds=[0], rung=0,
                        subset_size=subset, params=_encode(trial), projected_s=projected,
                        reason=f"{'defaults' if n_explored < len(fams) else 'TPE proposal'} "
                               f"{len(cands) + 1}: {model.family}, low fidelity "
                               f"({subset or 'all'} rows, {low_epochs} epochs, 1 seed)")

    # -- helpers -----------------------------------------------------------------------------
    def _next_to_promote(self, ctx: PlanContext, led: Ledger, waiting):
        """Every family's best low score first (low fidelity does not rank across families), the
        cheapest whose low score already clears the target before the rest; then the best low score
        of the family whose full-fidelity mean is best."""
        sign, cands = ctx.goal.sign, led.candidates
        tried = {c.family for c in cands.values() if c.promoted}
        best: dict[str, tuple] = {}  # each unpromoted family's best low score
        for kv in waiting:
            family = kv[1].family
            if family not in tried and (family not in best or sign * kv[1].low > sign * best[family][1].low):
                best[family] = kv
        if best:
            if cheap := self._cheapest_clearing(ctx, led, list(best.values())):
                return cheap, (f"cheapest family best whose low-fidelity score clears the target: {cheap[1].family}, "
                               "its family's first full-fidelity look")
            pick = max(best.values(), key=lambda kv: sign * kv[1].low)
            return pick, f"best {pick[1].family} so far, its family's first full-fidelity look"
        full_mean: dict[str, float] = {}
        for c in cands.values():
            if c.promoted and c.full and not c.failed:
                m = sign * c.mean
                full_mean[c.family] = max(m, full_mean.get(c.family, -math.inf))
        pick = max(waiting, key=lambda kv: (full_mean.get(kv[1].family, -math.inf), sign * kv[1].low))
        return pick, f"next best {pick[1].family}, the family doing best at full fidelity"

    def _cheapest_clearing(self, ctx: PlanContext, led: Ledger, family_bests):
        """Of the family bests whose low-fidelity score already clears the target, the one projected
        cheapest at full fidelity: a goal is a threshold, and any model that meets it ends the run, so
        the one that costs least to promote and confirm goes first (low fidelity underrates all of
        them alike: fewer rows, a third of the epochs). None when none clears or none is measured."""
        sign, target, n = ctx.goal.sign, ctx.goal.target, self.checkpoints[0]
        costed = [(led.projected_s(kv[1], n), kv) for kv in family_bests if sign * kv[1].low >= sign * target]
        costed = [(cost, kv) for cost, kv in costed if cost is not None]
        if not costed:
            return None
        return min(costed, key=lambda ck: (ck[0], -sign * ck[1][1].low))[1]

    def _fits(self, ctx: PlanContext, led: Ledger, c: Candidate, n_seeds: int) -> bool:
        """Whether ``n_seeds`` more seeds plus a fresh-seed confirmation fit in the budget left."""
        if ctx.budget_left_s is None:
            return True
        cost = led.projected_s(c, n_seeds + self.checkpoints[0])  # _confirm runs checkpoints[0] seeds
        return cost is None or cost <= ctx.budget_left_s

    def _sized(self, ctx: PlanContext, led: Ledger, c: Candidate, seeds: list[int]) -> tuple[list[int], float | None]:
        """The first of ``seeds`` that fit one trial on this machine (its deadline is the projection
        times the safety factor, within ``--timeout`` and the budget), and their projected seconds."""
        cost = led.seed_cost(c)
        if cost is None:
            return seeds, None
        per, fixed = cost
        n = min(len(seeds), seeds_that_fit(per, fixed, room_s(ctx.trial_cap_s, ctx.budget_left_s)))
        return seeds[:n], (fixed + n * per if n else None)

    def _fresh_seeds(self) -> list[int]:
        """The confirmation's seeds: never used for selection."""
        return [CONFIRM_SEEDS[0] + i for i in range(self.checkpoints[0])]

    def _full_training(self, c: Candidate):
        return c.spec.training.model_copy(update={"epochs": c.full_epochs})

    def _p_above_target(self, ctx: PlanContext, values: list[float]) -> float:
        """One-sided p-value of H0 "the mean does not beat the target" (small = promising)."""
        arr = np.asarray(values, float) * ctx.goal.sign
        target = ctx.goal.target * ctx.goal.sign
        if len(arr) < 2:
            return 1.0
        sem = arr.std(ddof=1) / math.sqrt(len(arr))
        if sem == 0:
            return 0.0 if arr.mean() > target else 1.0
        return float(stats.t.sf((arr.mean() - target) / sem, df=len(arr) - 1))

    def _study(self, ctx: PlanContext, cands) -> optuna.Study:
        """A fresh TPE study told the history in order: deterministic, and rebuilt on resume."""
        n_told = sum(1 for c in cands.values() if c.params)
        sampler = optuna.samplers.TPESampler(seed=self.seed * 1_000_003 + n_told, n_startup_trials=5)
        direction = "maximize" if ctx.goal.higher_is_better else "minimize"
        study = optuna.create_study(direction=direction, sampler=sampler)
        worst = 0.0 if ctx.goal.higher_is_better else 1e6  # failed trials teach TPE to look elsewhere
        for c in cands.values():
            if not c.params or c.spec is None:
                continue
            value = c.low if c.low is not None else worst
            if c.full and not c.failed:
                value = float(np.mean(list(c.full.values())))
            values, dists = _decode(c.params)
            study.add_trial(optuna.trial.create_trial(params=values, distributions=dists, value=value))
        return study


def _encode(trial) -> dict:
    """The sampler's parameters with their distributions (JSON), so a resumed run can re-tell them."""
    dists = {k: optuna.distributions.distribution_to_json(v) for k, v in trial.distributions.items()}
    return {"values": dict(trial.params), "distributions": dists}


def _decode(params: dict) -> tuple[dict, dict]:
    dists = {k: optuna.distributions.json_to_distribution(v) for k, v in params["distributions"].items()}
    return dict(params["values"]), dists
