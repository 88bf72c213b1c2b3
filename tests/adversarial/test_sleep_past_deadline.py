"""Sleeping forever in the constructor. The runner's own watchdog (deadline = timeout - 1 s)
ends the process with 124 and the host, whose clock agrees, reports ``timeout`` at about
the deadline, not later.
"""

SOURCE = """
import time
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        time.sleep(3600)

    def forward(self, x):
        return x
"""


def test_sleeping_model_times_out(hostile):
    run = hostile(SOURCE, "--timeout", "8")
    assert run.status == "timeout", run.explain()
    assert run.sandbox["exit_code"] == 124 and run.sandbox["we_killed"] is False, run.explain()
    assert run.wall_s < 30, run.explain()
