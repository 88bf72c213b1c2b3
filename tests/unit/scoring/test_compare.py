"""Paired comparison and multiple-testing corrections."""

import numpy as np
import pytest
from scipy import stats

from agent.scoring import benjamini_hochberg, compare_paired, holm

B = [0.80, 0.82, 0.79, 0.81, 0.80]


def test_clear_winner_matches_scipy_ttest_rel():
    a = [0.83, 0.84, 0.82, 0.835, 0.825]
    c = compare_paired(a, B)
    ref = stats.ttest_rel(a, B)
    assert c.p_value == pytest.approx(ref.pvalue)
    assert (c.ci_low, c.ci_high) == pytest.approx(tuple(ref.confidence_interval(0.95)))
    assert c.mean_diff == pytest.approx(np.mean(np.subtract(a, B)))
    # P(A>B) is one minus the one-sided p-value of the t model
    assert c.p_a_better == pytest.approx(1 - stats.ttest_rel(a, B, alternative="greater").pvalue)
    assert c.p_a_better > 0.99 and c.n == 5
    assert c.verdict.startswith("A is better than B (+0.0")


def test_b_better_and_lower_is_better():
    a = [0.83, 0.84, 0.82, 0.835, 0.825]
    assert compare_paired(B, a).verdict.startswith("B is better than A")
    losses_a, losses_b = [0.30, 0.31, 0.29, 0.30], [0.40, 0.42, 0.41, 0.39]
    c = compare_paired(losses_a, losses_b, higher_is_better=False)
    assert c.mean_diff < 0 and c.p_a_better > 0.99 and c.verdict.startswith("A is better than B (-0.1")


def test_no_difference():
    rng = np.random.default_rng(3)
    base = rng.normal(0.8, 0.02, 5)
    c = compare_paired(base + rng.normal(0, 0.01, 5), base + rng.normal(0, 0.01, 5))
    assert c.p_value > 0.05 and c.ci_low < 0 < c.ci_high
    assert c.verdict.startswith("no significant difference")


def test_identical_values_without_warnings():
    c = compare_paired(B, list(B))
    assert (c.mean_diff, c.ci_low, c.ci_high, c.p_value, c.p_a_better) == (0.0, 0.0, 0.0, 1.0, 0.5)
    assert c.verdict == "no difference: identical per-seed values"


def test_constant_nonzero_difference():
    c = compare_paired([1.5, 2.5, 3.5], [1.0, 2.0, 3.0])
    assert (c.mean_diff, c.p_value, c.p_a_better) == (0.5, 0.0, 1.0)
    assert c.verdict.startswith("A is better")


def test_too_few_pairs_and_dropped_pairs():
    c = compare_paired([0.9, None, 0.8], [0.7, 0.6, float("nan")])
    assert c.n == 1 and c.p_value is None and c.p_a_better is None and c.mean_diff == pytest.approx(0.2)
    assert "need at least 2" in c.verdict
    assert compare_paired([], []).mean_a is None
    with pytest.raises(ValueError, match="same seeds"):
        compare_paired([0.1, 0.2], [0.1])


def test_holm_hand_computed():
    result = holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    assert result.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert result.reject == (True, False, False, True)
    assert holm([0.5, 0.6]).adjusted == (1.0, 1.0)


def test_benjamini_hochberg_hand_computed_and_scipy():
    pvalues = [0.01, 0.04, 0.03, 0.005]
    result = benjamini_hochberg(pvalues, q=0.05)
    # sorted times 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02, 0.04, 0.04 -> running min from the top
    assert result.adjusted == pytest.approx((0.02, 0.04, 0.04, 0.02))
    assert result.reject == (True, True, True, True)
    assert benjamini_hochberg(pvalues, q=0.03).reject == (True, False, False, True)
    rng = np.random.default_rng(0)
    many = rng.uniform(0, 0.2, 12)
    assert benjamini_hochberg(many).adjusted == pytest.approx(tuple(stats.false_discovery_control(many)))


def test_corrections_edge_cases():
    assert holm([]).adjusted == () and benjamini_hochberg([]).reject == ()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.2])
