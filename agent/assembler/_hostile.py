"""Find calls in model source that a model has no business making (reported, never rejected).

A static look at names only: ``getattr(os, "sys" + "tem")`` walks past it, and that is fine.
The report helps a person reading the trial; the sandbox is what stops the call.
"""

from __future__ import annotations

import ast
import posixpath

__all__ = ["suspicious_calls"]

# Any call into these modules is reported: processes, sockets, raw memory, the network.
_HOSTILE_MODULES = frozenset(
    {"subprocess", "socket", "ctypes", "pty", "multiprocessing", "urllib", "http", "requests", "ftplib",
     "smtplib", "telnetlib", "webbrowser", "mmap", "resource", "signal", "pickle", "marshal", "shelve"}
)
# Single functions of otherwise harmless modules.
_HOSTILE_FUNCTIONS = frozenset(
    {"os.system", "os.popen", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os._exit", "os.setuid",
     "os.setgid", "os.chmod", "os.chown", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.symlink",
     "os.link", "os.putenv", "os.unsetenv", "os.chdir", "sys.exit", "shutil.rmtree", "shutil.move",
     "importlib.import_module", "importlib.__import__", "builtins.eval", "builtins.exec", "threading.Thread",
     "torch.load", "numpy.load"}
)
_HOSTILE_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn", "os.wait")
_HOSTILE_BUILTINS = frozenset({"eval", "exec", "compile", "__import__", "breakpoint", "exit", "quit"})
# Calls that name a path: an absolute literal outside /tmp is reported (the model reads no files).
_PATH_CALLS = frozenset({"open", "io.open", "os.open", "pathlib.Path", "os.listdir", "os.scandir", "os.stat"})
_SCRATCH = "/tmp"


def suspicious_calls(tree: ast.AST) -> list[str]:
    """Return ``"NAME at line N"`` for each hostile-looking call, in source order, without repeats."""
    aliases = _aliases(tree)
    shadowed = _module_level_names(tree)
    found: list[str] = []
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=_position):
        name = _resolve(node.func, aliases)
        if name is None:
            continue
        why = _hostile(name, aliases, shadowed) or _outside_scratch(name, node)
        if why and (entry := f"{why} at line {node.lineno}") not in found:
            found.append(entry)
    return found


def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted origin, from every import in the file (``import os as o`` gives o -> os)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _resolve(func: ast.expr, aliases: dict[str, str]) -> str | None:
    """The dotted name a call goes to (``o.system`` -> ``os.system``), or None if not a plain name."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(aliases.get(func.id, func.id))
    return ".".join(reversed(parts))


def _module_level_names(tree: ast.AST) -> set[str]:
    """Names the file itself defines at module level (its own ``eval`` is not the builtin)."""
    body = tree.body if isinstance(tree, ast.Module) else []
    names = {n.name for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    for node in body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _hostile(name: str, aliases: dict[str, str], shadowed: set[str]) -> str | None:
    root = name.split(".")[0]
    if name in _HOSTILE_BUILTINS and name not in aliases and name not in shadowed:
        return f"{name}()"
    if root in _HOSTILE_MODULES or name in _HOSTILE_FUNCTIONS or name.startswith(_HOSTILE_PREFIXES):
        return name
    return None


def _outside_scratch(name: str, call: ast.Call) -> str | None:
    if name not in _PATH_CALLS or not call.args:
        return None
    first = call.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    path = posixpath.normpath(first.value)  # "/tmp/../etc" is not under /tmp
    if path.startswith("/") and path != _SCRATCH and not path.startswith(_SCRATCH + "/"):
        return f"{name}({first.value!r})"
    return None
