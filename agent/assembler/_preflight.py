"""Static checks of model source before any container starts.

A fast filter and a good error message, NOT a security boundary: anything these checks miss
still runs only inside the sandbox, and whatever they merely report (odd imports, hostile
looking calls) is sent there too. Rejections mirror the runner's model contract
(``sandbox_image/runner/model_loader.py``) on the AST, so a file that fails here would fail
there, only later and with a worse message:

- the source parses;
- it has a model entry (``FILE:ENTRY``, else ``Model``, else the one root nn.Module class; see
  ``_entry.py``), which the host then sends to the runner;
- a class entry defines ``forward`` (itself or through a base in the file);
- the arguments bind to the entry's signature (unknown names, required parameters left open),
  after ``num_classes``/``in_channels`` are filled from the dataset where the signature names them.

Where the AST cannot tell (a base class imported from elsewhere, ``Model = make()``), the
check passes: the runner has the last word.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._entry import ModelEntry, bind_args, find_entry, lookup, top_level
from ._hostile import suspicious_calls

__all__ = ["ALLOWED_IMPORT_ROOTS", "PreflightResult", "preflight"]

ALLOWED_IMPORT_ROOTS = frozenset(
    {"torch", "math", "typing", "numpy", "collections", "functools", "itertools", "dataclasses",
     "__future__", "enum", "abc", "operator", "numbers", "torchvision"}
)


@dataclass(frozen=True)
class PreflightResult:
    """``ok`` False: ``message`` is one line naming the fix. The reports are filled when ``ok``."""

    ok: bool
    message: str = ""
    class_names: list[str] = field(default_factory=list)
    suspicious_imports: list[str] = field(default_factory=list)
    suspicious_calls: list[str] = field(default_factory=list)
    entry: ModelEntry | None = None
    model_args: dict = field(default_factory=dict)  # what the runner passes to the entry
    filled: dict = field(default_factory=dict)  # the part of model_args taken from the dataset


def preflight(source: str, filename: str = "model.py", entry: str | None = None,
              model_args: Mapping[str, object] | None = None,
              available: Mapping[str, object] | None = None) -> PreflightResult:
    """Parse the source; resolve the model entry and bind its arguments; report odd imports and calls.

    ``available`` holds the dataset's values for parameters the entry may name
    (``agent.assembler.dataset_args``).
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        return PreflightResult(False, f"syntax error in {filename} at {where}: {exc.msg}; fix it and resubmit")
    except ValueError as exc:  # e.g. null bytes
        return PreflightResult(False, f"cannot parse {filename}: {exc}")
    classes = {n.name: n for n in top_level(tree.body) if isinstance(n, ast.ClassDef)}
    found = find_entry(tree, filename, entry)
    if isinstance(found, str):
        return PreflightResult(False, found, list(classes))
    problem = _forward_problem(found, classes)
    bound = problem or bind_args(found, model_args or {}, available or {})
    if isinstance(bound, str):
        return PreflightResult(False, bound, list(classes), entry=found)
    imports = sorted(_imported_roots(tree) - ALLOWED_IMPORT_ROOTS)
    return PreflightResult(True, "", list(classes), imports, suspicious_calls(tree), found, *bound)


def _forward_problem(entry: ModelEntry, classes: dict[str, ast.ClassDef]) -> str | None:
    if entry.kind != "class":
        return None
    found, unknown = lookup(classes[entry.name], "forward", classes)
    if found is None and not unknown:
        return f"{entry.name} defines no forward(); add forward(self, x) returning logits (batch, n_classes)"
    return None


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots
