"""The package exports every public function and class of its private modules, and nothing missing."""

import importlib
import inspect
import pkgutil

import agent.scoring as scoring


def test_all_names_resolve_and_are_sorted_within_groups():
    for name in scoring.__all__:
        assert hasattr(scoring, name), name
    assert len(set(scoring.__all__)) == len(scoring.__all__)


def test_every_public_function_and_class_is_exported():
    missing = []
    for info in pkgutil.iter_modules(scoring.__path__):
        module = importlib.import_module(f"agent.scoring.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and name not in scoring.__all__:
                missing.append(f"{info.name}.{name}")
    assert missing == []


def test_scoring_does_no_io_outside_plots():
    for info in pkgutil.iter_modules(scoring.__path__):
        if info.name == "_plots":
            continue
        source = inspect.getsource(importlib.import_module(f"agent.scoring.{info.name}"))
        assert "open(" not in source and "pathlib" not in source and "matplotlib" not in source, info.name
