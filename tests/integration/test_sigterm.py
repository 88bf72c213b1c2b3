"""SIGTERM (what `timeout`, CI, systemd, Docker and Kubernetes send) interrupts, it does not abandon.

The real CLI in a subprocess, the real engine: stopped mid-trial, `run` exits 143, the run reads
``interrupted`` and no container of it is left; `resume` finishes it. A second signal while it
unwinds exits at once, and `resume` reaps what that left. `eval` exits 143 and leaves nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

GOAL = "Design a model for the digits dataset with at least 95% accuracy"
TRIAL_LABEL = "org.research-agent.trial"
EXIT_SIGTERM = 143  # 128 + 15
STOP_WITHIN_S = 30  # removing one container and a registry write; far less in practice

MODEL = """\
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """One home for the file: digits is prepared once; each test finds its own run by id."""
    return tmp_path_factory.mktemp("sigterm-home")


def start(home: Path, *args: str) -> subprocess.Popen:
    """`research-agent ARGS` as `timeout` would start it; SIGHUP at its default even under nohup."""
    env = os.environ | {"RESEARCH_AGENT_HOME": str(home)}
    inherited = signal.signal(signal.SIGHUP, signal.SIG_DFL)  # an ignored signal stays ignored in the child
    try:
        return subprocess.Popen([sys.executable, "-m", "agent", *args], cwd=REPO, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    finally:
        signal.signal(signal.SIGHUP, inherited)


def query(home: Path, sql: str) -> list[tuple]:
    """Read the registry directly (read-only), as a second tool would."""
    path = home / "registry.sqlite"
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        conn.close()


def run_status(home: Path, run_id: str) -> str:
    return query(home, f"SELECT status FROM runs WHERE id = '{run_id}'")[0][0]


def containers(docker_client, prefix: str) -> list:
    found = docker_client.containers.list(all=True, filters={"label": TRIAL_LABEL})
    return [c for c in found if c.labels.get(TRIAL_LABEL, "").startswith(prefix)]


def wait_for(proc: subprocess.Popen, predicate, what: str, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode} before {what}: {proc.communicate()[1][-2000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def mid_trial(proc: subprocess.Popen, home: Path, docker_client) -> str:
    """The id of the run once a trial of it is running inside its container."""
    def running_run() -> str | None:
        rows = query(home, "SELECT run_id FROM trials WHERE state = 'running'")
        run_id = rows[0][0] if rows else None
        return run_id if run_id and containers(docker_client, f"{run_id}/") else None

    return wait_for(proc, running_run, "a trial to run in its container")


def stop(proc: subprocess.Popen, *signals: int) -> tuple[int, str, str, float]:
    """Send the signals back to back; (exit code, stdout, stderr, seconds until it exited)."""
    t0 = time.monotonic()
    for signum in signals:
        os.kill(proc.pid, signum)
    out, err = proc.communicate(timeout=STOP_WITHIN_S * 2)
    return proc.returncode, out, err, time.monotonic() - t0


def resume_finishes(home: Path, docker_client, run_id: str) -> str:
    """`resume` ends the run and leaves no container of it; its stderr (progress: no --json)."""
    resumed = run_cli("resume", run_id, home=home, timeout=600)
    assert resumed.code in (0, 3), resumed.stderr[-2000:]  # achieved / ended without achieving it
    assert run_status(home, run_id) not in ("running", "interrupted")
    assert containers(docker_client, f"{run_id}/") == []
    return resumed.stderr


def test_sigterm_mid_trial_marks_the_run_interrupted_and_removes_the_container(sandbox_image, docker_client,
                                                                               home):
    proc = start(home, "run", "--goal", GOAL, "--json", "--max-iterations", "1", "--seeds", "2")
    run_id = mid_trial(proc, home, docker_client)
    code, out, err, took = stop(proc, signal.SIGTERM)
    assert code == EXIT_SIGTERM, err[-2000:]
    assert took < STOP_WITHIN_S
    assert f"interrupted by SIGTERM; the run is kept: `research-agent resume {run_id}`" in err
    assert "Traceback" not in err and out == ""  # --json: one document or nothing on stdout
    assert run_status(home, run_id) == "interrupted"
    assert containers(docker_client, f"{run_id}/") == []
    resume_finishes(home, docker_client, run_id)


def test_a_second_signal_while_unwinding_exits_at_once_and_resume_reaps(sandbox_image, docker_client, home):
    proc = start(home, "run", "--goal", GOAL, "--json", "--max-iterations", "1", "--seeds", "2")
    run_id = mid_trial(proc, home, docker_client)
    # Two different signals never merge into one pending signal: the first (SIGHUP) starts the
    # unwinding, the second (SIGTERM) lands in it, wherever it is.
    code, _, err, took = stop(proc, signal.SIGHUP, signal.SIGTERM)
    assert code == EXIT_SIGTERM, err[-2000:]
    assert "interrupted again by SIGTERM: exiting now" in err
    assert took < STOP_WITHIN_S
    left = containers(docker_client, f"{run_id}/")
    resumed = resume_finishes(home, docker_client, run_id)
    if left:
        assert f"removed {len(left)} container(s)" in resumed


def test_eval_under_sigterm_exits_143_and_leaves_no_container(sandbox_image, docker_client, home, tmp_path):
    model = tmp_path / "model.py"
    model.write_text(MODEL)
    before = {c.id for c in containers(docker_client, "eval-")}
    proc = start(home, "eval", str(model), "--json", "--seeds", "2", "--epochs", "200")
    ours = wait_for(proc, lambda: [c for c in containers(docker_client, "eval-") if c.id not in before],
                    "the eval's container")
    code, out, err, took = stop(proc, signal.SIGTERM)
    assert code == EXIT_SIGTERM, err[-2000:]
    assert took < STOP_WITHIN_S
    assert "interrupted by SIGTERM; nothing was recorded" in err and out == ""
    assert not {c.id for c in ours} & {c.id for c in containers(docker_client, "eval-")}
