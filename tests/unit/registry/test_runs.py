"""Runs: create, read, list, status changes, run folders."""

import pytest

from agent.errors import RegistryError
from agent.registry import RUN_ID_PATTERN, RunManifest, RunRecord, RunStatus

from .conftest import make_report, run_trial


def test_create_run_returns_a_frozen_running_record(reg):
    manifest = RunManifest(image_id="sha256:" + "a" * 64, image_labels={"seccomp": "x"}, seeds=[0, 1, 2])
    run = reg.create_run("a CNN with 90% accuracy", {"metric": "accuracy"}, planner_seed=11, manifest=manifest)
    assert isinstance(run, RunRecord) and RUN_ID_PATTERN.fullmatch(run.id)
    assert run.status is RunStatus.RUNNING and run.goal == "a CNN with 90% accuracy"
    assert run.planner_seed == 11 and run.manifest["planner_seed"] == 11
    assert run.manifest["image_id"] == manifest.image_id and run.manifest["seeds"] == [0, 1, 2]
    assert run.created_at == run.updated_at and run.created_at.tzinfo is not None
    with pytest.raises(ValueError):
        run.status = RunStatus.FAILED  # frozen


def test_a_snapshot_is_a_copy(reg, run):
    reg.get_run(run.id).config["metric"] = "changed"
    assert reg.get_run(run.id).config["metric"] == "accuracy"


def test_create_run_makes_the_run_folder(reg, home, run):
    assert reg.run_dir(run.id) == home / run.id
    assert reg.run_dir(run.id).is_dir()


def test_manifest_as_a_plain_dict_keeps_unknown_keys(reg):
    run = reg.create_run("g", {}, manifest={"dataset_fingerprint": "f" * 64, "host": "ci-7", "planner_seed": 5})
    assert run.manifest["host"] == "ci-7" and run.planner_seed == 5


def test_run_ids_are_unique(reg):
    ids = {reg.create_run("g", {}).id for _ in range(30)}
    assert len(ids) == 30


def test_run_dir_refuses_what_is_not_a_run_id(reg):
    for bad in ("../../etc", "run-1", "run-20261125-211500-AB12/..", ""):
        with pytest.raises(RegistryError, match="not a run id"):
            reg.run_dir(bad)


def test_get_run_of_an_unknown_id(reg):
    with pytest.raises(RegistryError, match="no run 'run-20000101-000000-0000'"):
        reg.get_run("run-20000101-000000-0000")


def test_set_run_status_with_decision_and_best_trial(reg, run):
    best = run_trial(reg, run.id, accuracy=0.93)
    done = reg.set_run_status(run.id, RunStatus.ACHIEVED, decision={"decision": "achieved", "lower": 0.91},
                              best_trial_id=best.id)
    assert done.status is RunStatus.ACHIEVED and done.best_trial_id == best.id
    assert done.decision == {"decision": "achieved", "lower": 0.91} and done.updated_at > run.updated_at
    # None leaves the stored decision and best trial as they are
    again = reg.set_run_status(run.id, "interrupted")
    assert again.status is RunStatus.INTERRUPTED and again.decision == done.decision and again.best_trial_id == best.id


def test_set_run_status_refuses_unknown_status_and_foreign_trials(reg, run):
    with pytest.raises(RegistryError, match="not a run status; use one of running, achieved"):
        reg.set_run_status(run.id, "done")
    other = reg.create_run("other", {})
    foreign = run_trial(reg, other.id)
    with pytest.raises(RegistryError, match="belongs to another run"):
        reg.set_run_status(run.id, "achieved", best_trial_id=foreign.id)
    with pytest.raises(RegistryError, match="no trial"):
        reg.set_run_status(run.id, "achieved", best_trial_id=run.id + "-t0099")
    assert reg.get_run(run.id).status is RunStatus.RUNNING  # nothing changed


def test_list_runs_newest_first_with_counts_and_best_interval(reg):
    first = reg.create_run("first", {"metric": "accuracy"})
    second = reg.create_run("second", {"metric": "accuracy"})
    best = run_trial(reg, second.id, accuracy=0.95)
    reg.start_trial(second.id, {"model": {"family": "mlp"}})
    reg.set_run_status(second.id, "achieved", best_trial_id=best.id)
    runs = reg.list_runs()
    assert [r.id for r in runs] == [second.id, first.id]
    top = runs[0]
    assert (top.goal, top.status, top.n_trials, top.n_finished, top.best_trial_id) == (
        "second", RunStatus.ACHIEVED, 2, 1, best.id)
    assert top.best.metric == "accuracy" and top.best.mean == 0.95 and top.best.n == 3
    assert top.best.ci_low == pytest.approx(0.93) and top.best.ci_high == pytest.approx(0.97)
    assert runs[1].best is None and runs[1].n_trials == 0


def test_list_runs_takes_the_metric_from_the_config_when_the_goal_has_none(reg):
    run = reg.create_run("g", {"metric": "accuracy"})
    t = reg.start_trial(run.id, {"model": {"family": "mlp"}})
    reg.finish_trial(t.id, make_report(goal=None))
    reg.set_run_status(run.id, "inconclusive", best_trial_id=t.id)
    assert reg.list_runs()[0].best.metric == "accuracy"


def test_registry_is_a_context_manager_and_closed_means_closed(open_reg):
    reg = open_reg()
    with reg:
        reg.create_run("g", {})
    with pytest.raises(RegistryError, match="is closed; open it again"):
        reg.list_runs()
    reg.close()  # idempotent


def test_data_survives_reopening(open_reg):
    first = open_reg()
    run = first.create_run("persist", {"k": [1, 2]})
    run_trial(first, run.id)
    first.close()
    again = open_reg()
    assert again.get_run(run.id) == run.model_copy(update={"updated_at": again.get_run(run.id).updated_at})
    assert again.list_trials(run.id)[0].state == "finished"
