"""Resume: trials left running by a crash are re-run in place, exactly once per resume."""

import pytest

from agent.errors import RegistryError
from agent.registry import TrialState

from .conftest import SPEC, make_report, run_trial


def crashed_run(reg, run):
    """Two finished trials and one left running, as a killed process leaves them."""
    done = [run_trial(reg, run.id), run_trial(reg, run.id)]
    return done, reg.start_trial(run.id, SPEC, "src")


def test_recover_turns_running_trials_into_pending_with_the_next_attempt(reg, run):
    done, cut = crashed_run(reg, run)
    pending = reg.recover(run.id)
    assert [(t.id, t.number, t.state, t.attempt) for t in pending] == [(cut.id, 3, TrialState.PENDING, 2)]
    assert pending[0].started_at is None and pending[0].spec == cut.spec and pending[0].source == "src"
    history = pending[0].details["interrupted_attempts"]
    assert len(history) == 1 and history[0]["attempt"] == 1 and history[0]["started_at"] is not None
    assert reg.list_trials(run.id, "finished") == done  # finished trials are untouched
    assert reg.pending_trials(run.id) == pending


def test_recover_is_idempotent(reg, run):
    crashed_run(reg, run)
    first = reg.recover(run.id)
    assert reg.recover(run.id) == first  # no second attempt without a restart


def test_a_recovered_trial_is_rerun_in_place(reg, run):
    _, cut = crashed_run(reg, run)
    (pending,) = reg.recover(run.id)
    again = reg.restart_trial(pending.id)
    assert (again.id, again.number, again.state, again.attempt) == (cut.id, 3, TrialState.RUNNING, 2)
    done = reg.finish_trial(again.id, make_report(seeds=(0, 1, 2)))
    assert done.state is TrialState.FINISHED and len(done.seeds) == 3 and done.attempt == 2
    assert done.details["interrupted_attempts"][0]["attempt"] == 1  # the audit trail survives
    assert reg.recover(run.id) == []
    assert reg.start_trial(run.id, SPEC).number == 4  # no number is reused or skipped


def test_each_resume_adds_one_attempt(reg, run):
    _, cut = crashed_run(reg, run)
    for attempt in (2, 3, 4):
        (pending,) = reg.recover(run.id)
        assert pending.attempt == attempt
        reg.restart_trial(pending.id)  # ... and the process dies again before finishing
    assert len(reg.get_trial(cut.id).details["interrupted_attempts"]) == 3


def test_a_pending_trial_must_be_restarted_before_it_finishes(reg, run):
    crashed_run(reg, run)
    (pending,) = reg.recover(run.id)
    with pytest.raises(RegistryError, match="is pending, not running; .* needs restart_trial first"):
        reg.finish_trial(pending.id, make_report())
    reg.restart_trial(pending.id)
    with pytest.raises(RegistryError, match="is running, not pending"):
        reg.restart_trial(pending.id)  # two resumers cannot both take it


def test_recover_of_a_clean_run_changes_nothing(reg, run):
    done = run_trial(reg, run.id)
    assert reg.recover(run.id) == [] and reg.list_trials(run.id) == [done]


def test_recover_of_an_unknown_run(reg):
    with pytest.raises(RegistryError, match="no run"):
        reg.recover("run-20000101-000000-0000")
