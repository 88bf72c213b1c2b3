"""The offline planner: deterministic, halving then racing then confirmation, learns from failures."""

from __future__ import annotations

import optuna
import pytest

from agent.planner import CONFIRM_SEEDS, ETA, Goal, PlanContext, SearchPlanner, TrialSummary
from agent.planner._space import default_params, suggest
from agent.specs import DataShape

SHAPE = DataShape(modality="image", input_shape=(1, 8, 8), n_classes=10)
GOAL = Goal(dataset="digits", target=0.95)


def drive(planner, outcome, steps, goal=GOAL, n_train=1212, shape=SHAPE, cost=None, budget_left_s=None):
    """Run ``steps`` proposals, answering each with ``outcome(proposal) -> (status, {seed: value})``;
    ``cost(proposal) -> (container s, s per epoch)`` when given."""
    history, proposals = [], []
    for number in range(1, steps + 1):
        prop = planner.propose(PlanContext(goal=goal, shape=shape, n_train=n_train, history=history,
                                           budget_left_s=budget_left_s))
        if prop is None:
            break
        status, values = outcome(prop)
        wall_s, epoch_s = cost(prop) if cost else (None, None)
        history.append(TrialSummary(number=number, proposal=prop, status=status, values=values, wall_s=wall_s,
                                    epoch_s=epoch_s))
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
    # Values straddling the target with the mean above it: the interval cannot decide at 3 seeds.
    def noisy(prop):
        return "ok", {s: 0.95 + (-0.015 if s % 2 else 0.02) for s in prop.seeds}

    proposals = drive(SearchPlanner(seed=1), noisy, 6)
    add = [p for p in proposals if p.action == "add_seeds"]
    assert add and add[0].seeds == [3, 4]
    assert len(add) < 2 or add[1].seeds == list(range(5, 10))


def test_undecided_but_below_the_target_gets_no_more_seeds():
    # The same spread with the mean below the target: undecided, but not worth more seeds.
    def noisy(prop):
        return "ok", {s: 0.95 + (0.02 if s % 2 else -0.015) for s in prop.seeds}

    proposals = drive(SearchPlanner(seed=1), noisy, 8)
    assert "add_seeds" not in {p.action for p in proposals}
    assert [p.action for p in proposals].count("promote") >= 2  # the time goes to other candidates


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


FASHION = DataShape(modality="image", input_shape=(1, 28, 28), n_classes=10)
FASHION_GOAL = Goal(dataset="fashion-mnist", target=0.90)


def by_family(low: dict, full: dict):
    """Scores per family: ``low`` at low fidelity (a subset), ``full`` at full fidelity."""
    def outcome(prop):
        table = low if prop.spec.subset_size else full
        return "ok", {s: table[prop.spec.model.family] + 0.001 * (s % 3) for s in prop.seeds}
    return outcome


def test_each_family_default_is_explored_first():
    proposals = drive(SearchPlanner(seed=6), fixed(0.5), 5, shape=FASHION, n_train=54_000)
    firsts = proposals[:3]
    assert [p.spec.model.family for p in firsts] == ["cnn", "resnet", "mlp"]
    for p in firsts:
        values = p.params["values"]
        assert values == default_params(p.spec.model.family, FASHION, 54_000)
        assert p.spec.model == type(p.spec.model)()  # the spec's own defaults
        assert p.spec.training.schedule == "cosine" and p.spec.training.optimizer == "adam"
        assert "defaults" in p.reason
    assert proposals[3].action == "promote"
    later = [p for p in proposals[4:] if p.action == "explore"]
    assert later and "TPE" in later[0].reason
    assert later[0].params["values"] != default_params(later[0].spec.model.family, FASHION, 54_000)


def test_a_family_hint_starts_from_that_familys_default():
    proposals = drive(SearchPlanner(seed=6), fixed(0.5), 1, goal=GOAL.model_copy(update={"family": "resnet"}))
    assert proposals[0].params["values"] == default_params("resnet", SHAPE, 1212)


@pytest.mark.parametrize("family", ["mlp", "cnn", "resnet", "text_cnn", "transformer"])
def test_default_params_lie_inside_the_search_space(family):
    """An enqueued value outside its distribution would be silently replaced by a draw."""
    shape = (DataShape(modality="text", input_shape=(64,), n_classes=2, vocab_size=500, pad_id=0)
             if family in ("text_cnn", "transformer") else SHAPE)
    params = default_params(family, shape, 1212)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.enqueue_trial(params)
    trial = study.ask()
    model, training = suggest(trial, shape, 1212, family)
    assert trial.params == params
    assert model.family == family and training.epochs == 20


def test_every_family_gets_a_full_fidelity_look_before_low_scores_decide():
    """MLPs win at low fidelity, CNNs at full: the CNN family still gets promoted, and wins."""
    outcome = by_family(low={"mlp": 0.86, "cnn": 0.84, "resnet": 0.80}, full={"mlp": 0.89, "cnn": 0.93, "resnet": 0.91})
    proposals = drive(SearchPlanner(seed=9), outcome, 14, goal=FASHION_GOAL, shape=FASHION, n_train=54_000)
    promoted = [p.spec.model.family for p in proposals if p.action == "promote"]
    assert promoted[:1] == ["mlp"]  # the best low score goes first
    assert "cnn" in promoted[:3]
    confirm = [p for p in proposals if p.action == "confirm"]
    assert confirm and confirm[0].spec.model.family == "cnn"


def test_after_every_family_the_best_full_fidelity_family_supplies_promotions():
    outcome = by_family(low={"mlp": 0.86, "cnn": 0.84, "resnet": 0.80}, full={"mlp": 0.85, "cnn": 0.88, "resnet": 0.70})
    proposals = drive(SearchPlanner(seed=9), outcome, 30, goal=FASHION_GOAL, shape=FASHION, n_train=54_000)
    promoted = [p.spec.model.family for p in proposals if p.action == "promote"]
    assert sorted(promoted[:3]) == ["cnn", "mlp", "resnet"]
    assert len(promoted) > 3 and set(promoted[3:]) == {"cnn"}


def _costs(per_epoch: dict):
    """Container seconds = 5 s fixed + epochs x seeds x the family's epoch time (x8 on all the data)."""
    def cost(prop):
        epoch = per_epoch[prop.spec.model.family] * (1 if prop.spec.subset_size else 8)
        return 5 + epoch * prop.spec.training.epochs * len(prop.seeds), epoch
    return cost


def test_a_candidate_that_cannot_finish_in_the_budget_is_not_promoted():
    outcome = by_family(low={"mlp": 0.80, "cnn": 0.84, "resnet": 0.86}, full={"mlp": 0.85, "cnn": 0.93, "resnet": 0.95})
    cost = _costs({"mlp": 0.3, "cnn": 3.0, "resnet": 18.0})
    # resnet: 5 + 6 seeds x 5 epochs x 144 s = 4325 s projected for promote + confirm; cnn: 725 s.
    tight = drive(SearchPlanner(seed=9), outcome, 4, goal=FASHION_GOAL, shape=FASHION, n_train=54_000, cost=cost,
                  budget_left_s=1800)
    assert tight[3].action == "promote" and tight[3].spec.model.family == "cnn"
    free = drive(SearchPlanner(seed=9), outcome, 4, goal=FASHION_GOAL, shape=FASHION, n_train=54_000, cost=cost)
    assert free[3].action == "promote" and free[3].spec.model.family == "resnet"
    nothing_fits = drive(SearchPlanner(seed=9), outcome, 4, goal=FASHION_GOAL, shape=FASHION, n_train=54_000,
                         cost=cost, budget_left_s=60)
    assert [p.action for p in nothing_fits] == ["explore"] * 4
