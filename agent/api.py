"""The Python API: ``agent.evaluate(model_file, config) -> EvalReport``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from .config import EvalConfig, home_dir, parse_model_ref
from .errors import ConfigError
from .results import EvalReport
from .sandbox import ProgressFn

__all__ = ["EvalReport", "evaluate", "evaluate_with_sandbox"]


def evaluate(model: str | Path | Callable, config: EvalConfig | None = None, home: str | Path | None = None,
             out: str | Path | None = None) -> EvalReport:
    """Train and score a model in the Docker sandbox; see ``research-agent eval``.

    Args:
        model: a model file, ``"model.py:ENTRY"`` (a class or factory in it), or the class or
            factory object itself, defined at the top level of a file (that whole file is sent
            to the sandbox, with the object's name as the entry).
        config: everything else; ``config.model_args`` are the entry's keyword arguments.
    """
    path, entry = model_ref(model)
    config = config or EvalConfig()
    if entry is not None:
        if config.entry not in (None, entry):
            raise ConfigError(f"the model is named {entry} but config.entry is {config.entry}; give one of them")
        config = config.model_copy(update={"entry": entry})
    return evaluate_with_sandbox(path, config, home_dir(str(home) if home else None), None,
                                 Path(out) if out else None)


def model_ref(model: str | Path | Callable) -> tuple[Path, str | None]:
    """A path, ``path:ENTRY``, or a top-level class/function -> ``(its file, entry or None)``."""
    if isinstance(model, str | Path):
        return parse_model_ref(str(model))
    if not callable(model):
        raise ConfigError(f"cannot evaluate a {type(model).__name__}; pass a model file, FILE:ENTRY, or a class")
    name = getattr(model, "__name__", "")
    if getattr(model, "__qualname__", name) != name or not name.isidentifier():
        raise ConfigError(f"{getattr(model, '__qualname__', model)!r} is not defined at the top level of a file; "
                          "move it there (the sandbox imports the file and looks the name up)")
    try:
        source = inspect.getsourcefile(model)
    except TypeError:
        source = None
    if not source or not Path(source).is_file():
        raise ConfigError(f"{name} has no source file (defined interactively?); save it in a file and pass FILE:{name}")
    return Path(source), name


def evaluate_with_sandbox(model_file: Path, config: EvalConfig, home: Path, progress: ProgressFn | None,
                          out: Path | None) -> EvalReport:
    """Evaluate in the Docker sandbox; with ``out``, write ``report.json`` and the plots there."""
    from .sandbox._load import IdleSample

    idle = IdleSample()  # over the imports below: the CPUs free before the eval's container starts
    from .sandbox import DockerSandbox
    from .trial import evaluate as run

    variant = "cuda" if config.limits.gpus else "cpu"
    scored = run(model_file, config, lambda: DockerSandbox(variant=variant), Path(home) / "cache" / "datasets",
                 progress, idle)
    report = scored.report
    if out is not None:  # matplotlib loads only for the plots asked for
        from .report import write_artifacts

        report = report.model_copy(update={"artifacts": write_artifacts(report, scored.probs, scored.labels, out)})
        (out / "report.json").write_text(report.to_json())
    return report
