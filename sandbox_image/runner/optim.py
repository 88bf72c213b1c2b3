"""torch's own optimizers and LR schedules, stepped without importing ``torch._dynamo``.

torch marks optimizer methods "never compile" with ``torch._disable_dynamo``, whose first call
imports ``torch._dynamo`` to build the mark, and wraps ``Optimizer.step`` in a guard that imports
it on every call to place graph breaks. That import took 0.9 s of CPU on 2 cores, more than a
short job's whole training, and both only matter to code that ``torch.compile`` traces: the
runner compiles nothing. So here:

- each such method's cached mark is the method itself, which is what the mark does to a call made
  outside compilation (``unmark``);
- ``step`` calls the optimizer's own update under ``no_grad``, as the guard does for an optimizer
  that is not ``differentiable``, and records the call as the LR schedule's wrapper does.

The update itself is torch's, untouched: the image's tests check that parameters come out
bit-identical to ``opt.step()``'s. What ``opt.step()`` adds around it is not called: the
profiler's ``record_function`` label and the optimizer step hooks (``register_step_pre_hook``,
``register_optimizer_step_pre_hook`` and their post twins). The runner registers none; a model
file that registers its own sees them skipped. Where torch's layout differs from what this expects, ``step``
is plain ``opt.step()`` (correct, only slower). A model that compiles its own forward imports
dynamo itself and gets it whole.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch

__all__ = ["stepper", "unmark"]

_MARK = "__dynamo_disable"  # the attribute torch._compile._disable_dynamo caches its mark in


def _mark_code():
    try:
        from torch._compile import _disable_dynamo
    except ImportError:
        return None
    return _disable_dynamo(lambda: None).__code__


_INNER_CODE = _mark_code()


def unmark(*classes: type) -> None:
    """Give every ``torch._disable_dynamo`` method of ``classes`` (and their bases) itself as its mark."""
    if _INNER_CODE is None:
        return
    for cls in classes:
        for klass in cls.__mro__:
            for attr in vars(klass).values():
                wrapped = getattr(attr, "__wrapped__", None)
                if getattr(attr, "__code__", None) is _INNER_CODE and callable(wrapped):
                    setattr(wrapped, _MARK, wrapped)


def stepper(opt: torch.optim.Optimizer) -> Callable[[], None]:
    """``opt.step()`` without its dynamo guard; plain ``opt.step`` for an optimizer this does not fit."""
    update = inspect.unwrap(type(opt).step)
    if update is type(opt).step or opt.defaults.get("differentiable", False):
        return opt.step

    def step() -> None:
        with torch.no_grad():
            update(opt)
        opt._opt_called = True  # what the LR schedule's wrapper of opt.step records

    return step


unmark(torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD, torch.optim.lr_scheduler.CosineAnnealingLR,
       torch.optim.lr_scheduler.StepLR)
