"""Trials: numbering, finishing with seed results, reading, ranking."""

import hashlib
import sqlite3
import threading

import pytest
from pydantic import ValidationError

from agent.errors import RegistryError
from agent.records import TrialStatus
from agent.registry import SQLiteRegistry, TrialRecord, TrialState
from agent.registry._schema import migrate
from agent.specs import MLPSpec, TrialSpec

from .conftest import SPEC, make_report, run_trial


def test_start_trial_numbers_from_one_per_run(reg, run):
    other = reg.create_run("other", {})
    numbers = [reg.start_trial(run.id, SPEC).number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert reg.start_trial(other.id, SPEC).number == 1


def test_start_trial_records_spec_source_and_rung(reg, run):
    spec = TrialSpec(model=MLPSpec(depth=3), rationale="deeper")
    trial = reg.start_trial(run.id, spec, "import torch\n", rung={"rung": 1, "subset_size": 500, "epochs": 4,
                                                                "parent": "run-x-t0001"})
    assert isinstance(trial, TrialRecord)
    assert trial.state is TrialState.RUNNING and trial.status is None and trial.attempt == 1
    assert trial.id == f"{run.id}-t0001" and trial.run_id == run.id
    assert trial.trial_spec() == spec
    assert trial.source_sha256 == hashlib.sha256(b"import torch\n").hexdigest()
    assert trial.rung == {"rung": 1, "subset_size": 500, "epochs": 4, "parent": "run-x-t0001"}
    assert trial.started_at is not None and trial.finished_at is None and trial.seeds == ()


def test_start_trial_without_source(reg, run):
    trial = reg.start_trial(run.id, SPEC)
    assert trial.source is None and trial.source_sha256 is None and trial.rung is None


def test_start_trial_on_an_unknown_run(reg):
    with pytest.raises(RegistryError, match="no run"):
        reg.start_trial("run-20000101-000000-0000", SPEC)


def test_finish_trial_writes_outcome_and_every_seed(reg, run):
    trial = reg.start_trial(run.id, SPEC, "src")
    done = reg.finish_trial(trial.id, make_report(seeds=(0, 1, 2), accuracy=0.91))
    assert done.state is TrialState.FINISHED and done.status is TrialStatus.OK
    assert done.message == "the trial ended: ok" and done.flags == ["nan_loss"]
    assert done.summary["accuracy"]["mean"] == 0.91 and done.mean("accuracy") == 0.91
    assert done.goal["decision"] == "achieved" and done.goal["metric"] == "accuracy" and done.goal["target"] == 0.8
    assert done.container_s == 2.5 and done.wall_s >= 0 and done.finished_at >= done.started_at
    assert [s.seed for s in done.seeds] == [0, 1, 2]
    assert done.seeds[1].metrics == {"accuracy": 0.911} and done.seeds[1].status == "ok"
    assert done.seeds[0].curves["val_loss"] == [1.1, None]  # NaN is stored as null, as in the JSON report
    # the rest of the report is kept in details, the columns are not repeated there
    assert done.details["dataset"] == {"name": "digits", "n_test": 360} and "seeds" not in done.details
    assert done.details["config"] == {"metric": "accuracy"} and "aggregate" not in done.details
    assert reg.get_trial(trial.id) == done


def test_finish_trial_keeps_the_seed_fields_without_a_column_in_extra(reg, run):
    trial = reg.start_trial(run.id, SPEC)
    seed = {"seed": 0, "status": "ok", "message": "", "metrics": {"accuracy": 0.9}, "curves": {},
            "best_epoch": 4, "stopped_epoch": None, "confusion_matrix": [[1, 0], [0, 1]]}
    done = reg.finish_trial(trial.id, _with_seeds(make_report(seeds=(0,)), [seed]))
    assert done.seeds[0].extra == {"best_epoch": 4, "stopped_epoch": None, "confusion_matrix": [[1, 0], [0, 1]]}


def test_a_failed_trial_is_a_row_with_its_status(reg, run):
    done = run_trial(reg, run.id, status="crashed", seeds=(0, 1, 2))
    assert done.status is TrialStatus.CRASHED and [s.status for s in done.seeds] == ["crashed"] * 3


def test_a_finished_trial_is_final(reg, run):
    done = run_trial(reg, run.id)
    with pytest.raises(RegistryError, match="is finished, not running; a finished trial is final"):
        reg.finish_trial(done.id, make_report(accuracy=0.99))
    with pytest.raises(RegistryError, match="is finished, not pending"):
        reg.restart_trial(done.id)
    assert reg.get_trial(done.id) == done


def test_finish_trial_refuses_what_is_not_a_report(reg, run):
    trial = reg.start_trial(run.id, SPEC)
    with pytest.raises(RegistryError, match="finish_trial needs the EvalReport run_trial returns; got dict"):
        reg.finish_trial(trial.id, make_report().to_dict())
    assert reg.get_trial(trial.id).state is TrialState.RUNNING
    # what is not a report cannot be built as one: the type, not the registry, checks its shape
    with pytest.raises(ValidationError, match="status"):
        make_report(status="great")


def test_get_trial_of_an_unknown_id(reg):
    with pytest.raises(RegistryError, match="no trial 'nope'"):
        reg.get_trial("nope")


def test_list_trials_by_number_and_state(reg, run):
    finished = run_trial(reg, run.id)
    running = reg.start_trial(run.id, SPEC)
    assert [t.id for t in reg.list_trials(run.id)] == [finished.id, running.id]
    assert [t.id for t in reg.list_trials(run.id, "finished")] == [finished.id]
    assert [t.id for t in reg.list_trials(run.id, TrialState.RUNNING)] == [running.id]
    assert reg.list_trials(run.id, "pending") == [] and reg.pending_trials(run.id) == []
    assert reg.list_trials(run.id)[0].seeds == finished.seeds
    with pytest.raises(RegistryError, match="not a trial state"):
        reg.list_trials(run.id, "done")


def test_best_trial_ranks_finished_ok_trials_by_mean(reg, run):
    run_trial(reg, run.id, accuracy=0.90)
    top = run_trial(reg, run.id, accuracy=0.95)
    run_trial(reg, run.id, accuracy=0.99, status="timeout")  # not ok: never the best
    tie = run_trial(reg, run.id, accuracy=0.95)
    reg.start_trial(run.id, SPEC)  # running: not finished
    assert reg.best_trial(run.id, "accuracy").id == top.id != tie.id  # ties: the lowest number
    assert reg.best_trial(run.id, "accuracy", higher_is_better=False).mean("accuracy") == 0.90
    assert reg.best_trial(run.id, "log_loss") is None


def test_best_trial_skips_undefined_means_and_refuses_odd_metric_names(reg, run):
    t = reg.start_trial(run.id, SPEC)
    undefined = {"mean": None, "std": None, "min": None, "max": None, "n": 0, "ci_low": None, "ci_high": None}
    reg.finish_trial(t.id, make_report(aggregate={"accuracy": undefined}))
    assert reg.best_trial(run.id, "accuracy") is None
    with pytest.raises(RegistryError, match="not a metric name"):
        reg.best_trial(run.id, 'acc".mean')


def test_threads_sharing_one_registry_get_distinct_numbers(reg, run):
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(10):
                trial = reg.start_trial(run.id, SPEC)
                reg.finish_trial(trial.id, make_report(seeds=(0, 1)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    trials = reg.list_trials(run.id)
    assert sorted(t.number for t in trials) == list(range(1, 61))
    assert all(len(t.seeds) == 2 for t in trials)


def _with_seeds(report, seeds):
    return report.model_validate(report.to_dict() | {"seeds": seeds})


def test_list_trials_after_a_number_reads_only_the_rest_with_their_seeds(reg, run):
    done = [run_trial(reg, run.id, accuracy=0.9 + i / 100) for i in range(3)]
    running = reg.start_trial(run.id, SPEC)
    later = reg.list_trials(run.id, after=2)
    assert [t.number for t in later] == [3, 4] and later[0] == done[2] and later[1].id == running.id
    assert [len(t.seeds) for t in later] == [3, 0]
    assert reg.list_trials(run.id, "finished", after=1) == done[1:]
    assert reg.list_trials(run.id, after=4) == []


PROGRESS = {"seed": 1, "epoch": 3, "epochs": 5, "val_acc": 0.87, "seeds_done": 1, "seeds": 3, "elapsed_s": 41.5}


def test_a_running_trial_shows_its_progress(reg, run):
    trial = reg.start_trial(run.id, SPEC)
    assert trial.progress is None
    reg.set_trial_progress(trial.id, PROGRESS)
    assert reg.get_trial(trial.id).progress == PROGRESS
    newer = PROGRESS | {"epoch": 4, "val_acc": float("nan")}  # JSON has no NaN: stored as null, as in reports
    reg.set_trial_progress(trial.id, newer)
    assert reg.list_trials(run.id)[0].progress == newer | {"val_acc": None}


def test_progress_after_the_trial_finished_changes_nothing(reg, run):
    trial = reg.start_trial(run.id, SPEC)
    reg.set_trial_progress(trial.id, PROGRESS)
    done = reg.finish_trial(trial.id, make_report())
    reg.set_trial_progress(trial.id, PROGRESS | {"epoch": 5})  # a late callback: no error, no change
    assert reg.get_trial(trial.id) == done
    pending = reg.start_trial(run.id, SPEC)
    reg.recover(run.id)
    reg.set_trial_progress(pending.id, PROGRESS)  # waiting to be re-run: not running either
    assert reg.get_trial(pending.id).progress is None


def test_a_version_2_store_migrates_to_3_and_its_trials_take_progress(tmp_path):
    """SQLite only: the file written before trials had a progress column."""
    db = tmp_path / "registry.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        assert migrate(conn, str(db), target=2) == 2
        assert "progress" not in [row[1] for row in conn.execute("PRAGMA table_info(trials)")]
        conn.execute("INSERT INTO runs (id, created_at, updated_at, goal, config, status, manifest) VALUES"
                     " ('run-20260101-000000-abcd', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00',"
                     " 'old goal', '{}', 'running', '{}')")
        conn.execute("INSERT INTO trials (id, run_id, number, state, spec, created_at, started_at) VALUES"
                     " ('run-20260101-000000-abcd-t0001', 'run-20260101-000000-abcd', 1, 'running', '{}',"
                     " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")
    finally:
        conn.close()
    with SQLiteRegistry(db) as reg:
        (trial,) = reg.list_trials("run-20260101-000000-abcd")
        assert trial.progress is None and trial.state is TrialState.RUNNING
        reg.set_trial_progress(trial.id, PROGRESS)
        assert reg.get_trial(trial.id).progress == PROGRESS
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == 3
        with pytest.raises(sqlite3.IntegrityError):  # the column holds JSON or nothing
            conn.execute("UPDATE trials SET progress = 'not json'")
    finally:
        conn.close()
