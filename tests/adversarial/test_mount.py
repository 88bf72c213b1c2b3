"""mount("none", "/tmp", "tmpfs", 0, NULL): remounting is how sandboxes are undone

The call is in seccomp's DENIED_KILL list: the kernel kills the process with SIGSYS, the
container exits 159 and the host reports ``policy_violation`` (not a crash, not ok).
"""

import platform

import pytest

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 syscall numbers")

SOURCE = """
import ctypes
import torch.nn as nn

SYS_MOUNT = 165


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(SYS_MOUNT, b"none", b"/tmp", b"tmpfs", 0, 0)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_mount_is_a_policy_violation(hostile):
    run = hostile(SOURCE)
    assert run.status == "policy_violation", run.explain()
    assert run.sandbox["exit_code"] == 159, run.explain()
    assert run.code == 3  # the CLI's "the model failed" exit code
