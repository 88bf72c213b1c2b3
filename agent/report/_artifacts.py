"""Plots next to the JSON report (``--out DIR``): curves, confusion, per-seed strip, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..scoring import plot_confusion_matrix, plot_learning_curves, plot_metric_strip, plot_reliability


def write_artifacts(report: dict, probs, out: Path) -> dict[str, str]:
    """Write the PNGs that the report supports; return ``{name: path}`` (relative to ``out``)."""
    out.mkdir(parents=True, exist_ok=True)
    ok = [s for s in report["seeds"] if s["status"] == "ok"]
    written: dict[str, Path] = {}
    if not ok:
        return {}
    curves = {s["seed"]: s["curves"] for s in ok if s.get("curves")}
    if curves:
        written["learning_curves"] = plot_learning_curves(curves, out / "learning_curves.png")
    matrices = [np.asarray(s["confusion_matrix"]) for s in ok if s.get("confusion_matrix")]
    if matrices:
        written["confusion_matrix"] = plot_confusion_matrix(
            np.sum(matrices, axis=0).tolist(), out / "confusion_matrix.png",
            class_names=report["dataset"].get("class_names") or None,
            title=f"confusion matrix (summed over {len(matrices)} seeds)")
    metric = (report.get("goal") or {}).get("metric") or "accuracy"
    values = {s["seed"]: s["metrics"].get(metric) for s in ok}
    written["metric_strip"] = plot_metric_strip(values, out / f"{metric}_by_seed.png", metric=metric,
                                                target=(report.get("goal") or {}).get("target"))
    if probs is not None:
        by_seed, y_true = probs
        if by_seed:
            pooled = np.concatenate([by_seed[s] for s in sorted(by_seed)])
            labels = np.concatenate([y_true] * len(by_seed))
            written["calibration"] = plot_reliability(pooled, labels, out / "calibration.png")
    return {k: str(Path(v).relative_to(out)) for k, v in written.items()}
