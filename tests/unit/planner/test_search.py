"""The offline planner: deterministic, halving then racing then confirmation, learns from failures."""

from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest

from agent.planner import CONFIRM_SEEDS, ETA, Goal, PlanContext, SearchPlanner, TrialSummary, summary_of
from agent.planner._space import default_params, suggest
from agent.records import TrialStatus
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


# -- trials that run out of time, and trials sized to fit -----------------------------------------
SLOW = _costs({"mlp": 6.0, "cnn": 30.0, "resnet": 60.0})  # mlp: 12 s explore, 240 s per full-data seed
MLP_FIRST = by_family(low={"mlp": 0.86, "cnn": 0.84, "resnet": 0.80}, full={"mlp": 0.89, "cnn": 0.93, "resnet": 0.91})


def plan(history, cap=None, left=None):
    """The next proposal for a Fashion-MNIST history, with ``--timeout cap`` and ``left`` s of budget."""
    return SearchPlanner(seed=9).propose(PlanContext(goal=FASHION_GOAL, shape=FASHION, n_train=54_000,
                                                     history=history, budget_left_s=left, trial_cap_s=cap))


def answer(history, prop, status="ok", values=None, wall_s=None):
    """``history`` plus ``prop`` run: ok seeds by family unless ``values``; its wall from SLOW unless given;
    each finished seed trained its epochs at SLOW's epoch time (summary_of's seed_s)."""
    values = MLP_FIRST(prop)[1] if values is None else values
    wall, epoch = SLOW(prop)
    seed_s = epoch * prop.spec.training.epochs if values else None
    return [*history, TrialSummary(number=len(history) + 1, proposal=prop, status=status, values=values,
                                   wall_s=wall if wall_s is None else wall_s, epoch_s=epoch, seed_s=seed_s)]


def explored(cap=None):
    """Three explore trials, then the promotion the planner proposes next (the mlp)."""
    history = []
    for _ in range(ETA):
        history = answer(history, plan(history, cap))
    return history, plan(history, cap)


def test_a_promote_that_ran_out_of_time_gets_exactly_its_missing_seeds():
    history, promote = explored()
    assert promote.action == "promote" and promote.seeds == [0, 1, 2] and promote.spec.model.family == "mlp"
    history = answer(history, promote, "timeout", {0: 0.89}, wall_s=400.0)  # seed 1 was cut, seed 2 never ran
    nxt = plan(history)
    assert nxt.action == "add_seeds" and nxt.candidate == promote.candidate and nxt.spec == promote.spec
    assert nxt.seeds == [1, 2]  # never seed 0 again: it finished
    assert "trial 4 ran out of time" in nxt.reason and "2 of its 2 missing seeds" in nxt.reason
    assert "split" not in nxt.reason
    # seed 0 trained 240 s; the other 160 s of the container (seed 1's part too) count as fixed
    assert nxt.projected_s == pytest.approx(160 + 2 * 240.0)
    history = answer(history, nxt, values={1: 0.891, 2: 0.892})
    after = plan(history)
    assert not (after.candidate == promote.candidate and set(after.seeds) & {0, 1, 2})


def test_missing_seeds_that_do_not_fit_one_trial_are_split_over_trials():
    history, promote = explored()
    history = answer(history, promote, "timeout", {0: 0.89}, wall_s=400.0)
    nxt = plan(history, cap=700)  # 700 s / 1.5 fits 160 s + one 240 s seed, not two
    assert nxt.action == "add_seeds" and nxt.seeds == [1] and nxt.projected_s == pytest.approx(400.0)
    assert "trial 4 ran out of time: 1 of its 2 missing seeds, split over trials (~400 s a seed)" in nxt.reason
    history = answer(history, nxt, values={1: 0.891})
    last = plan(history, cap=700)
    assert last.action == "add_seeds" and last.candidate == promote.candidate and last.seeds == [2]
    assert "split over trials" not in last.reason and "the last trial was split" in last.reason
    history = answer(history, last, values={2: 0.892})
    assert plan(history, cap=700).candidate != promote.candidate  # nothing missing any more


def test_a_budget_too_short_for_one_missing_seed_leaves_the_candidate_where_it_got():
    history, promote = explored()
    history = answer(history, promote, "timeout", {0: 0.89}, wall_s=400.0)
    nxt = plan(history, left=500)  # 560 s with the grace: 160 s + one 240 s seed need 600
    assert nxt.candidate != promote.candidate and nxt.action == "explore"


def test_a_seed_that_did_not_finish_is_never_planned_again_at_the_same_cost():
    history, promote = explored(cap=600)
    assert promote.seeds == [0]  # 5 s + 312 s projected: one seed fits 600 s at the safety factor
    history = answer(history, promote, "timeout", {}, wall_s=600.0)  # it did not finish in the whole cap
    nxt = plan(history, cap=600)
    assert nxt.candidate != promote.candidate  # the same 600 s would cut it again: it is not re-proposed
    free = plan(history)  # without --timeout: all three, each planned at 1.5x the 600 s that did not suffice
    assert free.action == "add_seeds" and free.candidate == promote.candidate and free.seeds == [0, 1, 2]
    assert free.projected_s >= 3 * 600.0 * 1.5 and "trial 4 ran out of time" in free.reason


def test_a_promote_whose_seeds_do_not_fit_the_cap_is_split():
    history, full = explored()
    per = (full.projected_s - 5) / 3  # 240 s scaled x the prior ratio; 5 s fixed per container
    cap = 1.5 * (5 + 2.5 * per)  # two seeds fit, three do not
    promote = plan(history, cap=cap)
    assert promote.action == "promote" and promote.candidate == full.candidate
    assert promote.seeds == [0, 1] and promote.projected_s == pytest.approx(5 + 2 * per)
    assert f"(2 now, the rest in later trials: a trial may take {cap:.0f} s)" in promote.reason
    history = answer(history, promote)
    rest = plan(history, cap=cap)
    assert rest.action == "add_seeds" and rest.candidate == full.candidate and rest.seeds == [2]
    assert "the last trial was split to fit the time a trial may take" in rest.reason


def test_a_confirmation_that_ran_out_of_time_gets_its_missing_fresh_seeds():
    history, promote = explored()
    history = answer(history, promote, values={0: 0.98, 1: 0.981, 2: 0.982}, wall_s=750.0)
    confirm = plan(history)
    assert confirm.action == "confirm" and confirm.seeds == CONFIRM_SEEDS
    assert confirm.projected_s == pytest.approx(750.0)  # three seeds at the measured 240 s, and 30 s fixed
    history = answer(history, confirm, "timeout", {CONFIRM_SEEDS[0]: 0.98}, wall_s=300.0)
    nxt = plan(history)
    assert nxt.action == "confirm" and nxt.seeds == CONFIRM_SEEDS[1:] and nxt.candidate == promote.candidate
    assert "trial 5 ran out of time" in nxt.reason


def test_every_proposal_carries_its_projection():
    history, promote = [], None
    projections = []
    for _ in range(ETA):
        prop = plan(history)
        projections.append(prop.projected_s)
        history = answer(history, prop)
    assert projections[0] is None  # nothing measured yet: the study gives it the default deadline
    walls = [t.wall_s for t in history]
    assert projections[1] == pytest.approx(3 * walls[0]) and projections[2] == pytest.approx(3 * max(walls[:2]))
    promote = plan(history)
    # mlp: 1 explore epoch of 6 s beyond 5 s fixed; 5 full epochs x 6 s x 8 (the data) x the prior 1.3
    assert promote.projected_s == pytest.approx(5 + 3 * 5 * 6.0 * 8 * 1.3)


def test_a_seed_that_finished_with_its_metric_undefined_is_not_run_again():
    """precision_macro is undefined (None) on a seed that never predicts some class: the trial is ok,
    every seed finished, and summary_of leaves that seed out of ``values``. It is not missing: running
    the same seed again repeats the same training (and the same undefined metric), trial after trial."""
    history, promote = explored()
    seeds = [SimpleNamespace(seed=s, status="ok", metrics={"precision_macro": v}, extra={},
                             curves={"epoch_s": [48.0] * 5})
             for s, v in [(0, 0.89), (1, None), (2, 0.891)]]
    record = SimpleNamespace(number=len(history) + 1, rung=promote.model_dump(mode="json"), seeds=seeds,
                             status=TrialStatus.OK, message="ok", details={}, container_s=750.0)
    summary = summary_of(record, "precision_macro")
    assert summary.values == {0: 0.89, 2: 0.891}  # what the ledger is told: seed 1 has no value
    nxt = plan([*history, summary])
    assert not (nxt.candidate == promote.candidate and 1 in nxt.seeds), nxt.reason


def test_the_rest_of_a_later_split_is_not_blamed_on_an_old_timeout():
    history, promote = explored()
    history = answer(history, promote, "timeout", {0: 0.95}, wall_s=400.0)  # trial 4
    history = answer(history, plan(history), values={1: 0.97, 2: 0.93})  # trial 5: its missing seeds, done
    split = plan(history, cap=700)  # trial 6: undecided at 3 seeds, seeds up to 5 split by --timeout
    assert split.action == "add_seeds" and split.seeds == [3] and "1 now, the rest in later trials" in split.reason
    history = answer(history, split, values={3: 0.97})
    rest = plan(history, cap=700)
    assert rest.action == "add_seeds" and rest.seeds == [4]
    # seed 4 is missing because trial 6 was split, not because trial 4 ran out of time (its seeds all ran)
    assert "trial 4 ran out of time" not in rest.reason, rest.reason


def per_epoch(seconds: dict):
    """Explore costs by family: (container s, s per epoch), the epoch time from ``seconds``."""
    return lambda prop: (2.0 + seconds[prop.spec.model.family] * prop.spec.training.epochs,
                         seconds[prop.spec.model.family])


def test_the_cheapest_family_that_clears_the_target_at_low_fidelity_is_promoted_first():
    """A goal is a threshold: of the families already above it at low fidelity, the one that costs
    least at full fidelity gets the first look, although another scored higher."""
    outcome = by_family(low={"mlp": 0.90, "cnn": 0.96, "resnet": 0.99}, full={"mlp": 0.92, "cnn": 0.98, "resnet": 0.99})
    costs = per_epoch({"mlp": 0.05, "cnn": 0.2, "resnet": 0.5})
    proposals = drive(SearchPlanner(seed=0), outcome, 5, cost=costs)
    assert [p.action for p in proposals] == ["explore"] * 3 + ["promote", "confirm"]
    assert proposals[3].spec.model.family == "cnn"  # cheaper than the resnet; the mlp does not clear 0.95
    assert "clears the target" in proposals[3].reason
    assert proposals[4].spec.model.family == "cnn"


def test_without_a_family_above_the_target_the_best_low_score_goes_first_whatever_it_costs():
    outcome = by_family(low={"mlp": 0.90, "cnn": 0.93, "resnet": 0.94}, full={"mlp": 0.92, "cnn": 0.98, "resnet": 0.99})
    costs = per_epoch({"mlp": 0.05, "cnn": 0.2, "resnet": 0.5})
    proposals = drive(SearchPlanner(seed=0), outcome, 4, cost=costs)
    assert proposals[3].action == "promote" and proposals[3].spec.model.family == "resnet"
    assert "best resnet so far" in proposals[3].reason


def test_unmeasured_costs_leave_the_best_low_score_first():
    outcome = by_family(low={"mlp": 0.90, "cnn": 0.96, "resnet": 0.99}, full={"mlp": 0.92, "cnn": 0.98, "resnet": 0.99})
    proposals = drive(SearchPlanner(seed=0), outcome, 4)  # no cost: nothing to compare
    assert proposals[3].action == "promote" and proposals[3].spec.model.family == "resnet"


def test_the_next_steps_data_is_the_subset_until_an_exploration_completes_a_halving_round():
    """The hint the loop prepares the next trial's container with: the full data after the
    exploration that makes a promotion due, the same subset after any other exploration."""
    planner, history = SearchPlanner(seed=0), []
    outcome = fixed(0.97)
    hints = []
    for number in range(1, ETA + 3):
        ctx = PlanContext(goal=GOAL, shape=SHAPE, n_train=1212, history=history)
        prop = planner.propose(ctx)
        hints.append((prop.action, prop.spec.subset_size, planner.next_subset(ctx, prop)))
        status, values = outcome(prop)
        history.append(TrialSummary(number=number, proposal=prop, status=status, values=values))
    subset = hints[0][1]
    assert subset is not None
    assert hints[:ETA] == [("explore", subset, subset)] * (ETA - 1) + [("explore", subset, None)]
    assert hints[ETA] == ("promote", None, None) and hints[ETA + 1] == ("confirm", None, None)
