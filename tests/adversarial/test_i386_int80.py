"""An i386 syscall through ``int 0x80`` from machine code the model maps executable.

The 32-bit ABI has its own syscall numbers; a filter that only lists x86_64 would let
them through. This profile has no i386 sub-architecture, so the call hits the bad-arch
action (the thread dies by SIGSYS) and the runner's watchdog turns that into exit 159:
``policy_violation``, promptly.
"""

import platform

import pytest

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86 machine code")

SOURCE = """
import ctypes
import mmap
import torch.nn as nn

# mov eax, 20 (getpid on i386); int 0x80; ret
CODE = b"\\xb8\\x14\\x00\\x00\\x00\\xcd\\x80\\xc3"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        prot = mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
        mem = mmap.mmap(-1, mmap.PAGESIZE, prot=prot)
        mem.write(CODE)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
        ctypes.CFUNCTYPE(ctypes.c_int)(addr)()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_int80_syscall_is_a_policy_violation(hostile):
    run = hostile(SOURCE)
    assert run.status == "policy_violation", run.explain()
    assert run.sandbox["exit_code"] == 159, run.explain()
    assert run.wall_s < 40, "it must end when the thread dies, not at the 60 s deadline"
