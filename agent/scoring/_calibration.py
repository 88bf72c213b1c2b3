"""Probabilistic metrics: log loss, Brier score, expected calibration error, reliability bins.

All functions take ``probs`` of shape ``(n, n_classes)`` (rows summing to ~1) and integer
labels ``y_true`` in ``[0, n_classes)``; all are defined for any non-empty input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

ECE_BINS = 15  # the DESIGN.md protocol; equal-width bins on the max-probability confidence
LOG_LOSS_EPS = 1e-15  # a predicted 0 for the true class costs -log(1e-15) ~ 34.5, not infinity


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width confidence bins over ``[0, 1]``; empty bins hold ``nan`` confidence/accuracy.

    Attributes:
        edges: ``n_bins + 1`` bin edges from 0 to 1.
        counts: samples per bin.
        confidence: mean max-probability of the samples in each bin.
        accuracy: fraction of the samples in each bin whose argmax is the true label.
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def reliability_bins(probs: np.ndarray, y_true: np.ndarray, n_bins: int = ECE_BINS) -> ReliabilityBins:
    """Bin samples by confidence (the max probability) into ``n_bins`` equal-width bins.

    Bins are left-closed, ``[i/n_bins, (i+1)/n_bins)``, except the last, which also holds 1.0.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities.
        y_true: ``(n,)`` integer labels.
        n_bins: number of bins.

    Returns:
        The per-bin counts, mean confidence and accuracy.
    """
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_true).astype(float)
    index = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    conf_sum = np.bincount(index, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(index, weights=correct, minlength=n_bins)
    filled = counts > 0
    mean_conf = np.full(n_bins, np.nan)
    mean_acc = np.full(n_bins, np.nan)
    mean_conf[filled] = conf_sum[filled] / counts[filled]
    mean_acc[filled] = acc_sum[filled] / counts[filled]
    return ReliabilityBins(np.linspace(0.0, 1.0, n_bins + 1), counts, mean_conf, mean_acc)


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """ECE: the sample-weighted mean of ``|accuracy - confidence|`` over the confidence bins.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities.
        y_true: ``(n,)`` integer labels.
        n_bins: number of equal-width bins (15 by the protocol).

    Returns:
        A value in ``[0, 1]``; 0 is perfectly calibrated.
    """
    bins = reliability_bins(probs, y_true, n_bins)
    filled = bins.counts > 0
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float(np.sum(bins.counts[filled] * gaps) / bins.counts.sum())


def brier_score(probs: np.ndarray, y_true: np.ndarray) -> float:
    """Brier score, lower is better; the same conventions as ``sklearn.metrics.brier_score_loss``.

    Multiclass: the mean over samples of the sum over classes of ``(p - onehot)^2`` (range
    ``[0, 2]``). Binary: the classic ``mean((p_1 - y)^2)`` on the positive-class column (range
    ``[0, 1]``), which is exactly half of the multiclass formula applied to two columns.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities.
        y_true: ``(n,)`` integer labels.

    Returns:
        The Brier score.
    """
    onehot = np.eye(probs.shape[1])[y_true]
    total = float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))
    return total / 2 if probs.shape[1] == 2 else total


def log_loss(probs: np.ndarray, y_true: np.ndarray) -> float:
    """Cross-entropy of the true labels, after clipping at ``LOG_LOSS_EPS`` and renormalizing rows.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities.
        y_true: ``(n,)`` integer labels.

    Returns:
        The mean negative log-likelihood (natural log).
    """
    clipped = np.clip(probs, LOG_LOSS_EPS, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return float(skm.log_loss(y_true, clipped, labels=np.arange(probs.shape[1])))
