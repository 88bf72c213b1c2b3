"""An x32 syscall made while holding the GIL (``ctypes.PyDLL``): a known, bounded gap.

seccomp kills only the calling thread (bad-arch action). With the GIL held by that dead
thread no Python code runs again, the job's watchdog included, so nothing in that process
can report SIGSYS: it hangs until the supervisor (a separate process) kills it
DEADLINE_GRACE_S after the deadline and exits 124. The syscall itself never ran. The host
must still end it, as ``timeout``, never ``ok``, and leave nothing behind. (Catching it as
``policy_violation`` would need the bad-arch action to be KILL_PROCESS, which Docker's
profile format cannot express.)
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
        libc = ctypes.PyDLL(None)  # PyDLL keeps the GIL during the call
        libc.syscall(X32_SYSCALL_BIT | SYS_GETPID)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_x32_syscall_with_gil_held_ends_as_our_timeout(hostile):
    run = hostile(SOURCE, "--timeout", "5")
    assert run.status == "timeout", run.explain()
    assert run.sandbox["exit_code"] == 124 and run.sandbox["we_killed"] is False, run.explain()
