"""Scoring on the host: metrics from predictions and hidden labels, statistics across seeds.

Pure functions (only ``plot_*`` write files):

- per seed: ``classification_report`` / ``classification_metrics``, ``learning_dynamics``;
- across seeds: ``aggregate`` / ``summarize`` / ``t_interval`` (Student t, never z);
- claims: ``decide_goal`` at planned checkpoints, ``compare_paired``, ``holm``,
  ``benjamini_hochberg``.
"""

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
from ._goal import ALPHA, CHECKPOINTS, Decision, GoalDecision, decide_goal, next_checkpoint
from ._metrics import LOWER_IS_BETTER, classification_metrics, classification_report, is_higher_better
from ._plots import plot_confusion_matrix, plot_learning_curves, plot_metric_strip, plot_reliability
from ._stats import (
    CONFIDENCE,
    PROPORTION_METRICS,
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
    "GoalDecision",
    "LOWER_IS_BETTER",
    "MultipleTesting",
    "PROPORTION_METRICS",
    "PairedComparison",
    "ReliabilityBins",
    "aggregate",
    "benjamini_hochberg",
    "brier_score",
    "classification_metrics",
    "classification_report",
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
    "next_checkpoint",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_metric_strip",
    "plot_reliability",
    "reliability_bins",
    "sample_std",
    "summarize",
    "t_interval",
    "t_interval_with_test_noise",
]
