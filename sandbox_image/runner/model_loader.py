"""Import the model file, build its entry, and check the result against the model contract."""

from __future__ import annotations

import importlib.util
import inspect
import sys


class ModelRejected(Exception):
    """The model file does not satisfy the contract (one-line reason for the user)."""


_imported = False  # set just before the model file runs: from then on a failure may be the model's


def model_imported() -> bool:
    """True once the model file has started to run in this process (see EXIT_RUNNER_ERROR)."""
    return _imported


def load_entry(path: str, entry: str):
    """Import ``path`` and return ``entry``: an nn.Module class or a callable that builds one.

    The host resolved ``entry`` from the file's AST; this only looks it up.
    """
    global _imported
    import torch.nn as nn

    spec = importlib.util.spec_from_file_location("submitted_model", path)
    if spec is None or spec.loader is None:
        raise ModelRejected(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["submitted_model"] = module
    _imported = True
    spec.loader.exec_module(module)
    found = getattr(module, entry, None)
    if found is None:
        raise ModelRejected(f"the model file defines no {entry}")
    if isinstance(found, type) and not issubclass(found, nn.Module):
        raise ModelRejected(f"{entry} is a class but not an nn.Module subclass")
    if not callable(found):
        raise ModelRejected(f"{entry} is a {type(found).__name__}, not a class or a factory")
    return found


def build_model(factory, entry: str, args: dict):
    """``factory(**args)``, checked against its signature first; the result must be an nn.Module."""
    import torch.nn as nn

    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C callable: let the call say what is wrong
        signature = None
    if signature is not None:
        try:
            signature.bind(**args)
        except TypeError as exc:
            raise ModelRejected(f"{entry}{signature}: {exc}") from None
    model = factory(**args)
    if not isinstance(model, nn.Module):
        raise ModelRejected(f"{entry}(...) returned {type(model).__name__}, not an nn.Module")
    return model


def materialize(model, batch) -> None:
    """Run one no-grad forward in eval mode when lazy modules (``nn.LazyLinear``...) await their shapes.

    Parameters and buffers of lazy modules exist only after a first forward; counting them,
    moving them or handing them to an optimizer before that fails. Eval mode: no dropout draw,
    no BatchNorm statistics update, so this pass changes nothing but the shapes.
    """
    import itertools

    from torch.nn.parameter import is_lazy

    if not any(is_lazy(t) for t in itertools.chain(model.parameters(), model.buffers())):
        return
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(batch)
    model.train(was_training)


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
