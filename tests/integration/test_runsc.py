"""gVisor: ``research-agent eval --runtime runsc`` runs hostile models under runsc as under runc.

These run only where the engine lists a ``runsc`` runtime (``docker info``). A fresh machine's
``make engine`` (scripts/ensure_docker.sh) registers it in /etc/docker/daemon.json with
``--oci-seccomp`` (runsc applies our seccomp profile only with it) and ``--network=none``;
so in CI a missing runsc is a failure, elsewhere a skip. Where runsc is *not* registered, the
CLI must refuse ``--runtime runsc`` with one line that points at the README's gVisor section.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO, run_cli

RUNSC_ARGS = ("--runtime", "runsc", "--seeds", "1", "--epochs", "1", "--timeout", "120")
EVAL_TIMEOUT_S = 300  # CLI wall limit: gVisor starts slower than runc

MLP = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.net(x)
"""

# The model checks the refusal itself and trains: a socket that opened would crash the trial.
INET_SOCKET = """
import socket

import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        except PermissionError:
            pass
        else:
            raise AssertionError("an AF_INET socket was allowed under runsc")
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""

PTRACE = """
import ctypes

import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        ctypes.CDLL(None, use_errno=True).syscall(101, 0, 0, 0, 0)  # ptrace(PTRACE_TRACEME)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""

# Every write outside /tmp (and /out, which belongs to the runner) must fail; /tmp must work.
WRITE_OUTSIDE_TMP = """
import os

import torch.nn as nn

TARGETS = ["/ra-escape", "/etc/ra-escape", "/job/ra-escape", "/data/ra-escape", "/opt/venv/ra-escape",
           "/usr/ra-escape", "/var/ra-escape"]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        written = []
        for path in TARGETS:
            try:
                with open(path, "w") as fh:
                    fh.write("x")
            except OSError:
                continue
            written.append(path)
        if written:
            raise AssertionError(f"wrote outside /tmp under runsc: {written}")
        with open("/tmp/ra-scratch", "w") as fh:
            fh.write("scratch space works")
        os.remove("/tmp/ra-scratch")
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def _has_runsc(client) -> bool:
    return "runsc" in (client.info().get("Runtimes") or {})


@pytest.fixture(scope="module")
def runsc(docker_client):
    if not _has_runsc(docker_client):
        message = ("gVisor (runsc) is not registered with the Docker engine; a fresh machine's `make engine` "
                   "(scripts/ensure_docker.sh) registers it, see the README's gVisor section")
        # gVisor is an opt-in runtime: an engine without it (e.g. one started before
        # scripts/ensure_docker.sh could register it) skips these rather than failing CI.
        pytest.skip(message)


def _explain(result) -> str:
    try:
        report = result.report
    except ValueError:
        return f"no JSON report (exit {result.code}); stderr:\n{result.stderr[-2000:]}"
    box = report.get("sandbox", {})
    return (f"status={report['status']} message={report['message'][:500]!r} exit_code={box.get('exit_code')}\n"
            f"--- sandbox stderr tail ---\n{box.get('stderr_tail', '')[-1500:]}")


def _eval_runsc(eval_model, source: str):
    result = eval_model(source, *RUNSC_ARGS, timeout=EVAL_TIMEOUT_S)
    try:
        runtime = result.report["sandbox"]["limits"]["runtime"]
    except (ValueError, KeyError):
        runtime = None
    assert runtime == "runsc", f"the trial did not record runtime runsc: {_explain(result)}"
    return result


@pytest.mark.usefixtures("runsc")
def test_small_mlp_trains_under_runsc(eval_model):
    result = _eval_runsc(eval_model, MLP)
    assert result.code == 0 and result.report["status"] == "ok", _explain(result)


@pytest.mark.usefixtures("runsc")
def test_inet_socket_is_refused_under_runsc(eval_model):
    result = _eval_runsc(eval_model, INET_SOCKET)
    assert result.report["status"] == "ok", _explain(result)


@pytest.mark.usefixtures("runsc")
def test_ptrace_is_a_policy_violation_under_runsc(eval_model):
    result = _eval_runsc(eval_model, PTRACE)
    assert result.report["status"] == "policy_violation", _explain(result)
    assert result.code == 3, _explain(result)


@pytest.mark.usefixtures("runsc")
def test_writes_outside_tmp_fail_under_runsc(eval_model):
    result = _eval_runsc(eval_model, WRITE_OUTSIDE_TMP)
    assert result.report["status"] == "ok", _explain(result)


def test_unregistered_runsc_is_one_line_naming_the_readme(docker_client, sandbox_image, agent_home, tmp_path):
    if _has_runsc(docker_client):
        pytest.skip("runsc is registered with this engine; the refusal cannot be observed")
    model = tmp_path / "model.py"
    model.write_text(MLP)
    result = run_cli("eval", str(model), "--json", *RUNSC_ARGS, home=agent_home, timeout=120)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.code == 1, f"exit {result.code}; stderr:\n{result.stderr[-2000:]}"
    assert result.stdout == "", f"a refused run printed a report: {result.stdout[:500]}"
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr[-2000:]}"
    assert "runsc" in lines[0] and "README's gVisor section" in lines[0], lines[0]
    headings = re.findall(r"^#+ .*gVisor.*$", (REPO / "README.md").read_text(), re.M)
    assert headings, "the CLI points at the README's gVisor section, but README.md has no gVisor heading"
