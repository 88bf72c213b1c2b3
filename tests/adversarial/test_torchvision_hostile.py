"""A model that imports torchvision (native code patched for the CPU image: sandbox_image/nocuda)
and uses it to get out: torchvision's downloader, its C++ file reader and writer, a shared object
it drops into /tmp and loads as an operator library, an AF_INET socket, the host's environment
through /proc, and finally ptrace.

Loading torchvision's extension modules changes nothing about the controls: no network, a
read-only root, noexec /tmp, host files invisible, the environment an allowlist, seccomp on.
Every attempt but the last must fail; if one succeeds the model raises (``crashed``). The last,
ptrace, is killed by seccomp: the expected status is ``policy_violation`` (exit 159), and the
model's last line on stderr says it got that far.
"""

import platform
import secrets

import pytest

from tests.adversarial.conftest import REPO

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 syscall numbers")

SOURCE = """
import ctypes
import glob
import os
import shutil
import socket
import sys

import torch
import torch.nn as nn
import torchvision
import torchvision.datasets
import torchvision.io
import torchvision.ops

NEEDLES = {needles!r}
HOST_FILE = {host_file!r}
SYS_PTRACE = 101


def attempts():
    yield "MNIST download", lambda: torchvision.datasets.MNIST("/tmp/mnist", download=True)
    yield "read /etc/shadow", lambda: torchvision.io.read_file("/etc/shadow")
    yield "read a host file", lambda: torchvision.io.read_file(HOST_FILE)
    site = os.path.dirname(torchvision.__file__)
    yield "write into torchvision", lambda: torchvision.io.write_file(
        os.path.join(site, "pwned.py"), torch.zeros(4, dtype=torch.uint8))
    # torchvision's own bundled zlib: it needs only libc, so noexec is the one thing in its way.
    libz = glob.glob(os.path.join(site, "..", "torchvision.libs", "libz.*"))[0]
    dropped = shutil.copy(libz, "/tmp/escape_ops.so")
    yield "load a library from /tmp", lambda: torch.ops.load_library(dropped)
    yield "AF_INET socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("1.1.1.1", 80))


def host_env_leaked():
    for path in glob.glob("/proc/*/environ"):
        try:
            data = open(path, "rb").read().decode("utf-8", "replace")
        except OSError:
            continue
        if any(n in data for n in NEEDLES):
            return path
    return None


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        escaped = []
        for name, attempt in attempts():
            try:
                attempt()
            except Exception:
                continue
            escaped.append(name)
        assert not escaped, f"escaped: {{escaped}}"
        assert host_env_leaked() is None, host_env_leaked()
        print("every attempt failed; ptrace next", file=sys.stderr, flush=True)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(SYS_PTRACE, 0, 0, 0, 0)
        raise AssertionError("ptrace returned")

    def forward(self, x):
        return x.flatten(1)[:, :10]
"""


def test_torchvision_gives_no_way_out(hostile):
    token = secrets.token_hex(8)
    env = {"RESEARCH_AGENT_ADV_CANARY": f"canary-{token}", "OPENAI_API_KEY": f"sk-canary-{token}"}
    source = SOURCE.format(needles=(f"canary-{token}", "RESEARCH_AGENT_ADV_CANARY"),
                           host_file=str(REPO / "pyproject.toml"))
    run = hostile(source, env=env)
    assert run.status == "policy_violation", run.explain()
    assert run.sandbox["exit_code"] == 159, run.explain()
    # killed at ptrace, not by an earlier attempt that hit a denied call
    assert "every attempt failed; ptrace next" in run.sandbox["stderr_tail"], run.explain()
    assert run.code == 3  # the CLI's "the model failed" exit code
