"""Vocabulary: the metrics a goal can name, their ranges, and a one-line check of a goal's target.

Pure data and ``math`` only, so the configs (``EvalConfig``, ``Goal``) validate a metric and a
target without loading the scoring code; ``agent.scoring`` re-exports these names.
"""

from __future__ import annotations

import math

__all__ = ["GOAL_METRICS", "LOWER_IS_BETTER", "check_goal", "check_known", "is_higher_better", "metric_range"]

# The scalar per-seed metrics, in the order classification_metrics returns them
# (top3_accuracy only exists with more than 3 classes).
GOAL_METRICS = (
    "accuracy", "balanced_accuracy", "top3_accuracy",
    "precision_macro", "precision_weighted", "recall_macro", "recall_weighted",
    "f1_macro", "f1_weighted", "precision_micro", "recall_micro", "f1_micro",
    "mcc", "cohen_kappa", "roc_auc", "pr_auc", "log_loss", "brier", "ece",
)

LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})  # losses and calibration errors


def is_higher_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (false for log loss, Brier and ECE)."""
    return metric not in LOWER_IS_BETTER


_SIGNED = frozenset({"mcc", "cohen_kappa"})  # correlation-like: -1 is perfect disagreement
# The multiclass Brier score sums (p - onehot)^2 over classes, so it reaches 2; the binary one
# (positive-class column only, as sklearn) stays in [0, 1]. See _calibration.brier_score.
_RANGES = {"log_loss": (0.0, math.inf), "brier": (0.0, 2.0)}


def metric_range(metric: str, *, n_classes: int | None = None) -> tuple[float, float]:
    """The closed range ``(lo, hi)`` of a goal metric's values.

    Args:
        metric: a name from ``GOAL_METRICS``.
        n_classes: when given as 2, the binary Brier range ``[0, 1]``; otherwise the widest one.

    Raises:
        ValueError: for an unknown metric (one line listing the known ones).
    """
    check_known(metric)
    if metric == "brier" and n_classes == 2:
        return 0.0, 1.0
    if metric in _SIGNED:
        return -1.0, 1.0
    return _RANGES.get(metric, (0.0, 1.0))


def check_goal(metric: str, target: float, *, n_classes: int | None = None) -> None:
    """Refuse a goal metric that does not exist or a target outside its range.

    Raises:
        ValueError: one line that names the fix, e.g. "a target of 1.9 is outside accuracy's
            range [0, 1]; give a fraction such as 0.9 or a percentage such as 90%".
    """
    lo, hi = metric_range(metric, n_classes=n_classes)
    try:
        value = float(target)
    except (TypeError, ValueError):
        value = math.nan
    if math.isnan(value):
        raise ValueError(f"the target for {metric} must be a number, got {target!r}")
    if not lo <= value <= hi:
        closing = ")" if math.isinf(hi) else "]"
        hint = "; give a fraction such as 0.9 or a percentage such as 90%" if hi == 1.0 else ""
        raise ValueError(f"a target of {value:g} is outside {metric}'s range [{lo:g}, {hi:g}{closing}{hint}")


def check_known(metric: str) -> None:
    if metric not in GOAL_METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of: {', '.join(GOAL_METRICS)}")
