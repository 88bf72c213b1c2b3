"""`eval --seeds N --target T` and `run --seeds N` decide a goal by the same rule on the same values."""

from __future__ import annotations

import pytest

from agent.config import EvalConfig
from agent.data import prepare
from agent.planner import Ledger
from agent.records import TrialStatus
from agent.results import SeedResult
from agent.specs import Goal
from agent.study import StudyConfig
from agent.trial._run import _Trial

# One look at 3 seeds with all of alpha clears 0.9; split over (3, 5, 10) it does not.
VALUES = [0.93, 0.95, 0.97]


def _eval_goal(seeds, data, values):
    config = EvalConfig(dataset="digits", seeds=seeds, target=0.9)
    trial = _Trial("m.py", "", config, data)
    trial.seeds = [SeedResult(seed=i, status=TrialStatus.OK, message="", metrics={"accuracy": v}, curves={})
                   for i, v in enumerate(values)]
    return trial.goal()


@pytest.mark.parametrize(("seeds", "checkpoints"), [(3, (3,)), ("auto", (3, 5, 10))])
def test_eval_and_run_decide_alike(tmp_path, seeds, checkpoints):
    data = prepare("digits", tmp_path)
    goal = Goal(dataset="digits", target=0.9)
    assert StudyConfig(goal=goal, seeds=seeds).seeds == seeds  # what `run --seeds` stores
    ledger = Ledger.build(goal, checkpoints, n_test=data.n_test)
    by_eval = _eval_goal(seeds, data, VALUES)
    by_run = ledger.decide(dict(enumerate(VALUES)))
    assert (by_eval.decision, by_eval.checkpoint, by_eval.lower_bound) == (
        by_run.decision.value, by_run.checkpoint, by_run.lower_bound)
    assert by_eval.alpha_per_checkpoint == pytest.approx(0.05 / len(checkpoints))


def test_a_fixed_seed_count_spends_all_of_alpha_at_its_one_look(tmp_path):
    data = prepare("digits", tmp_path)
    fixed, auto = _eval_goal(3, data, VALUES), _eval_goal("auto", data, VALUES)
    assert fixed.decision == "achieved" and fixed.alpha_per_checkpoint == pytest.approx(0.05)
    assert auto.decision == "undecided" and auto.next_checkpoint == 5  # the same values, a stricter plan
