"""Hostile behaviour stays inside: no network, no writes outside /tmp, deadlines, memory, pids."""

from __future__ import annotations

import os
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
import pytest

from agent.sandbox._controls import KILL_GRACE_S
from agent.sandbox._docker import TRIAL_LABEL
from tests.conftest import CliResult, run_cli

EXIT_OK, EXIT_MODEL_FAILED = 0, 3
FAILURE_STATUSES = {"timeout", "policy_violation", "oom", "killed", "crashed", "resource_limit",
                    "output_limit", "invalid_output", "invalid_submission"}


def _model(prelude: str, forward: str = "", imports: str = "") -> str:
    """A linear model; ``prelude`` runs in the constructor, ``forward`` before the logits."""
    return f"""
import torch.nn as nn
{imports}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
{textwrap.indent(textwrap.dedent(prelude) or "pass", " " * 8)}
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
{textwrap.indent(textwrap.dedent(forward) or "pass", " " * 8)}
        return self.fc(x.flatten(1))
"""


@dataclass
class TrackedRun:
    result: CliResult
    containers: set[str] = field(default_factory=set)

    @property
    def report(self) -> dict:
        return self.result.report


@pytest.fixture
def tracked_eval(sandbox_image, docker_client, agent_home, tmp_path):
    """``eval --json`` in a subprocess, recording the ids of the containers it created.

    Other test sessions may run trials at the same time, so our containers are told apart by
    their /job bind mount: the CLI makes the job dir under TMPDIR, which we point at a folder
    of this test's own.
    """
    job_root = tmp_path / "jobs"
    job_root.mkdir()

    def _run(source: str, *args: str, timeout: float = 300) -> TrackedRun:
        model = tmp_path / "model.py"
        model.write_text(textwrap.dedent(source))
        run = TrackedRun(CliResult(-1, "", ""))
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch, args=(docker_client, job_root, run.containers, stop), daemon=True
        )
        watcher.start()
        try:
            run.result = run_cli("eval", str(model), "--json", *args, home=agent_home,
                                 timeout=timeout, env={"TMPDIR": str(job_root)})
        finally:
            stop.set()
            watcher.join(timeout=10)
        return run

    return _run


def _ours(container, job_root: Path) -> bool:
    return any(m.get("Source", "").startswith(str(job_root)) for m in container.attrs["Mounts"])


def _watch(client, job_root: Path, seen: set[str], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            for container in client.containers.list(all=True, filters={"label": TRIAL_LABEL}):
                if _ours(container, job_root):
                    seen.add(container.id)
        except docker.errors.DockerException:
            pass  # raced with a removal; look again
        stop.wait(0.2)


def _assert_removed(client, run: TrackedRun) -> None:
    assert run.containers, "never saw the trial's container"
    for container_id in run.containers:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container_id)


CONNECT_PRELUDE = """
for family, addrs in FAMILIES:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        for addr in addrs:
            try:
                sock = socket.socket(family, kind)
            except OSError:
                continue  # the seccomp profile refuses the socket family: expected
            try:
                sock.settimeout(2)
                sock.connect(addr)
                if kind == socket.SOCK_DGRAM:
                    sock.send(b"x")
            except OSError:
                continue  # no route: network_mode none
            finally:
                sock.close()
            raise RuntimeError(f"connected to {addr} ({family}, {kind})")
"""


@pytest.mark.parametrize("families", [
    'FAMILIES = [(socket.AF_INET, [("1.1.1.1", 53), ("172.17.0.1", 2375), ("8.8.8.8", 443)])]',
    'FAMILIES = [(socket.AF_INET6, [("2606:4700:4700::1111", 53, 0, 0), ("::1", 2375, 0, 0)])]',
], ids=["inet", "inet6"])
def test_network_is_unreachable(tracked_eval, docker_client, families):
    run = tracked_eval(_model(CONNECT_PRELUDE, imports=f"import socket\n{families}"),
                       "--seeds", "1", "--epochs", "1")
    assert run.report["status"] == "ok", (run.report["message"], run.report["sandbox"])
    assert run.result.code == EXIT_OK
    _assert_removed(docker_client, run)


WRITE_PRELUDE = """
for path in ("/etc/passwd", "/etc/evil", "/opt/evil", "/job/model.py", "/job/evil",
             "/data/train_x.npy", "/data/evil", "/evil", "/var/tmp/evil", "/usr/lib/evil"):
    try:
        with open(path, "a") as fh:
            fh.write("evil")
    except OSError:
        continue
    raise RuntimeError(f"wrote to {path}")
"""


def test_writes_outside_tmp_fail(tracked_eval, docker_client):
    run = tracked_eval(_model(WRITE_PRELUDE), "--seeds", "1", "--epochs", "1")
    assert run.report["status"] == "ok", (run.report["message"], run.report["sandbox"])
    assert run.result.code == EXIT_OK
    _assert_removed(docker_client, run)


def test_infinite_loop_times_out(tracked_eval, docker_client):
    timeout = 8
    run = tracked_eval(_model("", "while True:\n    pass"), "--seeds", "1", "--epochs", "1",
                       "--timeout", str(timeout), timeout=120)
    report = run.report
    assert run.result.code == EXIT_MODEL_FAILED
    assert report["status"] == "timeout", report["message"]
    assert 7 <= report["sandbox"]["wall_s"] <= timeout + KILL_GRACE_S + 10
    _assert_removed(docker_client, run)


def test_memory_hog_is_oom(tracked_eval, docker_client):
    prelude = """
    hoard = []
    while True:
        hoard.append(torch.ones(25_000_000))  # 100 MB each, touched
    """
    run = tracked_eval(_model(prelude, imports="import torch"), "--seeds", "1", "--epochs", "1",
                       "--memory", "1g", "--timeout", "60", timeout=180)
    report = run.report
    assert run.result.code == EXIT_MODEL_FAILED
    assert report["status"] == "oom", (report["message"], report["sandbox"])
    _assert_removed(docker_client, run)


FORK_BOMB = """
while True:
    try:
        os.fork()  # parent and children alike keep forking
    except OSError:
        pass
"""


def _host_processes() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def test_fork_bomb_is_contained(tracked_eval, docker_client):
    timeout = 10
    before = _host_processes()
    started = time.monotonic()
    run = tracked_eval(_model(FORK_BOMB, imports="import os"), "--seeds", "1", "--epochs", "1",
                       "--timeout", str(timeout), "--cpus", "1", timeout=120)
    took = time.monotonic() - started
    report = run.report
    assert run.result.code in (EXIT_OK, EXIT_MODEL_FAILED), run.result.stderr
    assert report["status"] in FAILURE_STATUSES | {"ok"}, report["message"]
    assert report["sandbox"]["wall_s"] <= timeout + KILL_GRACE_S + 10
    assert took <= timeout + KILL_GRACE_S + 60
    _assert_removed(docker_client, run)
    time.sleep(1)  # let the engine reap the container's processes
    after = _host_processes()
    assert after <= before + 40, f"host processes {before} -> {after}"
