"""The offline planner: deterministic, halving then racing then confirmation, learns from failures."""

from __future__ import annotations

import pytest

from agent.planner import CONFIRM_SEEDS, ETA, Goal, PlanContext, SearchPlanner, TrialSummary
from agent.specs import DataShape

SHAPE = DataShape(modality="image", input_shape=(1, 8, 8), n_classes=10)
GOAL = Goal(dataset="digits", target=0.95)


def drive(planner, outcome, steps, goal=GOAL, n_train=1212):
    """Run ``steps`` proposals, answering each with ``outcome(proposal) -> (status, {seed: value})``."""
    history, proposals = [], []
    for number in range(1, steps + 1):
        prop = planner.propose(PlanContext(goal=goal, shape=SHAPE, n_train=n_train, history=history))
        if prop is None:
            break
        status, values = outcome(prop)
        history.append(TrialSummary(number=number, proposal=prop, status=status, values=values))
        proposals.append(prop)
    return proposals


def fixed(value):
    return lambda prop: ("ok", {s: value + 0.001 * (s % 3) for s in prop.seeds})


def test_same_seed_same_history_same_proposals():
    a = drive(SearchPlanner(seed=7), fixed(0.9), 8)
    b = drive(SearchPlanner(seed=7), fixed(0.9), 8)
    assert [p.model_dump() for p in a] == [p.model_dump() for p in b]
    c = drive(SearchPlanner(seed=8), fixed(0.9), 8)
    assert [p.params for p in a] != [p.params for p in c]


def test_halving_then_confirmation_for_a_clear_winner():
    proposals = drive(SearchPlanner(seed=0), fixed(0.98), 6)
    actions = [p.action for p in proposals]
    assert actions[:ETA] == ["explore"] * ETA
    assert actions[ETA] == "promote" and proposals[ETA].seeds == [0, 1, 2]
    assert proposals[ETA].subset_size is None and proposals[ETA].spec.subset_size is None
    assert actions[ETA + 1] == "confirm" and proposals[ETA + 1].seeds == CONFIRM_SEEDS
    # low fidelity really is cheaper: fewer epochs and a training subset
    low = proposals[0].spec
    assert low.subset_size == 1000 and low.training.epochs <= proposals[ETA].spec.training.epochs


def test_undecided_candidates_race_for_more_seeds():
    # Values straddling the target: the interval cannot decide at 3 seeds.
    def noisy(prop):
        return "ok", {s: 0.95 + (0.02 if s % 2 else -0.015) for s in prop.seeds}

    proposals = drive(SearchPlanner(seed=1), noisy, 6)
    add = [p for p in proposals if p.action == "add_seeds"]
    assert add and add[0].seeds == [3, 4]
    assert len(add) < 2 or add[1].seeds == list(range(5, 10))


def test_clear_loser_gets_no_more_seeds():
    proposals = drive(SearchPlanner(seed=2), fixed(0.5), 8)
    assert "add_seeds" not in {p.action for p in proposals}
    assert "confirm" not in {p.action for p in proposals}


def test_failed_trials_are_learned_from_not_fatal():
    def fail_resnets(prop):
        if prop.spec.model.family == "resnet":
            return "crashed", {}
        return "ok", {s: 0.9 for s in prop.seeds}

    proposals = drive(SearchPlanner(seed=3), fail_resnets, 12)
    assert len(proposals) == 12
    promoted = [p for p in proposals if p.action == "promote"]
    assert promoted and all(p.spec.model.family != "resnet" for p in promoted)


def test_family_hint_restricts_the_space():
    proposals = drive(SearchPlanner(seed=4), fixed(0.9), 5, goal=GOAL.model_copy(update={"family": "cnn"}))
    assert {p.spec.model.family for p in proposals} == {"cnn"}


@pytest.mark.parametrize("n_train", [1212, 60_000])
def test_low_fidelity_epochs_and_subset(n_train):
    prop = drive(SearchPlanner(seed=5), fixed(0.9), 1, n_train=n_train)[0]
    full_epochs = prop.params["values"]["epochs"]
    assert prop.spec.training.epochs == max(1, full_epochs // 3)
    assert prop.spec.subset_size == (1000 if n_train == 1212 else 7500)
