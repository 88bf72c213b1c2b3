"""``os._exit(0)`` in the constructor: exit code 0, no traceback, nothing the runner can
catch. The host never trusts the exit code alone: no done marker, no predictions, so
``invalid_output``.
"""

SOURCE = """
import os
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        os._exit(0)

    def forward(self, x):
        return x
"""


def test_silent_exit_zero_is_invalid_output(hostile):
    run = hostile(SOURCE)
    assert run.status == "invalid_output", run.explain()
    assert run.sandbox["exit_code"] == 0, run.explain()
