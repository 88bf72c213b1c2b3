"""Plots next to the JSON report (``--out DIR``): curves, confusion, per-seed strip, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..results import EvalReport
from ..scoring import plot_confusion_matrix, plot_learning_curves, plot_metric_strip, plot_reliability


def write_artifacts(report: EvalReport, probs: dict[int, np.ndarray], labels: np.ndarray,
                    out: Path) -> dict[str, str]:
    """Write the PNGs that the report supports; return ``{name: path}`` (relative to ``out``)."""
    out.mkdir(parents=True, exist_ok=True)
    ok = report.ok_seeds
    written: dict[str, Path] = {}
    if not ok:
        return {}
    curves = {s.seed: s.curves for s in ok if s.curves}
    if curves:
        written["learning_curves"] = plot_learning_curves(curves, out / "learning_curves.png")
    matrices = [np.asarray(s.confusion_matrix) for s in ok if s.confusion_matrix]
    if matrices:
        written["confusion_matrix"] = plot_confusion_matrix(
            np.sum(matrices, axis=0).tolist(), out / "confusion_matrix.png",
            class_names=report.dataset.get("class_names") or None,
            title=f"confusion matrix (summed over {len(matrices)} seeds)")
    metric = report.goal.metric if report.goal else "accuracy"
    values = {s.seed: s.metrics.get(metric) for s in ok}
    written["metric_strip"] = plot_metric_strip(values, out / f"{metric}_by_seed.png", metric=metric,
                                                target=report.goal.target if report.goal else None)
    if probs:
        pooled = np.concatenate([probs[s] for s in sorted(probs)])
        written["calibration"] = plot_reliability(pooled, np.concatenate([labels] * len(probs)),
                                                  out / "calibration.png")
    return {k: str(Path(v).relative_to(out)) for k, v in written.items()}
