"""Learning dynamics of one seed from its curves: overfitting, convergence, plateau, divergence.

Curves are lists indexed by epoch (``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``); any
may be missing, and entries may be ``None``, ``nan`` or ``inf``. Epochs are reported 1-based (the
first entry is epoch 1). The "monitored" loss is ``val_loss`` when it has a finite value, else
``train_loss``.

Thresholds (named constants below):

- overfitting severity from the relative gap ``(val - train) / val`` of the final losses: none
  below 0.10 or when the absolute gap is under 0.02; mild from 0.10 (val ~1.1x train); moderate
  from 0.25 (val ~1.33x train); severe from 0.50 (val >= 2x train). Flag ``overfitting`` at
  moderate or severe.
- convergence epoch: the first epoch whose monitored loss is within 1% (relative) of its best.
- plateau: the best monitored loss of the last 5 epochs improves on the best before them by
  less than 1% (relative); unknown (``None``) with 5 epochs or fewer.
- not converged: no plateau (still improving by >= 1% over the last 5 epochs); with 2 to 5
  epochs, the best monitored loss is the final one; never with a single finite epoch.
- diverged: a non-finite loss in either curve, or a train loss after its minimum above 10x that
  minimum (minima under 0.01 count as 0.01, so near-zero noise does not trip it). Val loss is not
  used for the explosion test: a val loss that climbs is overfitting, not divergence.
- constant loss: at least 3 finite train losses spanning less than 1e-7.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

OVERFIT_LEVELS = ((0.50, "severe"), (0.25, "moderate"), (0.10, "mild"))  # relative gap thresholds
OVERFIT_MIN_GAP = 0.02  # absolute loss gap below which there is no overfitting to speak of
OVERFIT_FLAG_LEVELS = frozenset({"moderate", "severe"})
CONVERGENCE_REL_TOL = 0.01
PLATEAU_WINDOW = 5
PLATEAU_REL_TOL = 0.01
DIVERGENCE_FACTOR = 10.0
DIVERGENCE_FLOOR = 0.01  # cross-entropy under 0.01 is a near-perfect fit; ratios there are noise
CONSTANT_SPAN = 1e-7
CONSTANT_MIN_EPOCHS = 3
FLAGS = ("nan_loss", "constant_loss", "overfitting", "not_converged", "diverged")


@dataclass(frozen=True)
class Dynamics:
    """What one seed's curves say (``None`` where a curve is missing or too short to tell).

    Attributes:
        epochs: length of the longest curve.
        final_train_loss: last finite train loss.
        final_val_loss: last finite val loss.
        overfitting_gap: ``final_val_loss - final_train_loss``.
        overfitting_relative_gap: that gap divided by ``final_val_loss``.
        overfitting: severity, one of none / mild / moderate / severe.
        accuracy_gap: last finite ``train_acc`` minus last finite ``val_acc``.
        monitored: which loss the epochs below refer to (``val_loss`` or ``train_loss``).
        best_epoch: 1-based epoch of the lowest monitored loss.
        best_loss: that loss.
        convergence_epoch: first 1-based epoch within 1% of the best monitored loss.
        plateau: whether the monitored loss stopped improving (see the module docstring).
        diverged: non-finite loss, or a train loss exploding after its minimum.
        divergence_reason: why ``diverged`` is true.
        flags: the subset of ``FLAGS`` that apply, in ``FLAGS`` order.
    """

    epochs: int
    final_train_loss: float | None
    final_val_loss: float | None
    overfitting_gap: float | None
    overfitting_relative_gap: float | None
    overfitting: str | None
    accuracy_gap: float | None
    monitored: str | None
    best_epoch: int | None
    best_loss: float | None
    convergence_epoch: int | None
    plateau: bool | None
    diverged: bool
    divergence_reason: str | None
    flags: tuple[str, ...]

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self) | {"flags": list(self.flags)}


def learning_dynamics(curves: Mapping[str, Sequence[float | None] | None]) -> Dynamics:
    """Analyze one seed's learning curves.

    Args:
        curves: ``{"train_loss": [...], "val_loss": [...], "train_acc": [...], "val_acc": [...]}``;
            missing keys and ``None``/``nan``/``inf`` entries are allowed.

    Returns:
        The dynamics record, with flags from ``FLAGS``.
    """
    c = {k: _as_array(curves.get(k)) for k in ("train_loss", "val_loss", "train_acc", "val_acc")}
    train, val = c["train_loss"], c["val_loss"]
    monitored = "val_loss" if np.isfinite(val).any() else "train_loss" if np.isfinite(train).any() else None
    gap = _overfitting(_last(train), _last(val))
    progress = _progress(c[monitored]) if monitored else dict.fromkeys(
        ("best_epoch", "best_loss", "convergence_epoch", "plateau", "not_converged"))
    reason = _divergence(train, val)
    flags = {
        "nan_loss": bool((~np.isfinite(train)).any() or (~np.isfinite(val)).any()),
        "constant_loss": _constant(train),
        "overfitting": gap["overfitting"] in OVERFIT_FLAG_LEVELS,
        "not_converged": bool(progress.pop("not_converged")),
        "diverged": reason is not None,
    }
    acc_train, acc_val = _last(c["train_acc"]), _last(c["val_acc"])
    return Dynamics(
        epochs=max(len(a) for a in c.values()), final_train_loss=_last(train), final_val_loss=_last(val),
        **gap, accuracy_gap=acc_train - acc_val if acc_train is not None and acc_val is not None else None,
        monitored=monitored, **progress, diverged=reason is not None, divergence_reason=reason,
        flags=tuple(f for f in FLAGS if flags[f]),
    )


def dynamics_flags(curves_by_seed: Mapping[object, Mapping] | Iterable[Mapping]) -> list[str]:
    """The sorted union of the flags of every seed's curves (a mapping seed -> curves, or a list)."""
    seeds = curves_by_seed.values() if isinstance(curves_by_seed, Mapping) else curves_by_seed
    return sorted({f for curves in seeds for f in learning_dynamics(curves).flags})


def _as_array(values: Sequence[float | None] | None) -> np.ndarray:
    """Floats with ``nan`` for ``None``; ``inf`` stays ``inf`` (callers test ``isfinite``)."""
    return np.array([math.nan if v is None else float(v) for v in values or []], dtype=float)


def _last(arr: np.ndarray) -> float | None:
    finite = arr[np.isfinite(arr)]
    return float(finite[-1]) if len(finite) else None


def _overfitting(train: float | None, val: float | None) -> dict:
    if train is None or val is None:
        return {"overfitting_gap": None, "overfitting_relative_gap": None, "overfitting": None}
    gap = val - train
    relative = gap / val if val > 0 else 0.0
    level = "none"
    if gap >= OVERFIT_MIN_GAP:
        level = next((name for threshold, name in OVERFIT_LEVELS if relative >= threshold), "none")
    return {"overfitting_gap": gap, "overfitting_relative_gap": relative, "overfitting": level}


def _progress(loss: np.ndarray) -> dict:
    finite_idx = np.flatnonzero(np.isfinite(loss))
    finite = loss[finite_idx]
    best_i = int(np.argmin(finite))
    best = float(finite[best_i])
    near = finite <= best + CONVERGENCE_REL_TOL * abs(best)
    plateau = None
    if len(finite) > PLATEAU_WINDOW:
        before = float(finite[:-PLATEAU_WINDOW].min())
        recent = float(finite[-PLATEAU_WINDOW:].min())
        plateau = bool(before - recent < PLATEAU_REL_TOL * abs(before))
    # one finite epoch says nothing either way
    not_converged = (not plateau) if plateau is not None else len(finite) > 1 and best_i == len(finite) - 1
    return {"best_epoch": int(finite_idx[best_i]) + 1, "best_loss": best,
            "convergence_epoch": int(finite_idx[np.argmax(near)]) + 1, "plateau": plateau,
            "not_converged": not_converged}


def _divergence(train: np.ndarray, val: np.ndarray) -> str | None:
    for name, arr in (("train_loss", train), ("val_loss", val)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if len(bad):
            return f"non-finite {name} at epoch {int(bad[0]) + 1}"
    if len(train) < 2:
        return None
    low = int(np.argmin(train))
    limit = DIVERGENCE_FACTOR * max(float(train[low]), DIVERGENCE_FLOOR)
    after = np.flatnonzero(train[low:] > limit)
    if len(after):
        epoch = low + int(after[0]) + 1
        return (f"train_loss {train[epoch - 1]:.4g} at epoch {epoch} is over "
                f"{DIVERGENCE_FACTOR:g}x its minimum {train[low]:.4g}")
    return None


def _constant(train: np.ndarray) -> bool:
    finite = train[np.isfinite(train)]
    return bool(len(finite) >= CONSTANT_MIN_EPOCHS and finite.max() - finite.min() < CONSTANT_SPAN)
