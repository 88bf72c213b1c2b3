"""The goal decision rule on constructed seed results."""

import json

import numpy as np
import pytest
from scipy import stats

from agent.scoring import Decision, decide_goal, next_checkpoint


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
