"""Reports: strict JSON, the console summary, plots next to the report, comparisons."""

from ._artifacts import write_artifacts
from ._compare import compare
from ._console import print_eval
from ._json import clean, dumps
from ._run_report import write_run_report

__all__ = ["clean", "compare", "dumps", "print_eval", "write_artifacts", "write_run_report"]
