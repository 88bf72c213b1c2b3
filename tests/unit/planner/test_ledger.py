"""The one ledger of candidates: built a trial at a time, it equals the ledger built at once."""

from __future__ import annotations

import math

from agent.planner import Ledger, Proposal, TrialSummary
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
