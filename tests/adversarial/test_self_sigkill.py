"""The model SIGKILLs its own process. Exit 137 without OOMKilled and without our timer is,
by design, ``killed`` (DESIGN.md: "137 without OOM and without our timer; retryable"): from
outside, a self-inflicted SIGKILL cannot be told from one sent by something else on the
host. Note what that means: a hostile model can make its trial look retryable, so retries
must stay bounded.
"""

SOURCE = """
import os
import signal
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        os.kill(os.getpid(), signal.SIGKILL)

    def forward(self, x):
        return x
"""


def test_self_sigkill_is_killed(hostile):
    run = hostile(SOURCE)
    assert run.status == "killed", run.explain()
    assert run.sandbox["exit_code"] == 137 and run.sandbox["we_killed"] is False, run.explain()
