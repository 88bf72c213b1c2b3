"""Reports: strict JSON, the console summary, plots next to the report, comparisons."""

from .._lazy import attach

# Names import from their submodule on first use: a command pays only for what it touches.
__getattr__, __dir__, __all__ = attach(__name__, {
    "._artifacts": ["write_artifacts"],
    "._compare": ["compare"],
    "._console": ["print_eval"],
    "._json": ["clean", "dumps"],
    "._run_report": ["write_run_report"],
})
