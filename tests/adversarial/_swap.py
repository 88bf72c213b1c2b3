"""Hostile source for the report-tampering cases: the model shares the runner's process, so its
constructor can replace a function the runner uses to write ``/out/report.json``."""

from __future__ import annotations

import textwrap


def model_that_swaps(module: str, name: str, replacement: str) -> str:
    """A small digits model whose constructor sets ``module.name`` to ``replacement``: the source
    of a function called ``name``, which may call the original as ``_real_<name>``."""
    return f"""
import {module}
import torch.nn as nn

_real_{name} = {module}.{name}

{textwrap.dedent(replacement).strip()}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        {module}.{name} = {name}
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""
