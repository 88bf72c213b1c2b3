"""Real runs (real sandbox trials) in MLflow and TensorBoard, read back with their own readers.

- a run logged live (`run --mlflow`) and the same run exported afterwards give the same MLflow
  runs, params, metric histories (with their steps) and artifacts; exporting again changes nothing;
- TensorBoard's own event reader finds every curve of every seed, and the hparams table;
- a real `mlflow server` killed mid-run: the run finishes and is recorded whole, the failed writes
  are kept and reported, and `export` afterwards catches the server up;
- SIGTERM mid-run, then `resume --mlflow`: the same MLflow runs go on, none is duplicated.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.dashboard_server import free_port
from tests.integration.test_sigterm import EXIT_SIGTERM, containers, mid_trial, query, wait_for
from tests.unit.report.test_tracking import _dump

pytestmark = pytest.mark.docker

GOAL = "Design a model for the digits dataset with at least 90% accuracy"
CURVES = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm", "epoch_s")


def _env(home: Path) -> dict:
    return os.environ | {"RESEARCH_AGENT_HOME": str(home)}


def cli(cwd: Path, home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The CLI from ``cwd``: MLflow's SQLite stores put their artifacts in ./mlruns, as for a user."""
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, env=_env(home), capture_output=True,
                          text=True, timeout=timeout)


def popen(cwd: Path, home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent", *args], cwd=cwd, env=_env(home), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tracking")


@pytest.fixture(scope="module")
def live(sandbox_image, work) -> dict:
    """One real run of 3 trials logged live to a SQLite MLflow store: its --json document."""
    done = cli(work, work / "home", "run", "--goal", GOAL, "--max-iterations", "3", "--json",
               "--mlflow", f"sqlite:///{work / 'live.db'}")
    assert done.returncode in (0, 3), done.stderr[-3000:]
    assert "mlflow: logged to MLflow at sqlite:///" in done.stderr
    return json.loads(done.stdout)


def _registry(work: Path, run_id: str) -> dict:
    shown = cli(work, work / "home", "runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_live_logging_and_an_export_afterwards_give_the_same_mlflow_runs(live, work):
    run_id = live["run_id"]
    assert live["tracking"]["mlflow"]["failures"] == 0
    after = f"sqlite:///{work / 'after.db'}"
    exported = cli(work, work / "home", "export", run_id, "--mlflow", after, "--json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["mlflow"]["created"] == 1 + 3 + 3  # parent, trials, one seed each
    logged, first = _dump(MlflowClient(f"sqlite:///{work / 'live.db'}")), _dump(MlflowClient(after))
    assert logged == first
    again = cli(work, work / "home", "export", run_id, "--mlflow", after, "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["mlflow"]["created"] == 0
    assert _dump(MlflowClient(after)) == first

    doc = _registry(work, run_id)
    parent = first[run_id]
    assert parent["parent"] is None and parent["tags"]["research_agent.status"] == doc["run"]["status"]
    assert parent["params"]["dataset"] == "digits" and parent["params"]["target"] == "0.9"
    assert {"manifest.json", "decision.json"} <= set(parent["artifacts"])
    for trial in doc["trials"]:
        mine = first[f"trial-{trial['number']}"]
        assert mine["parent"] == run_id and mine["tags"]["research_agent.status"] == trial["status"]
        assert mine["params"]["training.epochs"] == str(trial["spec"]["training"]["epochs"])
        assert mine["metrics"]["accuracy"] == [(0, pytest.approx(trial["summary"]["accuracy"]["mean"]))]
        assert {"model.py", "report.json", "learning_curves.png"} <= set(mine["artifacts"])
        for seed in trial["seeds"]:
            runs = first[f"trial-{trial['number']}-seed-{seed['seed']}"]
            assert runs["parent"] == f"trial-{trial['number']}"
            losses = seed["curves"]["train_loss"]
            assert runs["metrics"]["train_loss"] == [(i + 1, pytest.approx(v)) for i, v in enumerate(losses)]
            assert len(losses) >= 2  # steps are epochs 1..n: MLflow's chart overlays the seeds


def test_tensorboard_reads_every_series_and_the_hparams_of_a_real_run(live, work):
    run_id = live["run_id"]
    out = cli(work, work / "home", "export", run_id, "--tensorboard", str(work / "tb"))
    assert out.returncode == 0, out.stderr
    assert f"view with `tensorboard --logdir {work / 'tb'}`" in out.stdout
    doc = _registry(work, run_id)
    for trial in doc["trials"]:
        for seed in trial["seeds"]:
            acc = EventAccumulator(str(work / "tb" / run_id / f"trial-{trial['number']}" / f"seed-{seed['seed']}"))
            acc.Reload()
            want = {k for k in CURVES if any(v is not None for v in seed["curves"].get(k) or [])}
            assert want and want <= set(acc.Tags()["scalars"])
            steps = [e.step for e in acc.Scalars("val_loss")]
            assert steps == list(range(1, len(seed["curves"]["val_loss"]) + 1))
            assert "test/accuracy" in acc.Tags()["scalars"]
        session = EventAccumulator(str(work / "tb" / run_id / "hparams" / f"trial-{trial['number']}"))
        session.Reload()
        assert "_hparams_/session_start_info" in session.PluginTagToContent("hparams")
        assert [e.value for e in session.Scalars("hparam/accuracy")] == [
            pytest.approx(trial["summary"]["accuracy"]["mean"])]


def _mlflow_server(work: Path, port: int) -> subprocess.Popen:
    """MLflow's own tracking server (uvicorn), on 127.0.0.1, with its store in ``work``."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri", f"sqlite:///{work / 'srv.db'}",
         "--artifacts-destination", str(work / "srv-artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            assert proc.poll() is None, "mlflow server exited at start"
            time.sleep(0.5)
    raise AssertionError("mlflow server did not listen within 120 s")


def _close_http_sessions() -> None:
    """MLflow's client keeps a requests session per server for the process (lru_cache): close them
    here, or their sockets are collected later, in some other test, as an unclosed-socket warning."""
    import gc

    import requests
    from mlflow.utils import request_utils

    request_utils._cached_get_request_session.cache_clear()
    for obj in gc.get_objects():
        # type(), not isinstance(): isinstance reads __class__, which some of torch's objects warn on
        if issubclass(type(obj), requests.Session):
            obj.close()


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # its uvicorn worker too
    proc.wait(timeout=30)


def test_a_server_that_dies_mid_run_loses_nothing_and_export_catches_it_up(sandbox_image, work):
    port, home = free_port(), work / "home-server"
    server = _mlflow_server(work, port)
    uri = f"http://127.0.0.1:{port}"
    try:
        run = popen(work, home, "run", "--goal", GOAL, "--max-iterations", "4", "--json", "--mlflow", uri)
        wait_for(run, lambda: query(home, "SELECT 1 FROM trials WHERE state = 'finished'"), "a finished trial")
        _kill(server)
        out, err = run.communicate(timeout=600)
        assert run.returncode in (0, 3), err[-3000:]
        doc = json.loads(out)  # MLflow's "View run" lines stay off stdout: one JSON document
        tracking = doc["tracking"]["mlflow"]
        assert tracking["failures"] >= 1 and f"write(s) to MLflow at {uri}" in err and "Traceback" not in err
        assert Path(tracking["failure_log"]).is_file()
        shown = _registry_at(work, home, doc["run_id"])
        assert len(shown["trials"]) == 4 and all(t["state"] == "finished" for t in shown["trials"])
        assert "tracking_log" in {a["kind"] for a in shown["artifacts"]}
        assert shown["run"]["status"] == doc["status"]

        server = _mlflow_server(work, port)  # back up, same store
        caught = cli(work, home, "export", doc["run_id"], "--mlflow", uri, "--json")
        assert caught.returncode == 0, caught.stderr
        fresh = f"sqlite:///{work / 'reference.db'}"
        assert cli(work, home, "export", doc["run_id"], "--mlflow", fresh).returncode == 0
        assert _dump(MlflowClient(uri)) == _dump(MlflowClient(fresh))
    finally:
        if server.poll() is None:
            _kill(server)
        _close_http_sessions()


def _registry_at(work: Path, home: Path, run_id: str) -> dict:
    shown = cli(work, home, "runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_sigterm_then_resume_continues_the_same_mlflow_runs(sandbox_image, docker_client, work):
    home, uri = work / "home-resume", f"sqlite:///{work / 'resume.db'}"
    proc = popen(work, home, "run", "--goal", GOAL, "--max-iterations", "2", "--mlflow", uri)
    run_id = mid_trial(proc, home, docker_client)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_SIGTERM, err[-2000:]
    assert containers(docker_client, f"{run_id}/") == []
    stopped = _dump(MlflowClient(uri))
    assert stopped[run_id]["status"] == "KILLED" and stopped[run_id]["tags"]["research_agent.status"] == "interrupted"
    parent_id = _parent_id(uri, run_id)

    resumed = cli(work, home, "resume", run_id, "--mlflow", uri)
    assert resumed.returncode in (0, 3), resumed.stderr[-2000:]
    final = _dump(MlflowClient(uri))
    assert _parent_id(uri, run_id) == parent_id and final[run_id]["status"] == "FINISHED"
    shown = _registry_at(work, home, run_id)
    names = {f"trial-{t['number']}" for t in shown["trials"]}
    assert names == {n for n in final if n.startswith("trial-") and "-seed-" not in n}  # one MLflow run each
    assert all(final[n]["status"] != "RUNNING" for n in names)
    fresh = f"sqlite:///{work / 'resume-reference.db'}"
    assert cli(work, home, "export", run_id, "--mlflow", fresh).returncode == 0
    assert final == _dump(MlflowClient(fresh))


def _parent_id(uri: str, run_id: str) -> str:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("research-agent")
    (parent,) = client.search_runs([exp.experiment_id], f"tags.`research_agent.kind` = 'run' and "
                                   f"tags.`research_agent.run_id` = '{run_id}'")
    return parent.info.run_id

