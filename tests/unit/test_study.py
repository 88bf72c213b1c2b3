"""The loop's own record when it cannot go on: a run never stays ``running`` after it stopped."""

from __future__ import annotations

import pytest

import agent._watch
import agent.study
from agent.errors import DatasetError, SandboxError
from agent.planner import Proposal
from agent.protocol import RunnerProgress
from agent.records import TrialStatus
from agent.registry import RunStatus, SQLiteRegistry
from agent.results import EvalReport
from agent.scoring import aggregate
from agent.specs import Goal, MLPSpec, TrainingSpec, TrialSpec
from agent.study import Study, StudyConfig
from agent.trial import TrialInterrupted, failed_report
from tests.reports import make_report


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


# -- each trial's deadline follows its projected cost ----------------------------------------------
class Scripted:
    """Proposes the given proposals in order, then nothing."""

    name = "scripted"

    def __init__(self, *proposals):
        self.left = list(proposals)

    def bind(self, record, past_calls=()):
        pass

    def propose(self, context):
        return self.left.pop(0) if self.left else None


def _proposal(cand: str, projected_s: float | None, action: str = "explore", seeds=(0,)):
    spec = TrialSpec(model=MLPSpec(), training=TrainingSpec(epochs=1))
    return Proposal(spec=spec, action=action, candidate=cand, seeds=list(seeds), projected_s=projected_s)


def _ok(label, source, config, data, seeds) -> EvalReport:
    report = failed_report(label, source, config, data, TrialStatus.OK, "ok", [])
    scored = [{"seed": s, "status": "ok", "message": "", "curves": {}, "metrics": {"accuracy": 0.5}} for s in seeds]
    return EvalReport.model_validate(report.to_dict() | {"seeds": scored,
                                                         "aggregate": aggregate([s["metrics"] for s in scored])})


@pytest.fixture
def deadlines(monkeypatch):
    """Replace the sandbox run: each trial's deadline is recorded, and it reports one epoch of progress."""
    seen: list[float] = []

    def run_trial(source, label, config, sandbox_factory, data, batches=None, progress=None, **kw):
        seen.append(config.limits.timeout_s)
        progress("running", 12.0, RunnerProgress(seed=0, epoch=1, epochs=1, val_acc=0.5, seeds_done=0, seeds=1))
        return _ok(label, source, config, data, batches[0])

    monkeypatch.setattr(agent.study, "run_trial", run_trial)
    monkeypatch.setattr(agent._watch, "CONSOLE_EVERY_S", 0.0)  # say and store every epoch: no clock games here
    monkeypatch.setattr(agent._watch, "REGISTRY_EVERY_S", 0.0)
    return seen


@pytest.mark.parametrize(("cap", "small", "large", "unmeasured"),
                         [(None, 60, 1050, 600), (300, 60, 300, 300), (30, 30, 30, 30)])
def test_the_deadline_of_a_trial_follows_its_projected_cost(tmp_path, deadlines, cap, small, large, unmeasured):
    config = StudyConfig(goal=Goal(text="digits", dataset="digits", target=0.9), budget_minutes=60,
                         trial_timeout_s=cap)
    lines: list[str] = []
    planner = Scripted(_proposal("small", 10), _proposal("large", 700), _proposal("unmeasured", None))
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        result = Study(config, registry, NoSandbox, tmp_path / "cache", planner=planner, progress=lines.append).start()
        assert result.trials == 3 and result.reason.startswith("the planner has nothing left to try")
        # before: every trial got the 600 s default, whatever it was projected to take
        assert deadlines == [small, large, unmeasured]
        trials = registry.list_trials(result.run_id)
        assert [t.details["config"]["limits"]["timeout_s"] for t in trials] == [small, large, unmeasured]
    said = [line for line in lines if line.startswith("trial ")]
    assert said[0].startswith("trial 1: explore mlp seeds [0]") and f"~10 s, deadline {small} s" in said[0]
    assert f"~700 s, deadline {large} s" in said[1]
    assert f"| deadline {unmeasured} s |" in said[2] and "~" not in said[2]  # no projection, none shown
    assert f"  trial 2: seed 0 epoch 1/1, val_acc 0.5000 (0 of 1 seeds done), 12 s of {large} s" in lines


def test_the_budget_left_bounds_every_deadline(tmp_path, deadlines):
    config = StudyConfig(goal=Goal(text="digits", dataset="digits", target=0.9), budget_minutes=5)
    planner = Scripted(_proposal("unmeasured", None), _proposal("large", 700))
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        Study(config, registry, NoSandbox, tmp_path / "cache", planner=planner).start()
    unmeasured, large = deadlines
    # 5 minutes left (+ the 60 s grace): the default 600 s and the projected 1050 s are both cut to the budget
    assert 340 < unmeasured <= 360 and 340 < large <= 360


def test_the_progress_of_a_running_trial_is_in_the_registry(tmp_path, monkeypatch):
    stored = []

    def run_trial(source, label, config, sandbox_factory, data, batches=None, progress=None, **kw):
        progress("running", 3.04, RunnerProgress(seed=0, epoch=2, epochs=5, seeds_done=0, seeds=1))
        (run,) = registry.list_runs()
        stored.append(registry.list_trials(run.id)[0].progress)
        return _ok(label, source, config, data, batches[0])

    monkeypatch.setattr(agent.study, "run_trial", run_trial)
    monkeypatch.setattr(agent._watch, "REGISTRY_EVERY_S", 0.0)
    config = StudyConfig(goal=Goal(text="digits", dataset="digits", target=0.9), budget_minutes=60)
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        Study(config, registry, NoSandbox, tmp_path / "cache", planner=Scripted(_proposal("a", 10))).start()
    assert stored == [{"seed": 0, "epoch": 2, "epochs": 5, "val_acc": None, "seeds_done": 0, "seeds": 1,
                       "elapsed_s": 3.0}]


def _interrupted(ok_seeds: int) -> EvalReport:
    doc = make_report(seeds=(0, 1, 2), status="interrupted").to_dict()
    for s in doc["seeds"][:ok_seeds]:
        s["status"] = "ok"
    return EvalReport.model_validate(doc | {"message": f"interrupted; {ok_seeds} of 3 seeds finished"})


@pytest.mark.parametrize("ok_seeds", [1, 0])
def test_an_interrupted_trial_keeps_its_finished_seeds(tmp_path, monkeypatch, ok_seeds):
    def interrupted(*args, **kwargs):
        raise TrialInterrupted(_interrupted(ok_seeds))

    monkeypatch.setattr(agent.study, "run_trial", interrupted)
    config = StudyConfig(goal=Goal(text="digits", dataset="digits", target=0.9), budget_minutes=60)
    planner = Scripted(_proposal("c", 100, action="promote", seeds=(0, 1, 2)))
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        with pytest.raises(KeyboardInterrupt):
            Study(config, registry, NoSandbox, tmp_path / "cache", planner=planner).start()
        (run,) = registry.list_runs()
        assert run.status == RunStatus.INTERRUPTED
        (trial,) = registry.list_trials(run.id)
        if ok_seeds:  # recorded: its seed counts, resume plans the others
            assert trial.state == "finished" and trial.status == TrialStatus.INTERRUPTED
            assert [(s.seed, s.status) for s in trial.seeds] == [(0, "ok"), (1, "interrupted"), (2, "interrupted")]
            assert registry.recover(run.id) == []
        else:  # nothing finished: left running, and resume re-runs it whole
            assert trial.state == "running" and trial.status is None and trial.seeds == ()
            assert [t.id for t in registry.recover(run.id)] == [trial.id]


class Hinting(Scripted):
    """Scripted, and says the step after its n-th proposal trains on ``subsets[n]`` (None: all)."""

    def __init__(self, subsets, *proposals):
        super().__init__(*proposals)
        self.subsets = list(subsets)

    def next_subset(self, context, proposal):
        return self.subsets.pop(0)


def test_the_next_trials_data_goes_with_each_trial_for_its_prepared_container(tmp_path, monkeypatch):
    """The full data when the planner says the next step is a full-data one; else this trial's."""
    seen: list = []

    def run_trial(source, label, config, sandbox_factory, data, batches=None, progress=None, **kw):
        seen.append(kw.get("next_data_dir"))
        return _ok(label, source, config, data, batches[0])

    monkeypatch.setattr(agent.study, "run_trial", run_trial)
    config = StudyConfig(goal=Goal(text="digits", dataset="digits", target=0.9), budget_minutes=60)
    planner = Hinting([500, None], _proposal("a", 10), _proposal("b", 10))
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        study = Study(config, registry, NoSandbox, tmp_path / "cache", planner=planner)
        study.start()
    assert seen == [None, study.data.public_dir]
