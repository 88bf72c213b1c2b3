"""The Python API: ``agent.evaluate(model_file, config) -> Report``."""

from __future__ import annotations

import json
from pathlib import Path

from .config import EvalConfig, home_dir
from .sandbox import ProgressFn

__all__ = ["Report", "evaluate", "evaluate_with_sandbox"]


class Report(dict):
    """An eval report: the JSON document as a dict, with a few conveniences."""

    @property
    def status(self) -> str:
        return self["status"]

    @property
    def ok(self) -> bool:
        return self["status"] == "ok"

    def metric(self, name: str = "accuracy") -> dict:
        """The across-seed summary of ``name`` (mean, std, n, ci_low, ci_high, ...)."""
        return self["aggregate"].get(name, {})

    def to_json(self, indent: int | None = 2) -> str:
        from .report import dumps

        return dumps(dict(self), indent=indent)


def evaluate(model_file: str | Path, config: EvalConfig | None = None, home: str | Path | None = None,
             out: str | Path | None = None) -> Report:
    """Train and score ``model_file`` in the Docker sandbox; see ``research-agent eval``."""
    return Report(evaluate_with_sandbox(Path(model_file), config or EvalConfig(),
                                        home_dir(str(home) if home else None), None,
                                        Path(out) if out else None))


def evaluate_with_sandbox(model_file: Path, config: EvalConfig, home: Path, progress: ProgressFn | None,
                          out: Path | None) -> dict:
    from .evaluation import evaluate as run
    from .report import write_artifacts
    from .sandbox import DockerSandbox

    variant = "cuda" if config.limits.gpus else "cpu"
    report = run(model_file, config, lambda: DockerSandbox(variant=variant),
                 Path(home) / "cache" / "datasets", progress, keep_probs=out is not None)
    probs = report.pop("_probs", None)
    if out is not None:
        report["artifacts"] = write_artifacts(report, probs, Path(out))
        (Path(out) / "report.json").write_text(json.dumps(_strict(report), indent=2, allow_nan=False))
    return report


def _strict(report: dict) -> dict:
    from .report import clean

    return clean(report)
