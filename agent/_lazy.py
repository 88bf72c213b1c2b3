"""A package's public names, imported from their submodule on first use (PEP 562).

``research-agent --help`` must not pay for scikit-learn, scipy, optuna or matplotlib because a
package ``__init__`` re-exports a name from a module that needs them; each command imports what
it uses when it runs. The same idea as scientific-python's ``lazy_loader.attach``, in 30 lines.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable


def attach(package: str, exports: dict[str, list[str]]) -> tuple[Callable, Callable, list[str]]:
    """``exports`` maps a submodule (``"._catalog"``) to the names it provides.

    Returns the package's ``__getattr__``, ``__dir__`` and ``__all__``. A name is imported once;
    the module then caches it as an ordinary attribute.
    """
    where = {name: module for module, names in exports.items() for name in names}
    all_names = sorted(where)
    namespace = vars(sys.modules[package])  # called from the package's own __init__: it is there

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:  # a subpackage not imported yet (``agent.scoring`` after ``import agent``)
            if importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(all_names))

    return __getattr__, __dir__, all_names

