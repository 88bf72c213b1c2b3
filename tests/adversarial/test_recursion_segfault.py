"""Deep recursion with the recursion limit lifted: ``sys.setrecursionlimit(10**6)`` and the
repr of a list nested a million deep. CPython 3.11 keeps pure-Python frames off the C
stack, so the recursion goes through C (list repr): the 8 MiB C stack overflows first and
the process dies by SIGSEGV (exit 139, no traceback). The host reports ``crashed``.
"""

SOURCE = """
import sys
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        sys.setrecursionlimit(10**6)
        nested = []
        for _ in range(10**6):
            nested = [nested]
        repr(nested)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_stack_overflow_is_a_crash(hostile):
    run = hostile(SOURCE)
    assert run.status == "crashed", run.explain()
    assert run.sandbox["exit_code"] == 139, run.explain()
