"""The package surface: complete ``__all__``, the contract on the base class, import boundaries."""

import inspect
import types

import agent.registry as registry
from agent.registry import BaseRegistry, SQLiteRegistry
from tests.unit.test_boundaries import _hits


def test_all_lists_exactly_the_public_names():
    public = {n for n, v in vars(registry).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public == set(registry.__all__)


def test_every_exported_name_is_importable():
    for name in registry.__all__:
        assert getattr(registry, name) is not None


def test_base_docstring_states_the_contract():
    doc = inspect.getdoc(BaseRegistry)
    for promise in ("Thread-safe", "one transaction", "half-written", "frozen snapshots", "RegistryError"):
        assert promise in doc


def test_sqlite_implements_every_abstract_method():
    assert not inspect.isabstract(SQLiteRegistry)


def test_only_the_registry_imports_sqlite3():
    offenders = [h for h in _hits("agent", ("sqlite3",)) if not h.startswith("agent/registry/")]
    assert offenders == []


def test_the_registry_imports_no_loop_planner_or_sandbox():
    assert _hits("agent/registry", ("agent.planner", "agent.sandbox", "agent.study", "docker")) == []
