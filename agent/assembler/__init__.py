"""From a trial spec to model source, and the static checks every source passes first.

    render(spec, shape) -> str        a typed model spec as readable PyTorch source
    source_for(trial, shape) -> str   a trial's free source as is, else its spec rendered
    preflight(source, filename, ...)  AST checks, the model entry and its arguments (a filter, NOT the boundary)
    dataset_args(n_classes, shape)    the values a constructor's num_classes/in_channels may take
    AssemblyError                     a spec that cannot be rendered for the data (ValueError)
"""

from ._entry import DEFAULT_ENTRY, ModelEntry, dataset_args
from ._errors import AssemblyError
from ._preflight import ALLOWED_IMPORT_ROOTS, PreflightResult, preflight
from ._templates import render, source_for

__all__ = ["ALLOWED_IMPORT_ROOTS", "DEFAULT_ENTRY", "AssemblyError", "ModelEntry", "PreflightResult", "dataset_args",
           "preflight", "render", "source_for"]
