"""``raise SystemExit(0)`` in the constructor: an attempt to end "successfully" before any
prediction exists. The runner treats the model's errors as data (it catches BaseException,
SystemExit included) and exits 1: the host reports ``crashed``, never ``ok``.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        raise SystemExit(0)

    def forward(self, x):
        return x
"""


def test_system_exit_is_a_crash(hostile):
    run = hostile(SOURCE)
    assert run.status == "crashed", run.explain()
    assert "SystemExit" in run.message, run.explain()
