"""An x32-ABI syscall (nr | 0x40000000): the ABI trick to reach calls a filter forgot.

The profile lists no sub-architectures, so the call hits libseccomp's bad-arch action,
which kills the calling *thread*, not the process. The runner always has more threads, so
the process would live on until its deadline; the runner's watchdog sees the main thread die
by SIGSYS and ends the process with 159, so the host reports ``policy_violation`` at once.
"""

import platform

import pytest

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x32 is an x86_64 ABI")

SOURCE = """
import ctypes
import torch.nn as nn

X32_SYSCALL_BIT = 0x40000000
SYS_GETPID = 39


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        libc = ctypes.CDLL(None, use_errno=True)  # releases the GIL during the call
        libc.syscall(X32_SYSCALL_BIT | SYS_GETPID)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_x32_syscall_is_a_policy_violation(hostile):
    run = hostile(SOURCE)
    assert run.status == "policy_violation", run.explain()
    assert run.sandbox["exit_code"] == 159, run.explain()
    assert run.wall_s < 40, "it must end when the thread dies, not at the 60 s deadline"
