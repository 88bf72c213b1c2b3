"""The one ledger of candidates: built a trial at a time, it equals the ledger built at once."""

from __future__ import annotations

import math

import pytest

from agent.planner import Ledger, Proposal, TrialSummary
from agent.planner._ledger import PRIOR_COST_RATIO
from agent.scoring import Decision
from agent.specs import Goal, MLPSpec, TrainingSpec, TrialSpec

GOAL = Goal(dataset="digits", metric="accuracy", target=0.9)


def _trial(number: int, action: str, cand: str, values: dict[int, float], status: str = "ok",
           bounds: dict | None = None) -> TrialSummary:
    spec = TrialSpec(model=MLPSpec(depth=1, width=32), training=TrainingSpec(epochs=3), origin="search")
    proposal = Proposal(spec=spec, action=action, candidate=cand, seeds=sorted(values) or [0])
    return TrialSummary(number=number, proposal=proposal, status=status, values=values, wall_s=3.0,
                        test_bounds=bounds or {})


HISTORY = [
    _trial(1, "explore", "a", {0: 0.80}), _trial(2, "explore", "b", {0: 0.85}),
    _trial(3, "promote", "a", {0: 0.90, 1: 0.91, 2: 0.92}), _trial(4, "promote", "b", {0: 0.95, 1: 0.96, 2: 0.97}),
    _trial(5, "add_seeds", "a", {3: 0.90, 4: 0.93}), _trial(6, "promote", "c", {}, status="crashed"),
    _trial(7, "confirm", "b", {1000: 0.96, 1001: 0.95, 1002: 0.97}),
]


def test_adding_trials_one_at_a_time_equals_building_at_once():
    ledger = Ledger.build(GOAL, (3, 5, 10), n_test=360)
    for t in HISTORY:
        ledger = ledger.add(t)
    assert ledger == Ledger.build(GOAL, (3, 5, 10), HISTORY, n_test=360)
    assert ledger.n_trials == 7 and list(ledger.candidates) == ["a", "b", "c"]


def test_the_best_the_decisions_and_the_confirmation():
    ledger = Ledger.build(GOAL, (3, 5, 10), HISTORY, n_test=360)
    assert ledger.best.id == "b" and ledger.best.full_trials == (4,)
    a = ledger.candidates["a"]
    assert a.full == {0: 0.90, 1: 0.91, 2: 0.92, 3: 0.90, 4: 0.93} and a.full_trials == (3, 5)
    assert a.decision.n == 5 and a.decision.decision == ledger.decide(a.full).decision
    assert ledger.candidates["c"].failed and ledger.candidates["c"].full_status == "crashed"
    assert ledger.achieved() is ledger.candidates["b"]  # fresh seeds cleared the target at one look
    assert [c.id for c in ledger.ranked()] == ["b", "a"]


def test_the_best_is_rescanned_when_its_own_score_drops():
    ledger = Ledger.build(GOAL, (3, 5, 10), HISTORY[:4])
    assert ledger.best.id == "b"
    worse = ledger.add(_trial(5, "add_seeds", "b", {3: 0.10, 4: 0.10}))
    assert worse.best.id == "a" and worse.best_scores[-1] == worse.candidates["a"].score


def test_patience_looks_back_at_the_best_score_patience_trials_ago():
    ledger = Ledger.build(GOAL, (3, 5, 10), HISTORY[:4])
    stale = ledger.extend([_trial(5 + i, "explore", f"x{i}", {0: 0.5}) for i in range(3)])
    assert stale.stale(3) and not stale.stale(4)


def test_a_seed_whose_bootstrap_failed_supports_no_claim():
    goal = Goal(dataset="digits", metric="f1_macro", target=0.5)
    ledger = Ledger.build(goal, (3,), n_test=360)
    values = {0: 0.90, 1: 0.91, 2: 0.92}
    bounds = {0: (0.85, 0.95), 1: (0.86, 0.96), 2: (0.87, 0.97)}
    assert ledger.decide(values, None, bounds).decision == Decision.ACHIEVED
    failed = bounds | {2: (math.nan, math.nan)}
    assert ledger.decide(values, None, failed).decision != Decision.ACHIEVED


# -- running out of time, and what trials cost on this machine ------------------------------------
N_TRAIN = 8000  # the explore trial below ran on 1000 rows: full-data seeds take 8x its epochs' time
LOW = TrialSpec(model=MLPSpec(depth=1, width=32), training=TrainingSpec(epochs=2), subset_size=1000, origin="search")
FULL = LOW.model_copy(update={"subset_size": None, "training": TrainingSpec(epochs=6)})
PER_SEED, FIXED = 6 * 2.0 * 8, 10.0 - 2 * 2.0  # 6 full epochs x 2 s x 8; the explore wall beyond its epochs


def _explored(number: int, cand: str, value: float = 0.8) -> TrialSummary:
    proposal = Proposal(spec=LOW, action="explore", candidate=cand, seeds=[0], params={"values": {"epochs": 6}})
    return TrialSummary(number=number, proposal=proposal, status="ok", values={0: value}, wall_s=10.0, epoch_s=2.0)


def _ran(number: int, action: str, cand: str, seeds: list[int], values: dict[int, float], status: str = "ok",
         wall_s: float | None = 100.0, seed_s: float | None = 30.0) -> TrialSummary:
    """A full-fidelity trial; ``seed_s``: its slowest finished seed's training seconds (none finished: None)."""
    proposal = Proposal(spec=FULL, action=action, candidate=cand, seeds=seeds, rung=1)
    return TrialSummary(number=number, proposal=proposal, status=status, values=values, wall_s=wall_s,
                        seed_s=seed_s if values else None)


def _ledger(*trials: TrialSummary, n_train: int | None = N_TRAIN) -> Ledger:
    return Ledger.build(GOAL, (3, 5, 10), [_explored(1, "a"), _explored(2, "b"), *trials], n_train=n_train)


@pytest.mark.parametrize("status", ["timeout", "interrupted"])
def test_a_promote_that_ran_out_of_time_keeps_its_finished_seed_and_misses_the_rest(status):
    ledger = _ledger(_ran(3, "promote", "a", [0, 1, 2], {0: 0.91}, status=status, wall_s=250.0, seed_s=100.0))
    a = ledger.candidates["a"]
    assert a.full == {0: 0.91} and a.full_trials == (3,) and a.promoted
    assert not a.failed  # before: any status but ok marked the candidate failed, its finished seed lost
    assert a.full_status == status and a.out_of_time == (3,)
    assert a.missing(ledger.checkpoints) == [1, 2]
    # the finished seed is a measurement; the cut seed's 150 s count as the container's (an overestimate)
    assert ledger.seed_cost(a) == (100.0, 150.0)
    assert ledger.cost_ratios == pytest.approx((100.0 / PER_SEED,))


def test_once_the_missing_seeds_ran_nothing_is_missing():
    ledger = _ledger(_ran(3, "promote", "a", [0, 1, 2], {0: 0.91}, status="timeout"),
                     _ran(4, "add_seeds", "a", [1], {1: 0.92}), _ran(5, "add_seeds", "a", [2], {2: 0.93}))
    a = ledger.candidates["a"]
    assert a.full == {0: 0.91, 1: 0.92, 2: 0.93} and a.missing(ledger.checkpoints) == []
    assert a.decision.n == 3 and a.score == pytest.approx(0.92)
    split = _ledger(_ran(3, "promote", "a", [0, 1, 2], {0: 0.91, 1: 0.92, 2: 0.93}),
                    _ran(4, "add_seeds", "a", [3], {3: 0.9}))
    assert split.candidates["a"].missing(split.checkpoints) == [4]  # the rest of a split up to 5 seeds


@pytest.mark.parametrize(("status", "values"), [("oom", {}), ("crashed", {0: 0.9})])
def test_a_trial_that_broke_still_marks_its_candidate_failed(status, values):
    ledger = _ledger(_ran(3, "promote", "a", [0, 1, 2], values, status=status))
    a = ledger.candidates["a"]
    assert a.failed and a.full_status == status and a.out_of_time == ()
    assert a.missing(ledger.checkpoints) == []  # a broken model is not completed


def test_a_timeout_before_any_seed_finished_is_a_floor_for_the_seed_and_the_machine():
    ledger = _ledger(_ran(3, "promote", "a", [0, 1, 2], {}, status="timeout", wall_s=300.0))
    a, b = ledger.candidates["a"], ledger.candidates["b"]
    assert a.full == {} and not a.failed and a.missing(ledger.checkpoints) == [0, 1, 2]
    assert a.seed_floor_s == 300.0 and a.seed_s is None
    # one seed ran 300 s and did not finish: 294 s of epochs against a projection of 96 s per seed
    assert ledger.cost_floor == pytest.approx((300.0 - FIXED) / PER_SEED)
    assert ledger.cost_ratio == pytest.approx(3.0625)  # above the prior: this machine is slower
    per, fixed = ledger.seed_cost(a)
    assert per >= 300.0 * 1.5 and fixed == FIXED  # never planned at what already was not enough
    assert ledger.seed_cost(b) == pytest.approx((PER_SEED * 3.0625, FIXED))  # the others learn it too


def test_an_ok_full_data_trial_teaches_the_machines_cost_ratio():
    seed = PER_SEED * 1.2  # the seeds took 1.2x the scaled projection
    ledger = _ledger(_ran(3, "promote", "a", [0, 1, 2], {0: 0.9, 1: 0.91, 2: 0.92}, wall_s=20 + 3 * seed,
                          seed_s=seed))
    assert ledger.cost_ratios == pytest.approx((1.2,)) and ledger.cost_ratio == pytest.approx(1.2)
    assert ledger.seed_cost(ledger.candidates["b"]) == pytest.approx((PER_SEED * 1.2, FIXED))
    assert ledger.seed_cost(ledger.candidates["a"]) == pytest.approx((seed, 20.0))  # measured, no guess
    again = ledger.add(_ran(4, "add_seeds", "a", [3, 4], {3: 0.9, 4: 0.9}, wall_s=1000.0, seed_s=400.0))
    assert again.cost_ratios == ledger.cost_ratios  # a measured candidate is no sample of the projection


def test_before_any_full_data_trial_the_prior_ratio_corrects_the_projection():
    ledger = _ledger()
    a = ledger.candidates["a"]
    assert ledger.cost_ratios == () and ledger.cost_floor == 0.0
    assert ledger.cost_ratio == PRIOR_COST_RATIO
    assert a.scaled_cost(N_TRAIN) == pytest.approx((PER_SEED, FIXED))
    assert ledger.seed_cost(a) == pytest.approx((PER_SEED * PRIOR_COST_RATIO, FIXED))
    assert ledger.projected_s(a, 3) == pytest.approx(FIXED + 3 * PER_SEED * PRIOR_COST_RATIO)
    assert ledger.explore_wall_s == 10.0
    unknown = _ledger(n_train=None)  # nothing to scale to: no projection, rather than a wrong one
    a = unknown.candidates["a"]
    assert unknown.seed_cost(a) is None and unknown.projected_s(a, 3) is None


def _confirmed(*confirms: TrialSummary) -> Ledger:
    return _ledger(_ran(3, "promote", "a", [0, 1, 2], {0: 0.97, 1: 0.975, 2: 0.98}), *confirms)


def test_a_confirmation_that_ran_out_of_time_is_short_of_fresh_seeds():
    ledger = _confirmed(_ran(4, "confirm", "a", [1000, 1001, 1002], {1000: 0.97}, status="timeout"))
    a = ledger.candidates["a"]
    assert a.confirm == {1000: 0.97} and a.confirm_tried and not a.confirm_failed
    assert a.confirm_short(3) == 2 and a.out_of_time == (4,)
    assert ledger.achieved() is None  # one fresh seed claims nothing
    done = ledger.add(_ran(5, "confirm", "a", [1001, 1002], {1001: 0.975, 1002: 0.98}))
    assert done.candidates["a"].confirm_short(3) == 0 and done.candidates["a"].confirm_trial == 5
    assert done.achieved() is done.candidates["a"]  # the fresh seeds of both trials together


def test_a_confirmation_that_broke_is_not_completed():
    ledger = _confirmed(_ran(4, "confirm", "a", [1000, 1001, 1002], {1000: 0.97}, status="oom"))
    a = ledger.candidates["a"]
    assert a.confirm_failed and a.confirm_short(3) == 0
    assert _confirmed().candidates["a"].confirm_short(3) == 0  # never tried: nothing short either


def test_a_candidate_that_runs_out_of_time_twice_without_a_seed_is_given_up():
    once = _ledger(_ran(3, "promote", "a", [0, 1, 2], {}, status="timeout", wall_s=300.0))
    assert not once.candidates["a"].failed and once.candidates["a"].stalled == 1
    twice = once.add(_ran(4, "add_seeds", "a", [0], {}, status="timeout", wall_s=700.0))
    a = twice.candidates["a"]
    assert a.failed and a.missing(twice.checkpoints) == []  # too slow for what a trial may take, not unlucky
    progress = once.add(_ran(4, "add_seeds", "a", [0], {0: 0.9}, status="timeout", wall_s=700.0))
    assert progress.candidates["a"].stalled == 0 and not progress.candidates["a"].failed


def test_a_measured_seed_lifts_an_older_candidates_floor_on_the_machine():
    slow = _ledger(_ran(3, "promote", "a", [0, 1, 2], {}, status="timeout", wall_s=300.0))
    assert slow.cost_ratio > 3
    measured = slow.add(_ran(4, "promote", "b", [0, 1, 2], {0: 0.9, 1: 0.9, 2: 0.9}, seed_s=PER_SEED * 1.1))
    assert measured.cost_floor == 0.0 and measured.cost_ratio == pytest.approx(1.1)
