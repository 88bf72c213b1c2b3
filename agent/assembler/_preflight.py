"""Static checks of model source before any container starts.

A fast filter and a good error message, NOT a security boundary: anything these checks miss
still runs only inside the sandbox, and whatever they merely report (odd imports, hostile
looking calls) is sent there too. Rejections mirror the runner's model contract
(``sandbox_image/runner/model_loader.py``) on the AST, so a file that fails here would fail
there, only later and with a worse message:

- the source parses;
- it has one model class: a top-level class named ``Model``, else exactly one class that
  derives from something named ``*Module`` (``nn.Module``, ``torch.nn.Module``...);
- that class defines ``forward`` (itself or through a base in the file);
- its ``__init__`` takes no required arguments beyond ``self``.

Where the AST cannot tell (a base class imported from elsewhere, ``Model = make()``), the
check passes: the runner has the last word.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ._hostile import suspicious_calls

__all__ = ["ALLOWED_IMPORT_ROOTS", "PreflightResult", "preflight"]

ALLOWED_IMPORT_ROOTS = frozenset(
    {"torch", "math", "typing", "numpy", "collections", "functools", "itertools", "dataclasses",
     "__future__", "enum", "abc", "operator", "numbers"}
)
MODEL_CLASS = "Model"  # the runner takes the class of this name first


@dataclass(frozen=True)
class PreflightResult:
    """``ok`` False: ``message`` is one line naming the fix. The reports are filled when ``ok``."""

    ok: bool
    message: str = ""
    class_names: list[str] = field(default_factory=list)
    suspicious_imports: list[str] = field(default_factory=list)
    suspicious_calls: list[str] = field(default_factory=list)


def preflight(source: str, filename: str = "model.py") -> PreflightResult:
    """Parse the source; reject what cannot possibly be a model; report odd imports and calls."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        return PreflightResult(False, f"syntax error in {filename} at {where}: {exc.msg}; fix it and resubmit")
    except ValueError as exc:  # e.g. null bytes
        return PreflightResult(False, f"cannot parse {filename}: {exc}")
    classes = {n.name: n for n in _top_level(tree.body) if isinstance(n, ast.ClassDef)}
    problem = _model_problem(tree, classes, filename)
    if problem:
        return PreflightResult(False, problem, list(classes))
    imports = sorted(_imported_roots(tree) - ALLOWED_IMPORT_ROOTS)
    return PreflightResult(True, "", list(classes), imports, suspicious_calls(tree))


def _model_problem(tree: ast.Module, classes: dict[str, ast.ClassDef], filename: str) -> str | None:
    """One line saying why no class can be the model, or None when one can (or we cannot tell)."""
    if MODEL_CLASS in _bound_otherwise(tree):
        return None  # ``Model = ...`` or an import: only the runner can resolve it
    model = classes.get(MODEL_CLASS)
    if model is None or not _has_base(model):  # like the runner: a plain ``class Model:`` is skipped
        modules = [c for c in classes.values() if any(_looks_like_module(b) for b in c.bases)]
        if not classes:
            return f"{filename} defines no class; define class {MODEL_CLASS}(nn.Module)"
        if not modules:
            return f"{filename} defines no nn.Module subclass; write class {MODEL_CLASS}(nn.Module)"
        if len(modules) > 1:
            names = ", ".join(c.name for c in modules)
            return f"{filename} defines {len(modules)} nn.Module classes ({names}); name the model class {MODEL_CLASS}"
        model = modules[0]
    return _forward_problem(model, classes) or _init_problem(model, classes)


def _top_level(body: list[ast.stmt]):
    """Statements run at import, including those inside module-level if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try | ast.With):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                yield from _top_level(block)
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)


def _has_base(cls: ast.ClassDef) -> bool:
    return any(_dotted(b) != "object" for b in cls.bases)


def _forward_problem(model: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> str | None:
    found, unknown = _lookup(model, "forward", classes)
    if found is None and not unknown:
        return f"{model.name} defines no forward(); add forward(self, x) returning logits (batch, n_classes)"
    return None


def _init_problem(model: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> str | None:
    init, _ = _lookup(model, "__init__", classes)
    if not isinstance(init, ast.FunctionDef | ast.AsyncFunctionDef):
        return None  # nn.Module's own, or one we cannot see
    required = _required_args(init.args)
    if required:
        return (f"{model.name}.__init__ requires {', '.join(required)}; give them defaults so "
                f"{model.name}() builds with no arguments")
    return None


def _required_args(args: ast.arguments) -> list[str]:
    positional = args.posonlyargs + args.args
    with_default = len(args.defaults)
    required = [a.arg for a in positional[1 : len(positional) - with_default]]  # [1:]: self
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    return required


def _lookup(cls: ast.ClassDef, name: str, classes: dict[str, ast.ClassDef],
            seen: frozenset[str] = frozenset()) -> tuple[ast.AST | None, bool]:
    """Find ``name`` in ``cls`` or its bases defined in the file (first base first).

    Returns ``(definition or None, unknown)``: ``unknown`` is True when a base the file does not
    define could supply it (anything but a bare ``Module``, which has no ``forward``).
    """
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node, False
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node, False
    unknown = False
    for base in cls.bases:
        local = classes.get(base.id) if isinstance(base, ast.Name) else None
        if local is not None and local.name not in seen:
            found, maybe = _lookup(local, name, classes, seen | {cls.name})
            if found is not None:
                return found, False
            unknown = unknown or maybe
        elif _dotted(base).split(".")[-1] != "Module":
            unknown = True
    return None, unknown


def _looks_like_module(base: ast.expr) -> bool:
    return _dotted(base).split(".")[-1].endswith("Module")


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _bound_otherwise(tree: ast.Module) -> set[str]:
    """Top-level names bound by assignment or import (not by a class statement)."""
    names: set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
    return names


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots
