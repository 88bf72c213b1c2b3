"""Percentile bootstrap over test rows: how much a seed's metric moves with the test sample.

Resampling 10,000 rows 1,000 times and calling sklearn per resample takes minutes, so every goal
metric is computed here from the resampled rows in a vectorized way, with the same definitions
(and the same "undefined" cases) as ``classification_metrics``; the unit tests hold the two
equal resample by resample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..metrics import check_known
from ._calibration import ECE_BINS, LOG_LOSS_EPS
from ._metrics import TOP_K, _validate

N_BOOT = 1000
# Percentiles of the defined resamples only are trustworthy when skipping is rare; a metric that
# is undefined on more than a tenth of the resamples is too fragile on this test set to bound.
MIN_DEFINED_FRACTION = 0.9
MIN_TAIL = 5  # at least this many resamples beyond each percentile, or the bound is one draw
_CHUNK_ENTRIES = 50_000  # resampled row indices held at once (16 MB), whatever the test size


def bootstrap_seed_bounds(probs: np.ndarray, y_true: np.ndarray, metric: str, alpha: float, seed: int,
                          n_boot: int = N_BOOT) -> tuple[float, float]:
    """One-sided percentile bounds of one seed's ``metric`` over test rows resampled with replacement.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities of one seed.
        y_true: ``(n,)`` integer labels.
        metric: a name from ``GOAL_METRICS`` (``top3_accuracy`` needs 4 or more classes).
        alpha: error of each one-sided bound (the plan's alpha per checkpoint), in ``(0, 0.5)``.
        seed: seeds the resampling, so the bounds are reproducible.
        n_boot: resamples; ``n_boot * alpha`` must be at least ``MIN_TAIL``.

    Returns:
        ``(lower, upper)``: the ``alpha`` and ``1 - alpha`` quantiles of the metric over the
        resamples where it is defined; ``(nan, nan)`` when it is defined on fewer than
        ``MIN_DEFINED_FRACTION`` of them (e.g. ROC-AUC on a test set with a rare class).

    Raises:
        ValueError: for malformed inputs, an unknown metric, or ``alpha`` / ``n_boot`` out of range.
    """
    probs, y = _validate(probs, y_true)
    _check(metric, probs.shape[1], alpha, n_boot)
    rng = np.random.default_rng(seed)
    n = len(y)
    per_chunk = max(1, _CHUNK_ENTRIES // n)
    values = np.concatenate([_statistics(probs, y, metric, rng.integers(0, n, size=(min(per_chunk, n_boot - b), n)))
                             for b in range(0, n_boot, per_chunk)])
    defined = values[np.isfinite(values)]
    if len(defined) < MIN_DEFINED_FRACTION * n_boot:
        return float("nan"), float("nan")
    return float(np.quantile(defined, alpha)), float(np.quantile(defined, 1 - alpha))


def _check(metric: str, n_classes: int, alpha: float, n_boot: int) -> None:
    check_known(metric)
    if metric == f"top{TOP_K}_accuracy" and n_classes <= TOP_K:
        raise ValueError(f"{metric} needs {TOP_K + 1} or more classes, got {n_classes}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha}")
    if n_boot * alpha < MIN_TAIL:
        raise ValueError(f"n_boot={n_boot} leaves fewer than {MIN_TAIL} resamples beyond the alpha={alpha:g} "
                         f"percentile; use n_boot >= {int(np.ceil(MIN_TAIL / alpha))}")


def _statistics(probs: np.ndarray, y: np.ndarray, metric: str, idx: np.ndarray) -> np.ndarray:
    """``metric`` on each resample (rows ``idx[b]``), ``nan`` where undefined: shape ``(len(idx),)``."""
    if metric in _ROW_MEANS:
        return _ROW_MEANS[metric](probs, y)[idx].mean(axis=1)
    if metric in _FROM_CONFUSION:
        return _FROM_CONFUSION[metric](_confusion(y, probs.argmax(axis=1), probs.shape[1], idx))
    if metric == "ece":
        return _ece(probs, y, idx)
    return _ranking(probs, y, metric, _counts(idx, len(y)))


# --- metrics that are a mean over rows ----------------------------------------------------------

def _hits(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (probs.argmax(axis=1) == y).astype(float)


def _top_k_hits(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    top = np.argsort(-probs, axis=1, kind="stable")[:, :TOP_K]
    return np.any(top == y[:, None], axis=1).astype(float)


def _row_log_loss(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    clipped = np.clip(probs, LOG_LOSS_EPS, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    # sklearn also clips to 1 - machine eps, so a certain hit costs 2.2e-16, not 0
    true = np.clip(clipped[np.arange(len(y)), y], np.finfo(float).eps, 1 - np.finfo(float).eps)
    return -np.log(true)


def _row_brier(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    total = np.sum((probs - np.eye(probs.shape[1])[y]) ** 2, axis=1)
    return total / 2 if probs.shape[1] == 2 else total


_ROW_MEANS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "accuracy": _hits, "precision_micro": _hits, "recall_micro": _hits, "f1_micro": _hits,
    f"top{TOP_K}_accuracy": _top_k_hits, "log_loss": _row_log_loss, "brier": _row_brier,
}


# --- metrics of the confusion matrix -------------------------------------------------------------

def _confusion(y: np.ndarray, pred: np.ndarray, k: int, idx: np.ndarray) -> np.ndarray:
    """``(B, k, k)`` confusion matrices (rows true, columns predicted) of the resamples."""
    cells = (y * k + pred)[idx] + (np.arange(len(idx)) * k * k)[:, None]
    return np.bincount(cells.ravel(), minlength=len(idx) * k * k).reshape(len(idx), k, k).astype(float)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    tp, support, predicted = np.diagonal(cm, axis1=1, axis2=2), cm.sum(axis=2), cm.sum(axis=1)
    return {"precision": _ratio(tp, predicted), "recall": _ratio(tp, support),
            "f1": _ratio(2 * tp, support + predicted), "support": support}


def _macro(name: str) -> Callable[[np.ndarray], np.ndarray]:
    def stat(cm: np.ndarray) -> np.ndarray:
        return _per_class(cm)[name].mean(axis=1)  # nan when any class is undefined
    return stat


def _weighted(name: str) -> Callable[[np.ndarray], np.ndarray]:
    def stat(cm: np.ndarray) -> np.ndarray:
        pc = _per_class(cm)
        values, support = pc[name], pc["support"]
        spoiled = np.any(np.isnan(values) & (support > 0), axis=1)
        total = np.sum(np.where(support > 0, values, 0.0) * support, axis=1) / support.sum(axis=1)
        return np.where(spoiled, np.nan, total)
    return stat


def _balanced_accuracy(cm: np.ndarray) -> np.ndarray:
    return np.nanmean(_per_class(cm)["recall"], axis=1)  # mean over the classes present


def _mcc(cm: np.ndarray) -> np.ndarray:
    support, predicted, s = cm.sum(axis=2), cm.sum(axis=1), cm.sum(axis=(1, 2))
    correct = np.trace(cm, axis1=1, axis2=2)
    cov_tp = correct * s - np.sum(support * predicted, axis=1)
    cov_pp, cov_tt = s**2 - np.sum(predicted**2, axis=1), s**2 - np.sum(support**2, axis=1)
    defined = (np.sum(support > 0, axis=1) >= 2) & (np.sum(predicted > 0, axis=1) >= 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined, cov_tp / np.sqrt(cov_tt * cov_pp), np.nan)


def _kappa(cm: np.ndarray) -> np.ndarray:
    s = cm.sum(axis=(1, 2))
    chance = np.sum(cm.sum(axis=2) * cm.sum(axis=1), axis=1) / s**2
    observed = np.trace(cm, axis1=1, axis2=2) / s
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isclose(chance, 1.0), np.nan, (observed - chance) / (1 - chance))


_FROM_CONFUSION: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "balanced_accuracy": _balanced_accuracy, "mcc": _mcc, "cohen_kappa": _kappa,
    **{f"{name}_macro": _macro(name) for name in ("precision", "recall", "f1")},
    **{f"{name}_weighted": _weighted(name) for name in ("precision", "recall", "f1")},
}


# --- calibration and ranking ---------------------------------------------------------------------

def _ece(probs: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(float)
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    cells = (bins[idx] + (np.arange(len(idx)) * ECE_BINS)[:, None]).ravel()
    size = len(idx) * ECE_BINS
    gap = (np.bincount(cells, weights=correct[idx].ravel(), minlength=size)
           - np.bincount(cells, weights=confidence[idx].ravel(), minlength=size))
    # per bin, count * |mean accuracy - mean confidence| = |sum of hits - sum of confidences|
    return np.abs(gap).reshape(len(idx), ECE_BINS).sum(axis=1) / idx.shape[1]


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """``(B, n)``: how often each row was drawn in each resample (sample weights)."""
    flat = (idx + (np.arange(len(idx)) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=len(idx) * n).reshape(len(idx), n).astype(float)


def _ranking(probs: np.ndarray, y: np.ndarray, metric: str, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC / average precision as ``_metrics`` defines them: binary on class 1, else OvR macro."""
    area = _auc if metric == "roc_auc" else _average_precision
    k = probs.shape[1]
    drawn = np.stack([weights[:, y == c].sum(axis=1) for c in range(k)], axis=1) > 0
    if k == 2:
        needed = drawn.all(axis=1) if metric == "roc_auc" else drawn[:, 1]
        return np.where(needed, area(probs[:, 1], y == 1, weights), np.nan)
    total = sum(area(probs[:, c], y == c, weights) for c in range(k))
    return np.where(drawn.all(axis=1), total / k, np.nan)


def _auc(score: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney: the chance a drawn positive outscores a drawn negative, ties half."""
    order, starts = _distinct(score)
    if len(starts) == len(score):  # no ties (the usual case): only the positive columns are needed
        wp, cum, cum_pos = _at_positives(order, positive, weights)
        n_pos, n_neg = cum_pos[:, -1], weights.sum(axis=1) - cum_pos[:, -1]
        numerator = np.sum(wp * (cum - cum_pos), axis=1)  # drawn negatives below each positive
    else:
        pos, neg = _tied_groups(order, starts, positive, weights)
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        numerator = np.sum(pos * (np.cumsum(neg, axis=1) - 0.5 * neg), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / (n_pos * n_neg)


def _average_precision(score: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sklearn's AP: the mean over drawn positives of the precision at their score (or above)."""
    order, starts = _distinct(score)
    if len(starts) == len(score):
        wp, cum, cum_pos = _at_positives(order, positive, weights)
        n_pos = cum_pos[:, -1:]
        at_or_above = weights.sum(axis=1, keepdims=True) - cum + wp  # rows scoring >= this positive
        hits = n_pos - cum_pos + wp  # positives among them
    else:
        pos, neg = (g[:, ::-1] for g in _tied_groups(order, starts, positive, weights))  # decreasing
        wp, n_pos = pos, pos.sum(axis=1, keepdims=True)
        hits, at_or_above = np.cumsum(pos, axis=1), np.cumsum(pos + neg, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(wp > 0, hits / at_or_above, 0.0)  # a threshold without positives adds 0
        return np.sum(wp * precision, axis=1) / n_pos[:, 0]


def _distinct(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The increasing-score order of the rows and where each run of tied scores starts in it."""
    order = np.argsort(score, kind="stable")
    ranked = score[order]
    return order, np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])


def _at_positives(order: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Without ties, in increasing score order: the positives' weights, and at each positive the
    cumulative weight of all rows and of the positives (both including it); ``(B, n_positive)``."""
    cols = np.flatnonzero(positive[order])
    if cols.size == 0:  # the class never occurs: zero positives, undefined on every resample
        return (np.zeros((len(weights), 1)),) * 3
    w = weights[:, order]
    wp = w[:, cols]
    return wp, np.cumsum(w, axis=1)[:, cols], np.cumsum(wp, axis=1)


def _tied_groups(order: np.ndarray, starts: np.ndarray, positive: np.ndarray,
                 weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted positives and negatives per distinct score, in increasing score order: ``(B, G)`` each."""
    w = weights[:, order]
    pos = w * positive[order]
    return np.add.reduceat(pos, starts, axis=1), np.add.reduceat(w - pos, starts, axis=1)
