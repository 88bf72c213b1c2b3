"""The goal decision rule on constructed seed results."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from agent.scoring import (
    CHECKPOINTS,
    Decision,
    bootstrap_bound,
    decide_goal,
    next_checkpoint,
    plan_for,
    proportion_bound,
)


def test_clearly_above_is_achieved_at_three_seeds():
    d = decide_goal([0.95, 0.951, 0.949], target=0.90)
    assert d.decision is Decision.ACHIEVED and d.checkpoint == 3 and d.n == 3
    assert d.alpha_per_checkpoint == pytest.approx(0.05 / 3)
    arr = np.array([0.95, 0.951, 0.949])
    half = stats.t.ppf(1 - 0.05 / 3, 2) * stats.sem(arr)
    assert (d.lower_bound, d.upper_bound) == pytest.approx((arr.mean() - half, arr.mean() + half))
    assert d.next_checkpoint is None and d.reason.startswith("achieved at 3 seeds")


def test_clearly_below_is_not_achieved():
    d = decide_goal([0.80, 0.81, 0.79], target=0.90)
    assert d.decision is Decision.NOT_ACHIEVED and "stop adding seeds" in d.reason
    assert d.upper_bound < 0.90


def test_on_the_edge_is_undecided_then_inconclusive():
    rng = np.random.default_rng(7)
    values = 0.90 + rng.normal(0, 0.01, 10)
    values -= values.mean() - 0.90  # the mean sits exactly on the target
    for n, following in ((3, 5), (4, 5), (5, 10), (9, 10)):
        d = decide_goal(values[:n], target=0.90)
        assert d.decision is Decision.UNDECIDED and d.next_checkpoint == following
        assert f"run {following} seeds" in d.reason
    last = decide_goal(values, target=0.90)
    assert last.decision is Decision.INCONCLUSIVE and last.checkpoint == 10 and last.next_checkpoint is None
    assert last.lower_bound < 0.90 < last.upper_bound


@pytest.mark.parametrize("values", [[0.99], [0.99, 0.991], []])
def test_before_the_first_checkpoint_nothing_is_claimed(values):
    d = decide_goal(values, target=0.5)
    assert d.decision is Decision.UNDECIDED and d.checkpoint is None and d.next_checkpoint == 3
    assert d.lower_bound is None


def test_a_single_seed_can_never_be_a_checkpoint():
    with pytest.raises(ValueError, match="at least 2"):
        decide_goal([0.99], target=0.5, checkpoints=(1, 3))
    with pytest.raises(ValueError, match="increasing"):
        decide_goal([0.99] * 3, target=0.5, checkpoints=(5, 3))
    with pytest.raises(ValueError, match="alpha"):
        decide_goal([0.99] * 3, target=0.5, alpha=0)


def test_lower_is_better_flips_the_comparison():
    assert decide_goal([0.20, 0.21, 0.19], 0.30, higher_is_better=False).decision is Decision.ACHIEVED
    assert decide_goal([0.50, 0.51, 0.49], 0.30, higher_is_better=False).decision is Decision.NOT_ACHIEVED
    assert decide_goal([0.95, 0.96, 0.94], 0.90, higher_is_better=False).decision is Decision.NOT_ACHIEVED


def test_plan_is_replayed_in_seed_order():
    # achieved at the look at 3; later, worse seeds do not reopen the decision
    d = decide_goal([0.95, 0.951, 0.949, 0.70, 0.71], target=0.90)
    assert d.decision is Decision.ACHIEVED and d.checkpoint == 3 and d.n == 5
    # undecided at 3, clear at 5
    d = decide_goal([0.94, 0.90, 0.96, 0.945, 0.95], target=0.90)
    assert d.decision is Decision.ACHIEVED and d.checkpoint == 5


def test_bonferroni_split_is_stricter_than_a_single_look():
    values = [0.92, 0.93, 0.91]
    single = decide_goal(values, target=0.90, checkpoints=(3,))
    split = decide_goal(values, target=0.90)
    assert single.lower_bound > split.lower_bound
    assert single.alpha_per_checkpoint == 0.05


def test_undefined_values_are_skipped_and_record_serializes():
    d = decide_goal([0.95, None, 0.951, float("nan"), 0.949], target=0.9)
    assert d.n == 3 and d.decision is Decision.ACHIEVED
    assert json.loads(json.dumps(d.to_dict()))["decision"] == "achieved"


@pytest.mark.parametrize(("n", "expected"), [(0, 3), (2, 3), (3, 5), (4, 5), (5, 10), (10, None), (12, None)])
def test_next_checkpoint(n, expected):
    assert next_checkpoint(n) == expected


# --- test-set noise: the decision also needs the test set to support the claim -----------------

def test_perfect_seeds_on_45_rows_do_not_prove_a_target_the_test_set_cannot_support():
    # the issue: three seeds at 45/45 gave [1.0, 1.0] and "achieved" for any target up to 1.0
    d = decide_goal([1.0, 1.0, 1.0], target=0.95, checkpoints=(3,), test_bound=proportion_bound(45))
    assert d.decision is not Decision.ACHIEVED
    assert (d.seed_lower_bound, d.seed_upper_bound) == (1.0, 1.0)
    assert d.test_lower_bound == pytest.approx(0.9355957, abs=1e-6) and d.test_upper_bound == 1.0
    assert d.lower_bound == pytest.approx(0.9355957, abs=1e-6) and d.test_bound_method == "clopper_pearson"


def test_the_combined_lower_bound_is_the_lower_of_seed_and_test_bounds():
    d = decide_goal([1.0, 1.0, 1.0], target=0.93, checkpoints=(3,), test_bound=proportion_bound(45))
    assert d.decision is Decision.ACHIEVED and d.lower_bound == pytest.approx(0.9355957, abs=1e-6)
    assert "45 test rows" in d.reason and "0.9356" in d.reason
    # a wide seed spread on a large test set: the seed bound is the lower one and decides
    values = [0.90, 0.96, 0.99]
    seeds_only = decide_goal(values, target=0.85, checkpoints=(3,))
    d = decide_goal(values, target=0.85, checkpoints=(3,), test_bound=proportion_bound(100_000))
    assert d.lower_bound == pytest.approx(seeds_only.lower_bound) == pytest.approx(d.seed_lower_bound)
    assert d.upper_bound == pytest.approx(seeds_only.upper_bound)
    assert d.test_lower_bound > d.seed_lower_bound


def test_when_only_the_test_set_holds_back_the_reason_says_more_seeds_cannot_raise_it():
    # 43/45 on every seed: seeds alone clear 0.82, the test set only supports 0.8384 at 98.3%
    d = decide_goal([43 / 45] * 3, target=0.85, test_bound=proportion_bound(45))
    assert d.decision is Decision.UNDECIDED and d.seed_lower_bound >= 0.85 > d.test_lower_bound
    assert "test set (45 rows)" in d.reason and "0.8384" in d.reason and "98.3%" in d.reason
    assert "more seeds cannot raise" in d.reason and d.next_checkpoint == 5


def test_not_achieved_when_the_test_set_upper_bound_is_below_the_target():
    d = decide_goal([0.8, 0.8, 0.8], target=0.95, test_bound=proportion_bound(45))
    assert d.decision is Decision.NOT_ACHIEVED
    assert d.upper_bound == pytest.approx(0.9106292, abs=1e-6) == pytest.approx(d.test_upper_bound)
    assert "45 test rows support accuracy of at most 0.9106" in d.reason and "stop adding seeds" in d.reason
    # the test set allows up to 0.91: not a "not achieved" for 0.9, though the seeds alone say so
    d = decide_goal([0.8, 0.8, 0.8], target=0.90, test_bound=proportion_bound(45))
    assert d.decision is Decision.UNDECIDED and d.seed_upper_bound < 0.90 <= d.upper_bound


@pytest.mark.parametrize("values", [[], [1.0], [1.0, 1.0, 1.0], [1.0] * 5, [0.99, 1.0, 0.98, 1.0]])
def test_a_target_no_perfect_score_can_support_is_inconclusive_at_once(values):
    # even 45/45 gives a lower bound of 0.05 ** (1 / 45) = 0.9356 at one look, 0.9130 at three
    for checkpoints, best in (((3,), 0.9356), ((3, 5, 10), 0.9130)):
        d = decide_goal(values, target=0.95, checkpoints=checkpoints, test_bound=proportion_bound(45))
        assert d.decision is Decision.INCONCLUSIVE and d.next_checkpoint is None
        assert f"45/45 correct gives a lower bound of {best}" in d.reason
        assert "more seeds cannot help" in d.reason


def test_the_unreachable_rule_is_exact_at_the_boundary():
    best = 0.05 ** (1 / 45)  # Clopper-Pearson lower bound of 45/45, one-sided 95%
    reachable = decide_goal([1.0] * 3, target=best - 1e-9, checkpoints=(3,), test_bound=proportion_bound(45))
    assert reachable.decision is Decision.ACHIEVED
    unreachable = decide_goal([], target=best + 1e-9, checkpoints=(3,), test_bound=proportion_bound(45))
    assert unreachable.decision is Decision.INCONCLUSIVE
    # before the first checkpoint with a reachable target: still "run 3 seeds"
    early = decide_goal([1.0], target=best - 1e-9, checkpoints=(3,), test_bound=proportion_bound(45))
    assert early.decision is Decision.UNDECIDED and early.next_checkpoint == 3


def test_an_unreachable_target_still_reports_a_clear_not_achieved():
    d = decide_goal([0.6, 0.61, 0.59], target=0.95, test_bound=proportion_bound(45))
    assert d.decision is Decision.NOT_ACHIEVED


def test_a_lower_is_better_metric_with_a_bootstrap_bound():
    values = [0.20, 0.21, 0.19]
    bound = bootstrap_bound([(0.15, 0.32), (0.16, 0.33), (0.14, 0.31)])
    achieved = decide_goal(values, 0.35, higher_is_better=False, test_bound=bound)
    assert achieved.decision is Decision.ACHIEVED and achieved.test_bound_method == "bootstrap"
    assert achieved.upper_bound == pytest.approx(0.32) == pytest.approx(achieved.test_upper_bound)
    held = decide_goal(values, 0.30, higher_is_better=False, test_bound=bound)
    assert held.decision is Decision.UNDECIDED and held.seed_upper_bound <= 0.30 < held.upper_bound
    assert "at most 0.32" in held.reason and "more seeds cannot lower" in held.reason
    worse = decide_goal(values, 0.10, higher_is_better=False, test_bound=bound)
    assert worse.decision is Decision.NOT_ACHIEVED and worse.lower_bound == pytest.approx(0.15)


def test_bootstrap_bound_of_a_look_is_the_mean_of_its_seeds_bounds():
    values = [0.20, 0.21, 0.19, 0.20, 0.20]
    seeds = [(0.10, 0.30), (0.12, 0.32), (0.14, 0.34), (0.0, 0.9), (0.0, 0.9)]
    d = decide_goal(values, 0.40, higher_is_better=False, test_bound=bootstrap_bound(seeds))
    assert d.checkpoint == 3 and (d.test_lower_bound, d.test_upper_bound) == pytest.approx((0.12, 0.32))


def test_bootstrap_bounds_follow_the_defined_values():
    # seed 2's metric is undefined: its bootstrap bounds leave with it
    values = [0.20, None, 0.21, 0.19]
    seeds = [(0.10, 0.30), (float("nan"), float("nan")), (0.12, 0.32), (0.14, 0.34)]
    d = decide_goal(values, 0.40, higher_is_better=False, test_bound=bootstrap_bound(seeds))
    assert d.n == 3 and (d.test_lower_bound, d.test_upper_bound) == pytest.approx((0.12, 0.32))
    with pytest.raises(ValueError, match="one per value"):
        decide_goal(values[:3], 0.40, higher_is_better=False, test_bound=bootstrap_bound(seeds))


def test_an_undefined_bootstrap_bound_never_claims_and_says_why():
    nan = float("nan")
    bound = bootstrap_bound([(nan, nan)] * 3)
    d = decide_goal([0.99, 0.99, 0.99], 0.5, checkpoints=(3,), test_bound=bound)
    assert d.decision is Decision.INCONCLUSIVE and "undefined" in d.reason
    assert math.isnan(d.test_lower_bound) and d.seed_lower_bound == pytest.approx(0.99)
    assert decide_goal([0.99] * 3, 0.5, test_bound=bound).decision is Decision.UNDECIDED


def test_without_a_test_bound_the_fields_say_so():
    d = decide_goal([0.95, 0.951, 0.949], target=0.90)
    assert (d.lower_bound, d.upper_bound) == (d.seed_lower_bound, d.seed_upper_bound)
    assert d.test_lower_bound is None and d.test_upper_bound is None and d.test_bound_method is None
    record = json.loads(json.dumps(decide_goal([1.0] * 3, 0.9, test_bound=proportion_bound(45)).to_dict()))
    assert record["test_bound_method"] == "clopper_pearson" and record["test_lower_bound"] > 0.9


def test_false_achieved_rate_with_test_noise_stays_below_alpha():
    # the true accuracy equals the target; every seed makes the same hits (zero seed spread)
    rng = np.random.default_rng(11)
    target, n_test, reps = 0.9, 45, 4000
    scores = rng.binomial(n_test, target, size=reps) / n_test
    seeds_only = np.mean([decide_goal([s] * 3, target, checkpoints=(3,)).decision is Decision.ACHIEVED
                          for s in scores[:400]])
    with_test = np.mean([decide_goal([s] * 3, target, checkpoints=(3,), test_bound=proportion_bound(n_test))
                         .decision is Decision.ACHIEVED for s in scores])
    assert seeds_only > 0.5  # the old rule: wrong more often than not
    assert with_test <= 0.05


# --- one plan rule for eval and run ------------------------------------------------------------

@pytest.mark.parametrize(("seeds", "plan"), [(3, (3,)), (2, (2,)), (7, (7,)), ("5", (5,)), ("auto", CHECKPOINTS)])
def test_plan_for(seeds, plan):
    assert plan_for(seeds) == plan


@pytest.mark.parametrize("seeds", [1, 0, -3, "1"])
def test_plan_for_a_single_seed_refuses(seeds):
    with pytest.raises(ValueError, match="one seed never claims"):
        plan_for(seeds)


@pytest.mark.parametrize("seeds", ["many", 2.5, True, None])
def test_plan_for_rejects_other_values(seeds):
    with pytest.raises(ValueError, match="auto"):
        plan_for(seeds)


def test_a_fixed_seed_count_spends_all_of_alpha_at_its_one_look():
    d = decide_goal([0.92, 0.93, 0.91], target=0.90, checkpoints=plan_for(3))
    assert d.alpha_per_checkpoint == 0.05 and d.checkpoint == 3
    assert decide_goal([0.92] * 3, 0.9, checkpoints=plan_for("auto")).alpha_per_checkpoint == pytest.approx(0.05 / 3)


def test_reasons_without_a_known_test_size_or_metric_still_read():
    held = decide_goal([0.20, 0.21, 0.19], 0.30, higher_is_better=False, test_bound=bootstrap_bound([(0.1, 0.4)] * 3))
    assert "the test set only supports the metric of at most 0.4" in held.reason and "None" not in held.reason
