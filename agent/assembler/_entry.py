"""Which callable in a model file builds the model, and with which arguments (static, on the AST).

A file names its model ``FILE:ENTRY`` (a class or a factory function). Without ENTRY the model
is ``Model`` when the file binds that name; otherwise the only ``nn.Module`` class; otherwise the
one root: the module class that no other module class in the file uses (``MobileNet`` builds
``Block``s, so ``MobileNet`` is the model). The host decides this once and sends the name in the
JobSpec; the runner only looks it up.

Constructor arguments come from the user (``--model-arg``) and, for parameters the entry's own
signature names, from the dataset (``num_classes``, ``in_channels``...). Where the file does not
show the signature (an imported callable, a class whose base comes from elsewhere) the user's
arguments go through unchecked and nothing is filled: the runner binds them and has the last word.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_ENTRY", "ModelEntry", "bind_args", "dataset_args", "find_entry", "top_level"]

DEFAULT_ENTRY = "Model"  # the name a file without ENTRY is read for first
# Constructor parameters filled from the dataset when the entry names them and the user did not.
CLASS_COUNT_PARAMS = ("num_classes", "n_classes")
CHANNEL_PARAMS = ("in_channels", "in_chans")


@dataclass(frozen=True)
class Signature:
    """What the entry's ``def`` shows: parameter names beyond ``self``, which are required."""

    text: str  # "VGG(vgg_name, num_classes=10)"
    names: tuple[str, ...]
    required: tuple[str, ...]
    positional_only: tuple[str, ...] = ()
    var_keyword: bool = False


@dataclass(frozen=True)
class ModelEntry:
    """The resolved entry: its name, ``class``/``factory``/``unknown``, and why it was chosen."""

    name: str
    kind: str
    how: str
    signature: Signature | None = None  # None: the file does not show it
    blocks: tuple[str, ...] = field(default=())  # other module classes it was chosen over

    def record(self, args: Mapping[str, object], filled: Mapping[str, object]) -> dict:
        """The report's ``model.entry`` block."""
        return {"name": self.name, "kind": self.kind, "chosen": self.how,
                "signature": self.signature.text if self.signature else None,
                "args": dict(args), "filled_from_dataset": dict(filled)}


def top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import, including those inside module-level if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try | ast.With):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                yield from top_level(block)
            for handler in getattr(node, "handlers", []):
                yield from top_level(handler.body)


def find_entry(tree: ast.Module, filename: str, given: str | None = None) -> ModelEntry | str:
    """The model's entry, or one line saying why none can be chosen (naming the ``FILE:NAME`` form)."""
    stmts = list(top_level(tree.body))
    classes = {n.name: n for n in stmts if isinstance(n, ast.ClassDef)}
    functions = {n.name: n for n in stmts if isinstance(n, ast.FunctionDef)}
    modules = _module_classes(classes)
    if given is not None:
        return _given(given, filename, classes, functions, modules, _bound_otherwise(stmts))
    if DEFAULT_ENTRY in _bound_otherwise(stmts):
        return ModelEntry(DEFAULT_ENTRY, "unknown", f"the name {DEFAULT_ENTRY} (bound by an assignment or import)")
    model = classes.get(DEFAULT_ENTRY)
    if model is not None and _has_base(model):  # like the runner: a plain ``class Model:`` is skipped
        return _class_entry(model, classes, f"the class named {DEFAULT_ENTRY}")
    if DEFAULT_ENTRY in functions:
        return _factory_entry(functions[DEFAULT_ENTRY], f"the factory named {DEFAULT_ENTRY}")
    if not classes:
        public = [n for n in functions if not n.startswith("_")]
        listed = f" (functions: {', '.join(public)})" if public else ""
        return (f"{filename} defines no class; define class {DEFAULT_ENTRY}(nn.Module) "
                f"or name a factory as {filename}:NAME{listed}")
    if not modules:
        return f"{filename} defines no nn.Module subclass; write class {DEFAULT_ENTRY}(nn.Module)"
    if len(modules) == 1:
        return _class_entry(classes[modules[0]], classes, "the only nn.Module class in the file")
    roots = _roots(modules, classes)
    if len(roots) == 1:
        blocks = tuple(m for m in modules if m != roots[0])
        return _class_entry(classes[roots[0]], classes,
                            f"the one nn.Module class no other class in the file uses (blocks: {', '.join(blocks)})",
                            blocks)
    return _ambiguous(filename, roots, _factories(functions, modules))


def _given(name: str, filename: str, classes, functions, modules, bound) -> ModelEntry | str:
    how = f"given as {filename}:{name}"
    if name in classes and (name in modules or not _knowably_plain(classes[name], classes)):
        return _class_entry(classes[name], classes, how)
    if name in functions:
        return _factory_entry(functions[name], how)
    if name in bound:
        return ModelEntry(name, "unknown", how + " (bound by an assignment or import)")
    if name in classes:
        return f"{filename}:{name} is a class but not an nn.Module subclass; name the model class or its factory"
    candidates = ", ".join([*_roots(modules, classes), *_factories(functions, modules)]) or "none"
    return f"{filename} has no class or function named {name}; candidates: {candidates}; use {filename}:NAME"


def _ambiguous(filename: str, roots: list[str], factories: list[str]) -> str:
    names = ", ".join(roots)
    line = (f"{filename} defines {len(roots)} nn.Module classes that no other class uses ({names}); "
            f"name the model as {filename}:NAME, e.g. {filename}:{(factories or roots)[0]}")
    return line + (f" (factories: {', '.join(factories)})" if factories else "")


def _class_entry(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], how: str,
                 blocks: tuple[str, ...] = ()) -> ModelEntry:
    init, unknown = lookup(cls, "__init__", classes)
    if isinstance(init, ast.FunctionDef | ast.AsyncFunctionDef):
        signature = _signature(cls.name, init.args, skip_self=True)
    elif init is None and not unknown:
        signature = Signature(f"{cls.name}()", (), ())  # nn.Module's own constructor
    else:
        signature = None
    return ModelEntry(cls.name, "class", how, signature, blocks)


def _factory_entry(fn: ast.FunctionDef, how: str) -> ModelEntry:
    return ModelEntry(fn.name, "factory", how, _signature(fn.name, fn.args, skip_self=False))


def _signature(name: str, args: ast.arguments, skip_self: bool) -> Signature:
    posonly = args.posonlyargs[1:] if skip_self and args.posonlyargs else args.posonlyargs
    regular = args.args[1:] if skip_self and not args.posonlyargs else args.args
    positional = posonly + regular
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts, required = [], []
    for arg, default in zip(positional, defaults, strict=True):
        parts.append(arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}")
        if default is None:
            required.append(arg.arg)
    if args.vararg:
        parts.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        parts.append("*")
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}")
        if default is None:
            required.append(arg.arg)
    if args.kwarg:
        parts.append(f"**{args.kwarg.arg}")
    names = tuple(a.arg for a in (*regular, *args.kwonlyargs))
    return Signature(f"{name}({', '.join(parts)})", names, tuple(required),
                     tuple(a.arg for a in posonly), args.kwarg is not None)


def dataset_args(n_classes: int, input_shape: list[int] | tuple[int, ...]) -> dict[str, int]:
    """The values the dataset can fill: class count always, channels for images ``(C, H, W)``."""
    values = {p: n_classes for p in CLASS_COUNT_PARAMS}
    if len(input_shape) == 3:
        values |= {p: int(input_shape[0]) for p in CHANNEL_PARAMS}
    return values


def bind_args(entry: ModelEntry, args: Mapping[str, object],
              available: Mapping[str, object]) -> tuple[dict, dict] | str:
    """``(arguments to pass, those filled from the dataset)``, or one line naming the bad parameter."""
    sig = entry.signature
    if sig is None:
        return dict(args), {}
    for key in args:
        if key in sig.positional_only:
            return f"{key} is positional-only in {sig.text}; it cannot be given by name"
        if key not in sig.names and not sig.var_keyword:
            return f"{entry.name} takes no parameter {key!r}; its signature is {sig.text}"
    filled = {k: v for k, v in available.items() if k in sig.names and k not in args}
    missing = [p for p in sig.required if p not in args and p not in filled]
    stuck = [p for p in missing if p in sig.positional_only]
    if stuck:
        return f"{sig.text} requires the positional-only {', '.join(stuck)}; give it a default or make it a keyword"
    if missing:
        how = " ".join(f"--model-arg {p}=VALUE" for p in missing)
        return f"{entry.name} requires {', '.join(missing)} (signature {sig.text}); pass {how}"
    return dict(args) | filled, filled


def lookup(cls: ast.ClassDef, name: str, classes: dict[str, ast.ClassDef],
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
            found, maybe = lookup(local, name, classes, seen | {cls.name})
            if found is not None:
                return found, False
            unknown = unknown or maybe
        elif dotted(base).split(".")[-1] != "Module":
            unknown = True
    return None, unknown


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _has_base(cls: ast.ClassDef) -> bool:
    return any(dotted(b) != "object" for b in cls.bases)


def _knowably_plain(cls: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> bool:
    """True when every base is ``object`` or a plain class of the file: it cannot be a module."""
    return all(dotted(b) == "object" or (isinstance(b, ast.Name) and b.id in classes
                                         and _knowably_plain(classes[b.id], classes))
               for b in cls.bases)


def _module_classes(classes: dict[str, ast.ClassDef]) -> list[str]:
    """Classes deriving from ``*Module`` or ``nn.*`` (``nn.Sequential``) directly or through another
    module class of the file."""
    found: list[str] = []
    grew = True
    while grew:
        grew = False
        for name, cls in classes.items():
            if name not in found and any(_module_base(dotted(b)) or dotted(b) in found for b in cls.bases):
                found.append(name)
                grew = True
    return [n for n in classes if n in found]  # in file order


def _module_base(name: str) -> bool:
    return name.split(".")[-1].endswith("Module") or name.startswith(("nn.", "torch.nn."))


def _roots(modules: list[str], classes: dict[str, ast.ClassDef]) -> list[str]:
    used = {n.id for m in modules for n in ast.walk(classes[m])
            if isinstance(n, ast.Name) and n.id != m}
    return [m for m in modules if m not in used]


def _factories(functions: dict[str, ast.FunctionDef], modules: list[str]) -> list[str]:
    """Top-level functions that build one of the file's module classes (``def ResNet18()``)."""
    return [name for name, fn in functions.items() if not name.startswith("_")
            and any(isinstance(n, ast.Return) and isinstance(n.value, ast.Call)
                    and dotted(n.value.func) in modules for n in ast.walk(fn))]


def _bound_otherwise(stmts: list[ast.stmt]) -> set[str]:
    """Top-level names bound by assignment or import (not by a class or def statement)."""
    names: set[str] = set()
    for node in stmts:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
    return names
