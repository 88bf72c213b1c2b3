"""An eval starts its container once the model passed preflight, and never leaves it behind."""

from __future__ import annotations

import pytest

from agent.config import EvalConfig
from agent.records import TrialStatus
from agent.trial import evaluate
from tests.unit.trial.test_outputs import MLP, EndedSandbox, ended, seed_files


class EarlySandbox(EndedSandbox):
    """Records ``start_early`` and ``close``; ``run`` raises ``error`` when given one."""

    def __init__(self, outcome, error: BaseException | None = None):
        super().__init__(outcome)
        self.error, self.started, self.closed = error, [], 0

    def start_early(self, data_dir, limits, trial_id):
        self.started.append((data_dir, limits, trial_id))

    def run(self, request, progress=None):
        assert self.started and request.trial_id == self.started[0][2]  # the container started early is its
        if self.error is not None:
            raise self.error
        return super().run(request, progress)

    def close(self):
        self.closed += 1


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "mlp.py"
    path.write_text(MLP)
    return path


def test_the_container_starts_early_with_the_trials_data_and_limits_and_is_closed(model, tmp_path):
    from agent.data import prepare

    cache = tmp_path / "cache"
    data = prepare("digits", cache)
    box = EarlySandbox(ended(TrialStatus.OK, seed_files(data, 0)))
    config = EvalConfig(dataset="digits", seeds=1, epochs=1)
    scored = evaluate(model, config, lambda: box, cache)
    assert scored.report.status is TrialStatus.OK
    [(data_dir, limits, trial_id)] = box.started
    assert data_dir == data.public_dir and limits == config.limits and trial_id.startswith("eval-")
    assert box.closed == 1


@pytest.mark.parametrize("error", [RuntimeError("the engine went away"), KeyboardInterrupt()])
def test_an_error_after_the_early_start_still_closes_the_sandbox(model, tmp_path, error):
    box = EarlySandbox(ended(TrialStatus.OK, {}), error=error)
    with pytest.raises(type(error)):
        evaluate(model, EvalConfig(dataset="digits", seeds=1, epochs=1), lambda: box, tmp_path / "cache")
    assert len(box.started) == 1 and box.closed == 1  # close() removes the container started early


def test_a_model_that_fails_preflight_starts_no_container(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch.nn as nn\nclass Model(nn.Module)\n    pass\n")
    made = []
    scored = evaluate(bad, EvalConfig(dataset="digits", seeds=1, epochs=1), lambda: made.append(1),
                      tmp_path / "cache")
    assert scored.report.status is TrialStatus.INVALID_SUBMISSION
    assert made == []  # no sandbox, so no engine needed and no container
