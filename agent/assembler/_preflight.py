"""Static checks of model source before any container starts.

A fast filter and a good error message, NOT a security boundary: anything these checks miss
still runs only inside the sandbox.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

ALLOWED_IMPORT_ROOTS = frozenset(
    {"torch", "math", "typing", "numpy", "collections", "functools", "itertools", "dataclasses",
     "__future__", "enum", "abc", "operator", "numbers"}
)


@dataclass(frozen=True)
class PreflightResult:
    ok: bool
    message: str = ""
    class_names: list[str] = field(default_factory=list)
    suspicious_imports: list[str] = field(default_factory=list)


def preflight(source: str, filename: str = "model.py") -> PreflightResult:
    """Parse the source; reject what cannot possibly be a model; report odd imports."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        return PreflightResult(False, f"syntax error in {filename} at {where}: {exc.msg}")
    except ValueError as exc:  # e.g. null bytes
        return PreflightResult(False, f"cannot parse {filename}: {exc}")
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    imports = sorted(_imported_roots(tree) - ALLOWED_IMPORT_ROOTS)
    if not classes:
        return PreflightResult(False, f"{filename} defines no class; define an nn.Module named Model")
    return PreflightResult(True, "", classes, imports)


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots
