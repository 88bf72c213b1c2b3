"""Several processes on one registry: readers during writes, concurrent writers, SIGKILL at the
worst moments. The writer is ``_worker.py`` in its own interpreter."""

import random
import time

import pytest

from agent.registry import TrialState

from .conftest import Worker, assert_consistent

SEEDS = 3


def check_export(data: dict, n_seeds: int) -> None:
    """The export view obeys the same invariants as the trial list (one read transaction)."""
    ids = {t["id"] for t in data["trials"]}
    for t in data["trials"]:
        assert len(t["seeds"]) == (n_seeds if t["state"] == "finished" else 0), t
    assert all(a["trial_id"] in ids for a in data["artifacts"] if a["trial_id"])


def test_readers_never_see_a_half_written_trial(backend, reg, home):
    run = reg.create_run("concurrent", {"metric": "accuracy"})
    reads, states = 0, set()
    # The writer sleeps inside every transaction, so reads land while writes are open.
    with Worker(backend, home, run.id, "--trials", "40", "--seeds", "4", "--sleep-in-tx", "0.005") as writer:
        while writer.proc.poll() is None or reads == 0:
            assert [r.id for r in reg.list_runs()] == [run.id]
            states |= {t.state for t in assert_consistent(reg, run.id, 4)}
            check_export(reg.export_run(run.id), 4)
            reg.best_trial(run.id, "accuracy")
            reads += 1
        assert writer.finish() == 0, writer.stderr
    assert reads >= 10 and TrialState.RUNNING in states  # the reads really overlapped the writes
    trials = assert_consistent(reg, run.id, 4)
    assert len(trials) == 40 and {t.state for t in trials} == {TrialState.FINISHED}


def test_two_writer_processes_never_share_a_number(backend, reg, home):
    run = reg.create_run("two writers", {})
    with Worker(backend, home, run.id, "--trials", "25") as a, Worker(backend, home, run.id, "--trials", "25") as b:
        assert (a.finish(), b.finish()) == (0, 0), a.stderr + b.stderr
    trials = assert_consistent(reg, run.id, SEEDS)
    assert len(trials) == 50 and all(t.state is TrialState.FINISHED for t in trials)


@pytest.mark.parametrize("pause, finished, cut", [
    ("between:3", 3, None),       # killed between two trials
    ("running:3", 2, 3),          # killed while trial 3 trained: its start was committed
    ("finish_trial:3", 2, 3),     # killed inside finish_trial 3 before COMMIT: outcome and seeds vanish
    ("start_trial:3", 2, None),   # killed inside start_trial 3 before COMMIT: trial 3 never existed
])
def test_sigkill_leaves_a_registry_that_resumes_cleanly(backend, reg, home, pause, finished, cut):
    run = reg.create_run("crash", {})
    with Worker(backend, home, run.id, "--trials", "6", "--seeds", str(SEEDS), "--pause", pause) as writer:
        writer.wait_for("paused " + pause.replace(":", " "))
        writer.kill()
    trials = assert_consistent(reg, run.id, SEEDS)
    assert [t.number for t in trials if t.state is TrialState.FINISHED] == list(range(1, finished + 1))
    assert [t.number for t in trials if t.state is TrialState.RUNNING] == ([cut] if cut else [])

    assert [(t.number, t.attempt) for t in reg.recover(run.id)] == ([(cut, 2)] if cut else [])
    # resume in a fresh process: the cut trial is re-run once, in place, then two new trials
    with Worker(backend, home, run.id, "--resume", "--trials", "2", "--seeds", str(SEEDS)) as resumed:
        assert resumed.finish() == 0, resumed.stderr
    trials = assert_consistent(reg, run.id, SEEDS)
    total = finished + (1 if cut else 0) + 2
    assert [t.number for t in trials] == list(range(1, total + 1))
    assert all(t.state is TrialState.FINISHED for t in trials)
    assert [t.number for t in trials if t.attempt > 1] == ([cut] if cut else [])


def test_a_crash_during_the_rerun_adds_one_more_attempt(backend, reg, home):
    run = reg.create_run("crash twice", {})
    with Worker(backend, home, run.id, "--trials", "3", "--pause", "running:2") as first:
        first.wait_for("paused running 2")
        first.kill()
    # the resumed process recovers trial 2 and dies inside its finish_trial
    with Worker(backend, home, run.id, "--resume", "--trials", "0", "--pause", "finish_trial:1") as second:
        second.wait_for("paused finish_trial 1")
        second.kill()
    (cut,) = reg.recover(run.id)
    assert (cut.number, cut.attempt, len(cut.details["interrupted_attempts"])) == (2, 3, 2)
    assert assert_consistent(reg, run.id, SEEDS)[0].state is TrialState.FINISHED


def test_sigkill_at_random_moments(backend, reg, home):
    run = reg.create_run("random kills", {})
    rng = random.Random(20261125)
    for _ in range(6):
        with Worker(backend, home, run.id, "--resume", "--trials", "30", "--seeds", str(SEEDS)) as writer:
            writer.next_line()  # it is writing; the kill lands wherever it happens to be
            time.sleep(rng.uniform(0.0, 0.05))
            writer.kill()
        before = assert_consistent(reg, run.id, SEEDS)
        reg.recover(run.id)
        after = assert_consistent(reg, run.id, SEEDS)
        assert [t.id for t in after] == [t.id for t in before]  # recover never adds or drops trials
        assert not any(t.state is TrialState.RUNNING for t in after)
    assert sum(t.state is TrialState.FINISHED for t in after) >= 1
