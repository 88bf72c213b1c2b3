"""MLflow and TensorBoard exports over a real registry, written to real stores and read back with
the trackers' own readers (``MlflowClient``; TensorBoard's ``EventAccumulator``). The trials are
real ``EvalReport`` objects (tests/reports.py); the integration test does the same with real runs."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from agent.errors import TrackingError
from agent.planner import Proposal
from agent.registry import RunStatus, SQLiteRegistry
from agent.report import LiveTracker, MlflowSink, export_tensorboard, safe_uri, tracked_run
from agent.specs import Goal, MLPSpec, TrainingSpec, TrialSpec
from agent.study import StudyConfig
from tests.reports import make_report


def _rung(action: str, seeds: list[int]) -> dict:
    spec = TrialSpec(model=MLPSpec(depth=2, width=64), training=TrainingSpec(epochs=2, lr=0.003), origin="search")
    return Proposal(spec=spec, action=action, candidate="c1", seeds=seeds).model_dump(mode="json")


@pytest.fixture
def reg(tmp_path):
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as r:
        yield r


def _run(reg, trials=(("explore", [0], 0.8), ("promote", [0, 1, 2], 0.9)), final=True) -> str:
    config = StudyConfig(goal=Goal(text="digits 85%", dataset="digits", target=0.85), seeds=3)
    run = reg.create_run("digits 85%", config.model_dump(mode="json") | {"metric": "accuracy"},
                         manifest={"seeds": [3, 5, 10], "dataset_fingerprint": "abc"})
    for action, seeds, acc in trials:
        rung = _rung(action, seeds)
        t = reg.start_trial(run.id, rung["spec"], "import torch\n", rung=rung)
        reg.finish_trial(t.id, make_report(seeds=seeds, accuracy=acc))
    if final:
        reg.set_run_status(run.id, RunStatus.ACHIEVED, decision={
            "reason": "cleared", "mean": 0.9, "lower_bound": 0.88, "upper_bound": 0.92, "n": 3})
    return run.id


def _store(tmp_path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


def _dump(client: MlflowClient, experiment: str = "research-agent") -> dict:
    """Everything of an experiment but MLflow's own ids and times: names, params, tags, metric
    histories (value, step), artifacts, by our ids."""
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    by_id = {r.info.run_id: r for r in runs}
    out = {}
    for r in runs:
        tags = {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.") or k == "mlflow.runName"}
        parent = by_id.get(r.data.tags.get("mlflow.parentRunId", ""))
        histories = {k: sorted((m.step, m.value) for m in client.get_metric_history(r.info.run_id, k))
                     for k in r.data.metrics}
        out[r.info.run_name] = {"params": r.data.params, "tags": tags, "status": r.info.status,
                                "parent": parent.info.run_name if parent else None, "metrics": histories,
                                "artifacts": sorted(a.path for a in client.list_artifacts(r.info.run_id))}
    return out


def test_the_view_keeps_finite_numbers_and_every_setting(reg):
    run = tracked_run(reg.snapshot(_run(reg)))
    assert run.final and run.metrics == {"decision.mean": 0.9, "decision.lower_bound": 0.88,
                                         "decision.upper_bound": 0.92, "decision.n": 3.0}
    assert run.params["dataset"] == "digits" and run.params["target"] == "0.85"
    explore, promote = run.trials
    assert explore.params["action"] == "explore" and promote.params["seeds"] == "0,1,2"
    assert promote.params["training.lr"] == "0.003" and promote.hparams["training.lr"] == 0.003
    assert promote.params["model.width"] == "64" and promote.metrics["accuracy.ci_low"] == pytest.approx(0.88)
    seed = promote.seeds[1]
    assert seed.curves["train_loss"] == [(1, 1.0), (2, 0.5)]
    assert seed.curves["val_loss"] == [(1, 1.1)]  # the NaN of epoch 2 is not a number to chart


def test_credentials_never_leave_the_uri():
    assert safe_uri("http://alice:s3cret@mlflow.lab:5000/") == "http://***@mlflow.lab:5000/"
    assert safe_uri("postgresql://u:p@db/mlflow") == "postgresql://***@db/mlflow"
    assert safe_uri("sqlite:///mlflow.db") == "sqlite:///mlflow.db"


def test_mlflow_gets_a_parent_a_run_per_trial_and_one_per_seed(reg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the SQLite store's artifacts go to ./mlruns, MLflow's default
    run_id = _run(reg)
    uri = _store(tmp_path, "m.db")
    counts = MlflowSink(uri).sync(tracked_run(reg.snapshot(run_id)))
    assert counts.created == 1 + 2 + 4 and counts.finished == 2
    got = _dump(MlflowClient(uri))
    assert set(got) == {run_id, "trial-1", "trial-2", "trial-1-seed-0", "trial-2-seed-0", "trial-2-seed-1",
                        "trial-2-seed-2"}
    parent, trial = got[run_id], got["trial-2"]
    assert parent["parent"] is None and parent["status"] == "FINISHED" and parent["params"]["goal"] == "digits 85%"
    assert parent["tags"]["research_agent.status"] == "achieved"
    assert parent["metrics"]["decision.lower_bound"] == [(2, 0.88)]
    assert set(parent["artifacts"]) == {"decision.json", "manifest.json"}
    assert trial["parent"] == run_id and trial["params"]["training.epochs"] == "2"
    assert trial["tags"]["research_agent.status"] == "ok" and trial["metrics"]["accuracy"] == [(0, 0.9)]
    assert set(trial["artifacts"]) == {"model.py", "report.json", "learning_curves.png"}
    seed = got["trial-2-seed-1"]
    assert seed["parent"] == "trial-2" and seed["metrics"]["train_loss"] == [(1, 1.0), (2, 0.5)]
    assert seed["metrics"]["accuracy"] == [(0, 0.901)]


def test_exporting_again_changes_nothing_and_a_resumed_run_continues_the_same_runs(reg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = _store(tmp_path, "m.db")
    run_id = _run(reg, final=False)
    sink = MlflowSink(uri)
    first = sink.sync(tracked_run(reg.snapshot(run_id)))
    before = _dump(MlflowClient(uri))
    again = sink.sync(tracked_run(reg.snapshot(run_id)))
    assert again.created == 0 and again.finished == 0 and again.parent_id == first.parent_id
    assert _dump(MlflowClient(uri)) == before
    assert before[run_id]["status"] == "RUNNING"
    # the run goes on (as `resume` does): one more trial, then the decision
    rung = _rung("confirm", [3, 4, 5])
    t = reg.start_trial(run_id, rung["spec"], "import torch\n", rung=rung)
    sink.sync(tracked_run(reg.snapshot(run_id)))
    assert _dump(MlflowClient(uri))["trial-3"]["status"] == "RUNNING"
    reg.finish_trial(t.id, make_report(seeds=[3, 4, 5], accuracy=0.91))
    reg.set_run_status(run_id, RunStatus.ACHIEVED, decision={"reason": "cleared", "mean": 0.91,
                                                            "lower_bound": 0.89, "upper_bound": 0.93, "n": 3})
    last = sink.sync(tracked_run(reg.snapshot(run_id)))
    after = _dump(MlflowClient(uri))
    assert last.parent_id == first.parent_id and last.created == 3  # the 3 seed runs; trial-3 existed
    assert after["trial-3"]["status"] == "FINISHED" and after[run_id]["status"] == "FINISHED"
    assert {k: after[k] for k in before if k != run_id} == {k: v for k, v in before.items() if k != run_id}


def test_a_bad_uri_and_a_server_that_is_down_are_one_line_without_credentials(tmp_path):
    with pytest.raises(TrackingError) as bad:
        MlflowSink("bogus://nowhere")
    assert "bogus://nowhere" in str(bad.value) and "\n" not in str(bad.value)
    with pytest.raises(TrackingError) as down:
        MlflowSink("http://alice:s3cret@127.0.0.1:9")
    message = str(down.value)
    assert "s3cret" not in message and "http://***@127.0.0.1:9" in message and "\n" not in message


class _BrokenSink:
    """A tracking server that fails every write (the fault a real one gives only by chance)."""

    where = "MLflow at http://127.0.0.1:9, experiment 'research-agent'"

    def __init__(self):
        self.calls = 0

    def sync(self, run):
        self.calls += 1
        raise TrackingError(f"cannot write to {self.where}: connection refused")


def test_live_logging_failures_are_kept_and_reported_and_the_registry_is_untouched(reg):
    run_id = _run(reg)
    before = reg.export_run(run_id)
    sink = _BrokenSink()
    tracker = LiveTracker(sink, reg)
    for _ in range(5):
        tracker.notify(run_id)
    summary = tracker.close()
    assert sink.calls in range(1, 6) and summary["failures"] == sink.calls  # notifications fold together
    assert "connection refused" in summary["last_error"]
    assert not (reg.run_dir(run_id) / "tracking.json").exists()  # nothing was logged: no note of it
    (log,) = [a for a in reg.list_artifacts(run_id) if a.kind == "tracking_log"]
    assert "connection refused" in (reg.run_dir(run_id) / log.path).read_text()
    after = reg.export_run(run_id)
    assert after["trials"] == before["trials"] and after["run"]["status"] == "achieved"
    assert tracker.close() is summary  # closing twice reports once


def test_live_logging_ends_with_everything_synced(reg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = _store(tmp_path, "live.db")
    run_id = _run(reg)
    tracker = LiveTracker(MlflowSink(uri), reg)
    tracker.notify(run_id)
    summary = tracker.close()
    assert summary["failures"] == 0 and summary["parent_run_id"]
    assert _dump(MlflowClient(uri))[run_id]["status"] == "FINISHED"
    note = (reg.run_dir(run_id) / "tracking.json").read_text()  # for `resume` without --mlflow
    assert f"MLflow at {uri}" in note


def _scalars(path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(path))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_has_every_series_per_seed_and_an_hparams_table(reg, tmp_path):
    run_id = _run(reg)
    run = tracked_run(reg.snapshot(run_id))
    folder, n = export_tensorboard(run, tmp_path / "tb", "accuracy")
    assert n == 2 and folder == tmp_path / "tb" / run_id
    seed = _scalars(folder / "trial-2" / "seed-1")
    assert seed["train_loss"] == [(1, 1.0), (2, 0.5)] and seed["val_loss"] == [(1, pytest.approx(1.1))]
    assert seed["test/accuracy"] == [(0, pytest.approx(0.901))]
    root = EventAccumulator(str(folder / "hparams"))
    root.Reload()
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        root.PluginTagToContent("hparams")["_hparams_/experiment"]).experiment
    columns = {h.name for h in experiment.hparam_infos}
    assert {"action", "family", "training.lr", "model.width", "status"} <= columns
    assert {m.name.tag for m in experiment.metric_infos} == {
        "hparam/accuracy", "hparam/accuracy.ci_low", "hparam/accuracy.ci_high", "hparam/accuracy.n"}
    session = EventAccumulator(str(folder / "hparams" / "trial-2"))
    session.Reload()
    start = plugin_data_pb2.HParamsPluginData.FromString(
        session.PluginTagToContent("hparams")["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["action"].string_value == "promote"
    assert start.hparams["training.lr"].number_value == pytest.approx(0.003)
    assert _scalars(folder / "hparams" / "trial-2")["hparam/accuracy.ci_high"] == [(0, pytest.approx(0.92))]


def test_tensorboard_export_again_replaces_and_never_touches_a_foreign_folder(reg, tmp_path):
    run_id = _run(reg)
    run = tracked_run(reg.snapshot(run_id))
    folder, _ = export_tensorboard(run, tmp_path / "tb", "accuracy")
    export_tensorboard(run, tmp_path / "tb", "accuracy")
    assert len(list((folder / "trial-2" / "seed-1").glob("events.*"))) == 1
    assert sorted(p.name for p in (tmp_path / "tb").iterdir()) == [run_id]
    foreign = tmp_path / "other" / run_id
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(TrackingError, match="not written by research-agent"):
        export_tensorboard(run, tmp_path / "other", "accuracy")
    assert (foreign / "notes.txt").read_text() == "mine"


def test_a_write_cut_short_after_create_run_is_completed_by_the_next_sync(reg, tmp_path, monkeypatch):
    # A server that died between creating a run and logging its params (seen with a real one, killed
    # mid-run): the next sync finds the run by its tags and logs what it lacks.
    monkeypatch.chdir(tmp_path)
    uri = _store(tmp_path, "m.db")
    run_id = _run(reg)
    sink = MlflowSink(uri)
    sink.client.create_run(sink.experiment_id, run_name=run_id, start_time=1, tags={
        "research_agent.run_id": run_id, "research_agent.kind": "run"})  # created; params, manifest never came
    sink.sync(tracked_run(reg.snapshot(run_id)))
    got = _dump(MlflowClient(uri))
    assert got[run_id]["params"]["dataset"] == "digits" and "manifest.json" in got[run_id]["artifacts"]
    reference = _store(tmp_path, "ref.db")
    MlflowSink(reference).sync(tracked_run(reg.snapshot(run_id)))
    assert got == _dump(MlflowClient(reference))  # the same as a store written in one go
