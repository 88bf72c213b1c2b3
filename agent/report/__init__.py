"""Reports: strict JSON, the console summary, plots, comparisons, and the MLflow/TensorBoard exports."""

from .._lazy import attach

# Names import from their submodule on first use: a command pays only for what it touches.
__getattr__, __dir__, __all__ = attach(__name__, {
    "._artifacts": ["write_artifacts"],
    "._compare": ["compare", "compare_values"],
    "._console": ["print_eval"],
    "._json": ["clean", "dumps"],
    "._live": ["LiveTracker", "NOTE_FILE"],
    "._mlflow": ["MlflowSink"],
    "._run_report": ["candidate_rows", "decision_line", "interval_text", "write_run_report"],
    "._tensorboard": ["export_tensorboard"],
    "._tracked": ["tracked_run", "safe_uri"],
})
