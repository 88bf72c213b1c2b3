"""Import the model file and check it against the model contract."""

from __future__ import annotations

import importlib.util
import inspect
import sys


class ModelRejected(Exception):
    """The model file does not satisfy the contract (one-line reason for the user)."""


def load_model_class(path: str):
    """Import ``path`` and return the model class: ``Model``, else the single nn.Module subclass."""
    import torch.nn as nn

    spec = importlib.util.spec_from_file_location("submitted_model", path)
    if spec is None or spec.loader is None:
        raise ModelRejected(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["submitted_model"] = module
    spec.loader.exec_module(module)
    candidate = getattr(module, "Model", None)
    if isinstance(candidate, type) and issubclass(candidate, nn.Module):
        return candidate
    defined = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == module.__name__
    ]
    if len(defined) != 1:
        names = ", ".join(sorted(c.__name__ for c in defined)) or "none"
        raise ModelRejected(
            f"expected a class named Model or exactly one nn.Module subclass, found: {names}"
        )
    return defined[0]


def check_constructor(cls) -> None:
    """The constructor must be callable with no arguments."""
    required = [
        p.name
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if required:
        raise ModelRejected(f"{cls.__name__}() must take no required arguments, has: {required}")


def check_output(output, batch: int, n_classes: int) -> None:
    import torch

    if not isinstance(output, torch.Tensor):
        raise ModelRejected(f"forward() must return a Tensor, returned {type(output).__name__}")
    if tuple(output.shape) != (batch, n_classes):
        raise ModelRejected(
            f"forward() returned shape {tuple(output.shape)}, expected ({batch}, {n_classes})"
        )
    if not output.dtype.is_floating_point:
        raise ModelRejected(f"forward() must return floating-point logits, got {output.dtype}")
