"""All or nothing: a write that fails part-way leaves the registry as it was."""

import pytest

from agent.errors import RegistryError
from agent.registry import TrialState

from .conftest import SPEC, make_report


@pytest.mark.parametrize("seeds, reason", [
    ((0, 1, -1), "seed >= 0"),  # the third seed breaks a CHECK after two were inserted
    ((0, 1, 1), "UNIQUE"),      # a duplicate seed breaks the key after two were inserted
])
def test_finish_trial_that_fails_midway_writes_nothing(reg, run, seeds, reason):
    trial = reg.start_trial(run.id, SPEC)
    before = reg.snapshot(run.id)
    with pytest.raises(RegistryError) as err:
        reg.finish_trial(trial.id, make_report(seeds=seeds))
    message = str(err.value)
    assert "\n" not in message and "finish_trial failed" in message and "nothing was written" in message
    assert reason in message or reason in str(err.value.__cause__)
    after = reg.snapshot(run.id)
    assert after == before  # the trial is still running without seeds; updated_at untouched
    assert after.trials[0].state is TrialState.RUNNING and after.trials[0].seeds == ()
    # ... and the trial can still be finished properly
    assert len(reg.finish_trial(trial.id, make_report(seeds=(0, 1, 2))).seeds) == 3


def test_a_failed_write_does_not_break_the_next_one(reg, run):
    trial = reg.start_trial(run.id, SPEC)
    with pytest.raises(RegistryError):
        reg.finish_trial(trial.id, make_report(seeds=(0, 0)))
    assert reg.start_trial(run.id, SPEC).number == 2
