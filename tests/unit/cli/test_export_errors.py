"""`export` and `run --mlflow` errors: one line, the documented exit code, nothing recorded lost.

The registry is a real SQLite file filled through its API; DOCKER_HOST points at a dead socket,
so nothing here can reach the engine (a bad tracking URI must fail before any trial)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent.registry import RunStatus, SQLiteRegistry
from tests.conftest import run_cli
from tests.dashboard_server import free_port
from tests.reports import make_report

DEAD_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def run_id(home) -> str:
    with SQLiteRegistry(home / "registry.sqlite") as reg:
        run = reg.create_run("digits 90%", {"goal": {"dataset": "digits", "target": 0.9, "metric": "accuracy"}})
        t = reg.start_trial(run.id, {"model": {"family": "mlp"}}, "import torch\n")
        reg.finish_trial(t.id, make_report(seeds=[0, 1]))
        reg.set_run_status(run.id, RunStatus.INCONCLUSIVE, decision={"reason": "reached --max-iterations 1"})
        return run.id


def _one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr


def test_export_without_a_target_is_a_usage_error(home, run_id):
    done = run_cli("export", run_id, home=home, env=DEAD_ENGINE)
    assert done.code == 2 and "--mlflow [URI], --tensorboard DIR" in _one_line(done.stderr)


def test_an_unknown_run_is_one_line(home, run_id):
    done = run_cli("export", "run-20990101-000000-abcd", "--mlflow", home=home, env=DEAD_ENGINE)
    assert done.code == 1 and "no run 'run-20990101-000000-abcd'" in _one_line(done.stderr)


def test_a_bad_uri_and_a_dead_server_are_one_line_exit_1_without_credentials(home, run_id, tmp_path):
    bad = run_cli("export", run_id, "--mlflow", "bogus://nowhere", home=home, env=DEAD_ENGINE)
    assert bad.code == 1 and "cannot connect to MLflow at bogus://nowhere" in _one_line(bad.stderr)
    uri = f"http://alice:s3cret@127.0.0.1:{free_port()}"
    down = run_cli("export", run_id, "--mlflow", uri, home=home, env=DEAD_ENGINE)
    assert down.code == 1 and "the server does not answer" in _one_line(down.stderr)
    assert "s3cret" not in down.stderr + down.stdout and "http://***@127.0.0.1" in down.stderr


def test_run_with_a_dead_tracking_server_stops_before_recording_anything(home, run_id):
    uri = f"http://127.0.0.1:{free_port()}"
    done = run_cli("run", "--max-iterations", "1", "--mlflow", uri, home=home, env=DEAD_ENGINE)
    assert done.code == 1 and f"cannot connect to MLflow at {uri}" in done.stderr.splitlines()[-1]
    with SQLiteRegistry(home / "registry.sqlite") as reg:
        assert [r.id for r in reg.list_runs()] == [run_id]  # no new run; the old one untouched
        assert reg.get_run(run_id).status == RunStatus.INCONCLUSIVE


def test_mlflow_alone_means_mlflows_default_store_in_the_working_directory(home, run_id, tmp_path):
    # From an empty folder with no MLFLOW_TRACKING_URI: MLflow's own default, ./mlflow.db (and ./mlruns).
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {"RESEARCH_AGENT_HOME": str(home)}
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-m", "agent", "export", run_id, "--mlflow", "--json"], cwd=work,
                          env=env | DEAD_ENGINE, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mlflow"]["created"] == 1 + 1 + 2
    assert (work / "mlflow.db").is_file() and (work / "mlruns").is_dir()


def test_resuming_a_live_logged_run_without_mlflow_says_the_rest_goes_unlogged(home, run_id):
    with SQLiteRegistry(home / "registry.sqlite") as reg:
        note = reg.run_dir(run_id) / "tracking.json"
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text(json.dumps({"mlflow": {"where": "MLflow at http://***@mlflow.lab, experiment 'x'"}}))
    done = run_cli("resume", run_id, home=home, env=DEAD_ENGINE)  # the dead engine ends it after the hint
    assert done.code == 1
    assert (f"this run was logged live to MLflow at http://***@mlflow.lab, experiment 'x'; without --mlflow the "
            f"rest is not: pass --mlflow URI, or `research-agent export {run_id} --mlflow URI` later") in done.stderr
