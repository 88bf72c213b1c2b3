"""Reports for tests that store or show trials without running one: real ``EvalReport`` objects."""

from __future__ import annotations

from agent.results import EvalReport


def make_report(seeds=(0, 1, 2), status="ok", accuracy=0.9, **extra) -> EvalReport:
    """An ``EvalReport`` as ``agent.trial.run_trial`` returns; ``extra`` replaces top-level fields."""
    per_seed = [{"seed": s, "status": status, "message": "", "metrics": {"accuracy": accuracy + s / 1000},
                 "curves": {"train_loss": [1.0, 0.5], "val_loss": [1.1, float("nan")]}} for s in seeds]
    goal = {"decision": "achieved", "metric": "accuracy", "target": 0.8, "n": len(per_seed), "checkpoint": 3,
            "mean": accuracy, "lower_bound": accuracy - 0.02, "upper_bound": accuracy + 0.02,
            "higher_is_better": True, "alpha": 0.05, "alpha_per_checkpoint": 0.05 / 3, "next_checkpoint": None,
            "reason": "achieved at 3 seeds"}
    doc = {
        "schema_version": 1, "status": status, "message": f"the trial ended: {status}", "flags": ["nan_loss"],
        "model": {"path": "model.py", "sha256": "0" * 64}, "dataset": {"name": "digits", "n_test": 360},
        "config": {"metric": "accuracy"}, "seeds": per_seed,
        "aggregate": {"accuracy": {"mean": accuracy, "std": 0.01, "min": accuracy, "max": accuracy + 0.002,
                                   "n": len(per_seed), "ci_low": accuracy - 0.02, "ci_high": accuracy + 0.02}},
        "sandbox": {"limits": {}, "wall_s": 2.5, "exit_code": 0},
        "goal": goal,
    } | extra
    return EvalReport.model_validate(doc)
