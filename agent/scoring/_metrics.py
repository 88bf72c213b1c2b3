"""Per-seed metrics from predicted probabilities and the hidden labels (pure functions)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def classification_metrics(probs: np.ndarray, y_true: np.ndarray) -> dict[str, float | None]:
    """Scalar metrics for one seed. ``probs`` is ``(n, n_classes)``, rows summing to ~1."""
    n_classes = probs.shape[1]
    y_pred = probs.argmax(axis=1)
    labels = np.arange(n_classes)
    clipped = np.clip(probs, 1e-15, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(
            skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "log_loss": float(skm.log_loss(y_true, clipped, labels=labels)),
    }
