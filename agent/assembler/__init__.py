"""From a trial spec to model source, and the static checks every source passes first.

    render(spec, shape) -> str        a typed model spec as readable PyTorch source
    source_for(trial, shape) -> str   a trial's free source as is, else its spec rendered
    preflight(source, filename)       AST checks and reports (a filter, NOT the boundary)
    AssemblyError                     a spec that cannot be rendered for the data (ValueError)
"""

from ._errors import AssemblyError
from ._preflight import ALLOWED_IMPORT_ROOTS, PreflightResult, preflight
from ._templates import render, source_for

__all__ = ["ALLOWED_IMPORT_ROOTS", "AssemblyError", "PreflightResult", "preflight", "render", "source_for"]
