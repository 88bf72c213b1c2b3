"""PNG plots for reports: learning curves, confusion matrix, per-seed metric strip, reliability.

The only module in ``agent.scoring`` that writes files. It draws on ``Figure`` objects with the
Agg canvas directly instead of going through ``pyplot``: no global backend switch, no figure
registry to leak, safe in threads. Each function takes data and an output path and returns the
path it wrote (parent folders are created).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._calibration import ECE_BINS, expected_calibration_error, reliability_bins
from ._stats import defined_values, t_interval

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
MAX_ANNOTATED_CLASSES = 20  # beyond this the cell counts are unreadable; colour alone remains


def plot_learning_curves(curves_by_seed: Mapping[object, Mapping] | Sequence[Mapping], path: str | Path,
                         title: str = "Learning curves") -> Path:
    """Loss (and accuracy, when recorded) per epoch: the mean across seeds with a min-max band.

    Args:
        curves_by_seed: one curves dict (``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``)
            per seed, as a mapping seed -> curves or a list. ``None``/``nan``/``inf`` are skipped.
        path: output PNG path.
        title: figure title.

    Returns:
        The path written.
    """
    seeds = list(curves_by_seed.values() if isinstance(curves_by_seed, Mapping) else curves_by_seed)
    panels = [("loss", ("train_loss", "val_loss"))]
    if any(s.get(k) for s in seeds for k in ("train_acc", "val_acc")):
        panels.append(("accuracy", ("train_acc", "val_acc")))
    fig = _figure(figsize=(5.5 * len(panels), 4), layout="constrained")
    for ax, (label, keys) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        for key in keys:
            low, mean, high = _band([s.get(key) or [] for s in seeds])
            if mean.size:
                epochs = np.arange(1, mean.size + 1)
                (line,) = ax.plot(epochs, mean, label=f"{key} (mean of {len(seeds)})")
                ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set(xlabel="epoch", ylabel=label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], path: str | Path,
                          class_names: Sequence[str] | None = None, title: str = "Confusion matrix") -> Path:
    """Counts of true (rows) against predicted (columns) classes.

    Args:
        matrix: ``(n_classes, n_classes)`` counts, as ``classification_report`` returns.
        path: output PNG path.
        class_names: tick labels; class indices by default.
        title: figure title.

    Returns:
        The path written.
    """
    counts = np.asarray(matrix, dtype=float)
    k = counts.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    size = min(4 + 0.4 * k, 16)
    fig = _figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(names, rotation=45 if k > 6 else 0)
    ax.set_yticklabels(names)
    if k <= MAX_ANNOTATED_CLASSES:
        threshold = counts.max() / 2 if counts.size else 0
        for (i, j), value in np.ndenumerate(counts):
            ax.text(j, i, f"{int(value)}", ha="center", va="center",
                    color="white" if value > threshold else "black", fontsize=8)
    return _save(fig, path)


def plot_metric_strip(values: Sequence[float | None] | Mapping[object, float | None], path: str | Path,
                      metric: str = "accuracy", target: float | None = None) -> Path:
    """Each seed's value as a point, the mean as a line and its 95% t-interval as a band.

    Args:
        values: per-seed values, a list or a mapping seed -> value; ``None``/``nan`` are skipped.
        path: output PNG path.
        metric: the metric's name, for the axis label.
        target: a goal value to draw as a dashed line.

    Returns:
        The path written.
    """
    items = list(values.items()) if isinstance(values, Mapping) else list(enumerate(values))
    kept = [(str(seed), float(v)) for seed, v in items if len(defined_values([v]))]
    fig = _figure(figsize=(max(4.0, 0.5 * len(kept) + 2), 3.5), layout="constrained")
    ax = fig.add_subplot()
    if kept:
        ys = np.array([v for _, v in kept])
        ax.scatter(range(len(kept)), ys, zorder=3, label="seed")
        ax.axhline(ys.mean(), color="C1", label=f"mean {ys.mean():.4g}")
        interval = t_interval(ys)
        if interval is not None:
            ax.axhspan(*interval, color="C1", alpha=0.2, label="95% t-interval")
        ax.set_xticks(range(len(kept)), [seed for seed, _ in kept])
    if target is not None:
        ax.axhline(target, color="C3", linestyle="--", label=f"target {target:.4g}")
    ax.set(xlabel="seed", ylabel=metric, title=f"{metric} per seed (n={len(kept)})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_reliability(probs: np.ndarray, y_true: np.ndarray, path: str | Path, n_bins: int = ECE_BINS) -> Path:
    """Reliability diagram: accuracy against mean confidence per equal-width confidence bin.

    Args:
        probs: ``(n, n_classes)`` predicted probabilities.
        y_true: ``(n,)`` integer labels.
        path: output PNG path.
        n_bins: number of bins (15, as for ECE).

    Returns:
        The path written.
    """
    probs, y_true = np.asarray(probs, dtype=float), np.asarray(y_true, dtype=int)
    bins = reliability_bins(probs, y_true, n_bins)
    filled = bins.counts > 0
    centers = (bins.edges[:-1] + bins.edges[1:]) / 2
    fig = _figure(figsize=(4.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(centers[filled], bins.accuracy[filled], width=1 / n_bins, edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    ax.scatter(bins.confidence[filled], bins.accuracy[filled], color="C3", zorder=3, s=12,
               label="mean confidence")
    ece = expected_calibration_error(probs, y_true, n_bins)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (max probability)", ylabel="accuracy",
           title=f"Reliability (ECE {ece:.3f}, {n_bins} bins)")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def _band(rows: Sequence[Sequence[float | None]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-epoch min, mean and max over seeds, ignoring missing and non-finite entries."""
    length = max((len(r) for r in rows), default=0)
    grid = np.full((len(rows), length), np.nan)
    for i, row in enumerate(rows):
        grid[i, : len(row)] = [np.nan if v is None else v for v in row]
    # masked statistics: an epoch no seed reached is a gap, not a "mean of empty slice" warning
    masked = np.ma.masked_invalid(grid)
    return tuple(np.ma.filled(stat(axis=0).astype(float), np.nan)  # type: ignore[return-value]
                 for stat in (masked.min, masked.mean, masked.max))


def _figure(**kwargs) -> Figure:
    # imported here: matplotlib adds ~0.3 s to every CLI start that imports agent.scoring
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save(fig: Figure, path: str | Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg


    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(DPI)
    FigureCanvasAgg(fig).print_png(out)  # explicit Agg canvas: no pyplot, no global backend
    return out
