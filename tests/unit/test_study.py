"""The loop's own record when it cannot go on: a run never stays ``running`` after it stopped."""

from __future__ import annotations

import pytest

import agent.study
from agent.errors import DatasetError, SandboxError
from agent.registry import RunStatus, SQLiteRegistry
from agent.specs import Goal
from agent.study import Study, StudyConfig


class NoSandbox:
    def describe(self) -> dict:
        return {"image": "sha256:none", "image_labels": {}, "seccomp_sha256": "0" * 64}

    def reap(self, prefix: str) -> int:
        return 0


@pytest.mark.parametrize("error", [SandboxError("cannot reach the Docker engine; start it"),
                                   DatasetError("the dataset cache is unreadable; remove it")])
def test_an_agent_error_inside_the_loop_marks_the_run_failed_with_its_reason(tmp_path, monkeypatch, error):
    def broken_trial(*args, **kwargs):
        raise error

    monkeypatch.setattr(agent.study, "run_trial", broken_trial)
    config = StudyConfig(goal=Goal(text="digits", dataset="digits", target=0.9), budget_minutes=5)
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        study = Study(config, registry, NoSandbox, tmp_path / "cache")
        with pytest.raises(type(error)):
            study.start()
        (run,) = registry.list_runs()
        assert run.status == RunStatus.FAILED  # before: `running` forever
        assert registry.get_run(run.id).decision == {"reason": str(error)}
        (trial,) = registry.list_trials(run.id)
        assert trial.state == "running"  # the trial it was on is left for `resume` to re-run


def test_a_target_the_test_set_cannot_carry_stops_before_any_trial_and_says_why(tmp_path, monkeypatch):
    # wine's test split has 45 rows: even 45/45 correct supports accuracy >= 0.913 at most (one-sided
    # 98.3%, Clopper-Pearson), so "at least 97%" can never be achieved; before, equal seeds at 1.0
    # gave the interval [1, 1] and the loop declared it achieved.
    def no_trial(*args, **kwargs):
        raise AssertionError("no trial may run for a goal the test set cannot carry")

    monkeypatch.setattr(agent.study, "run_trial", no_trial)
    config = StudyConfig(goal=Goal(text="wine 97%", dataset="wine", target=0.97), budget_minutes=5)
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        result = Study(config, registry, NoSandbox, tmp_path / "cache").start()
        assert result.status == RunStatus.INCONCLUSIVE and result.trials == 0
        assert "45 test rows can never support accuracy >= 0.97" in result.reason
        assert "0.9130" in result.reason and "lower the target" in result.reason
        from agent.report import write_run_report

        paths = write_run_report(registry.snapshot(result.run_id), registry.run_dir(result.run_id))
        assert "45 test rows can never support accuracy >= 0.97" in paths["markdown"].read_text()


class NothingToTry:
    name = "nothing"

    def bind(self, record, past_calls=()):
        pass

    def propose(self, context):
        return None


def test_a_planner_with_nothing_left_ends_the_run_with_that_reason(tmp_path):
    config = StudyConfig(goal=Goal(text="digits", dataset="digits", target=0.9), budget_minutes=5)
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        result = Study(config, registry, NoSandbox, tmp_path / "cache", planner=NothingToTry()).start()
        assert result.status == RunStatus.INCONCLUSIVE and result.trials == 0
        assert result.reason == "the planner has nothing left to try; no candidate reached full fidelity"
        assert registry.get_run(result.run_id).status == RunStatus.INCONCLUSIVE
