"""Scoring on the host: metrics from predictions and hidden labels, statistics across seeds.

Pure functions (only ``plot_*`` write files):

- per seed: ``classification_report`` / ``classification_metrics``, ``learning_dynamics``;
- across seeds: ``aggregate`` / ``summarize`` / ``t_interval`` (Student t, never z), and
  ``t_interval_with_test_noise`` (also wide enough for the test set's own sampling noise);
- the test set's own bounds: ``clopper_pearson`` (exact, for fractions of rows),
  ``bootstrap_seed_bounds`` (resampling test rows, for every other metric), combined per look by
  ``test_set_bound`` / ``proportion_bound`` / ``bootstrap_bound`` into a ``TestSetBound``;
- goals: ``GOAL_METRICS``, ``metric_range`` and ``check_goal`` for the metric and target;
  ``plan_for`` for the planned looks of a ``--seeds`` value;
- claims: ``decide_goal`` at planned checkpoints (the more conservative of the seed bound and the
  test-set bound), ``compare_paired``, ``holm``, ``benjamini_hochberg``.
"""

from ..metrics import GOAL_METRICS, check_goal, metric_range
from ._bootstrap import N_BOOT, bootstrap_seed_bounds
from ._bounds import (
    PROPORTION_METRICS,
    TestSetBound,
    bootstrap_bound,
    clopper_pearson,
    proportion_bound,
    test_set_bound,
)
from ._calibration import (
    ECE_BINS,
    ReliabilityBins,
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_bins,
)
from ._compare import MultipleTesting, PairedComparison, benjamini_hochberg, compare_paired, holm
from ._dynamics import FLAGS, Dynamics, dynamics_flags, learning_dynamics
from ._goal import ALPHA, CHECKPOINTS, Decision, GoalDecision, decide_goal, next_checkpoint, plan_for
from ._metrics import LOWER_IS_BETTER, classification_metrics, classification_report, is_higher_better
from ._plots import plot_confusion_matrix, plot_learning_curves, plot_metric_strip, plot_reliability
from ._stats import (
    CONFIDENCE,
    aggregate,
    defined_values,
    mean_and_sem,
    sample_std,
    summarize,
    t_interval,
    t_interval_with_test_noise,
)

__all__ = [
    "ALPHA",
    "CHECKPOINTS",
    "CONFIDENCE",
    "Decision",
    "Dynamics",
    "ECE_BINS",
    "FLAGS",
    "GOAL_METRICS",
    "GoalDecision",
    "LOWER_IS_BETTER",
    "MultipleTesting",
    "N_BOOT",
    "PROPORTION_METRICS",
    "PairedComparison",
    "ReliabilityBins",
    "TestSetBound",
    "aggregate",
    "benjamini_hochberg",
    "bootstrap_bound",
    "bootstrap_seed_bounds",
    "brier_score",
    "check_goal",
    "classification_metrics",
    "classification_report",
    "clopper_pearson",
    "compare_paired",
    "decide_goal",
    "defined_values",
    "dynamics_flags",
    "expected_calibration_error",
    "holm",
    "is_higher_better",
    "learning_dynamics",
    "log_loss",
    "mean_and_sem",
    "metric_range",
    "next_checkpoint",
    "plan_for",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_metric_strip",
    "plot_reliability",
    "proportion_bound",
    "reliability_bins",
    "sample_std",
    "summarize",
    "t_interval",
    "t_interval_with_test_noise",
    "test_set_bound",
]
