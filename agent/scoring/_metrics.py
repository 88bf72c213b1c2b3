"""Per-seed classification metrics from predicted probabilities and the hidden labels.

A metric that is undefined on the given labels (a class never predicted, one class only in
``y_true``, AUC with a class missing) is ``None`` and its reason is recorded: never a crash,
never a silent 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from ..metrics import LOWER_IS_BETTER, is_higher_better  # noqa: F401  (re-exported by scoring)
from ._calibration import brier_score, expected_calibration_error, log_loss

TOP_K = 3  # top-k accuracy is reported only when there are more than TOP_K classes

Scalars = dict[str, float | None]
Undefined = dict[str, str]


class _Inputs:
    """Validated inputs plus what every metric needs (predictions, per-class counts)."""

    def __init__(self, probs: np.ndarray, y_true: np.ndarray) -> None:
        self.probs, self.y_true = _validate(probs, y_true)
        self.n_classes = self.probs.shape[1]
        self.labels = np.arange(self.n_classes)
        self.y_pred = self.probs.argmax(axis=1)
        self.present = np.bincount(self.y_true, minlength=self.n_classes) > 0
        self.predicted = np.bincount(self.y_pred, minlength=self.n_classes) > 0
        self.precision, self.recall, self.f1, self.support = skm.precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=self.labels, average=None, zero_division=np.nan
        )


def classification_report(probs: np.ndarray, y_true: np.ndarray) -> dict:
    """Every per-seed metric: scalars, reasons for undefined ones, per-class block, confusion matrix.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities, rows summing to ~1.
        y_true: ``(n,)`` integer labels in ``[0, n_classes)``.

    Returns:
        ``{"scalars": {metric: float | None}, "undefined": {metric: reason},
        "per_class": {"precision": [...], "recall": [...], "f1": [...], "support": [...]},
        "confusion_matrix": [[...]]}``. Per-class lists are indexed by class (``None`` where
        undefined); confusion-matrix rows are true classes, columns predicted classes.

    Raises:
        ValueError: if the shapes or labels are malformed.
    """
    x = _Inputs(probs, y_true)
    scalars: Scalars = {}
    undefined: Undefined = {}
    for block in _BLOCKS:
        for name, (value, reason) in block(x).items():
            scalars[name] = value
            if reason is not None:
                undefined[name] = reason
    per_class = {
        "precision": _nan_to_none(x.precision),
        "recall": _nan_to_none(x.recall),
        "f1": _nan_to_none(x.f1),
        "support": [int(s) for s in x.support],
    }
    matrix = skm.confusion_matrix(x.y_true, x.y_pred, labels=x.labels)
    return {"scalars": scalars, "undefined": undefined, "per_class": per_class,
            "confusion_matrix": matrix.astype(int).tolist()}


def classification_metrics(probs: np.ndarray, y_true: np.ndarray) -> Scalars:
    """Scalar metrics for one seed (what ``aggregate`` summarizes); see ``classification_report``.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities, rows summing to ~1.
        y_true: ``(n,)`` integer labels in ``[0, n_classes)``.

    Returns:
        ``{metric: value}``, ``None`` where the metric is undefined on these labels.
    """
    return classification_report(probs, y_true)["scalars"]


def _validate(probs: np.ndarray, y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, dtype=float)
    y = np.asarray(y_true)
    if probs.ndim != 2 or probs.shape[1] < 2 or probs.shape[0] == 0:
        raise ValueError(f"probs must have shape (n > 0, n_classes >= 2), got {probs.shape}")
    if y.shape != (probs.shape[0],):
        raise ValueError(f"y_true must have shape ({probs.shape[0]},), got {y.shape}")
    if y.dtype.kind not in "iub" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise ValueError(f"y_true must hold integer labels, got dtype {y.dtype}")
    y = y.astype(int)
    if y.min() < 0 or y.max() >= probs.shape[1]:
        raise ValueError(f"y_true labels must lie in [0, {probs.shape[1]}), got [{y.min()}, {y.max()}]")
    if not np.isfinite(probs).all():
        raise ValueError("probs contains NaN or infinite values")
    return probs, y


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


def _classes(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask).tolist()
    return f"class {idx[0]}" if len(idx) == 1 else f"classes {idx}"


_Value = tuple[float | None, str | None]


def _defined(value: float) -> _Value:
    return float(value), None


def _accuracy_block(x: _Inputs) -> dict[str, _Value]:
    acc = float(np.mean(x.y_pred == x.y_true))
    out = {"accuracy": _defined(acc),
           # sklearn's definition: mean recall over the classes present in y_true
           "balanced_accuracy": _defined(np.mean(x.recall[x.present]))}
    if x.n_classes > TOP_K:
        top = np.argsort(-x.probs, axis=1, kind="stable")[:, :TOP_K]
        out[f"top{TOP_K}_accuracy"] = _defined(np.mean(np.any(top == x.y_true[:, None], axis=1)))
    return out


_WHY = {"precision": "never predicted: precision is 0/0", "recall": "absent from y_true: recall is 0/0",
        "f1": "neither in y_true nor predicted: F1 is 0/0"}


def _prf_block(x: _Inputs) -> dict[str, _Value]:
    out: dict[str, _Value] = {}
    for name, values in (("precision", x.precision), ("recall", x.recall), ("f1", x.f1)):
        undefined = np.isnan(values)
        out[f"{name}_macro"] = _average(values, undefined, np.ones_like(values), _WHY[name])
        # weighted: zero-support classes carry zero weight, so only present classes can spoil it
        out[f"{name}_weighted"] = _average(values, undefined & x.present, x.support, _WHY[name])
    # single-label multiclass over all labels: micro precision = recall = F1 = accuracy
    micro = float(np.mean(x.y_pred == x.y_true))
    out.update({f"{name}_micro": _defined(micro) for name in ("precision", "recall", "f1")})
    return out


def _average(values: np.ndarray, undefined: np.ndarray, weights: np.ndarray, why: str) -> _Value:
    if undefined.any():
        return None, f"{_classes(undefined)} {why}"
    used = weights > 0
    return _defined(np.sum(weights[used] * values[used]) / np.sum(weights[used]))


def _agreement_block(x: _Inputs) -> dict[str, _Value]:
    out: dict[str, _Value] = {}
    if x.present.sum() < 2:
        out["mcc"] = (None, f"only {_classes(x.present)} present in y_true: MCC is 0/0")
    elif x.predicted.sum() < 2:
        out["mcc"] = (None, f"every prediction is {_classes(x.predicted)}: MCC is 0/0")
    else:
        out["mcc"] = _defined(skm.matthews_corrcoef(x.y_true, x.y_pred))
    n = len(x.y_true)
    chance = np.sum(np.bincount(x.y_true, minlength=x.n_classes)
                    * np.bincount(x.y_pred, minlength=x.n_classes)) / n**2
    if np.isclose(chance, 1.0):
        out["cohen_kappa"] = (None, "y_true and predictions are one same class: chance agreement is 1")
    else:
        out["cohen_kappa"] = _defined(skm.cohen_kappa_score(x.y_true, x.y_pred, labels=x.labels))
    return out


def _ranking_block(x: _Inputs) -> dict[str, _Value]:
    if x.n_classes == 2:
        positive = x.y_true == 1
        auc = (_defined(skm.roc_auc_score(positive, x.probs[:, 1])) if x.present.all()
               else (None, f"only {_classes(x.present)} present in y_true: ROC-AUC needs both"))
        pr = (_defined(skm.average_precision_score(positive, x.probs[:, 1])) if x.present[1]
              else (None, "class 1 absent from y_true: average precision needs positives"))
        return {"roc_auc": auc, "pr_auc": pr}
    if not x.present.all():
        reason = f"{_classes(~x.present)} absent from y_true: one-vs-rest needs every class"
        return {"roc_auc": (None, reason), "pr_auc": (None, reason)}
    # one-vs-rest macro, column by column: what sklearn's multi_class="ovr" does, without its
    # check that rows sum to 1 exactly (the sandbox output is allowed a 1e-3 tolerance)
    onehot = x.y_true[:, None] == x.labels[None, :]
    auc = np.mean([skm.roc_auc_score(onehot[:, c], x.probs[:, c]) for c in x.labels])
    pr = np.mean([skm.average_precision_score(onehot[:, c], x.probs[:, c]) for c in x.labels])
    return {"roc_auc": _defined(auc), "pr_auc": _defined(pr)}


def _probabilistic_block(x: _Inputs) -> dict[str, _Value]:
    return {"log_loss": _defined(log_loss(x.probs, x.y_true)),
            "brier": _defined(brier_score(x.probs, x.y_true)),
            "ece": _defined(expected_calibration_error(x.probs, x.y_true))}


_BLOCKS: tuple[Callable[[_Inputs], dict[str, _Value]], ...] = (
    _accuracy_block, _prf_block, _agreement_block, _ranking_block, _probabilistic_block,
)
