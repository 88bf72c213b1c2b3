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

from .._lazy import attach

# Names import from their submodule on first use: a command pays only for what it touches.
__getattr__, __dir__, __all__ = attach(__name__, {
    "..metrics": ["GOAL_METRICS", "LOWER_IS_BETTER", "check_goal", "is_higher_better", "metric_range"],
    "._bootstrap": ["N_BOOT", "bootstrap_seed_bounds"],
    "._bounds": [
        "PROPORTION_METRICS", "TestSetBound", "bootstrap_bound", "clopper_pearson", "proportion_bound",
        "test_set_bound"
    ],
    "._calibration": [
        "ECE_BINS", "ReliabilityBins", "brier_score", "expected_calibration_error", "log_loss",
        "reliability_bins"
    ],
    "._compare": ["MultipleTesting", "PairedComparison", "benjamini_hochberg", "compare_paired", "holm"],
    "._dynamics": ["FLAGS", "Dynamics", "dynamics_flags", "learning_dynamics"],
    "._goal": ["Decision", "GoalDecision", "decide_goal"],
    "._plan": ["ALPHA", "CHECKPOINTS", "next_checkpoint", "plan_for"],
    "._metrics": ["classification_metrics", "classification_report"],
    "._plots": ["plot_confusion_matrix", "plot_learning_curves", "plot_metric_strip", "plot_reliability"],
    "._stats": [
        "CONFIDENCE", "aggregate", "defined_values", "mean_and_sem", "sample_std", "summarize",
        "t_interval", "t_interval_with_test_noise"
    ],
})
