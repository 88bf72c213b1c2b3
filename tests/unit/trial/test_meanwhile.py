"""The scoring imports start after the trial's idle-CPU sample and before its container runs.

Started before the sample, they made it count the host's own imports as a busy core: a quiet
2-core machine trained the eval with one thread instead of two.
"""

from __future__ import annotations

from agent.config import EvalConfig
from agent.records import TrialStatus
from agent.trial import _run
from tests.unit.trial.test_outputs import MLP, EndedSandbox, digits, ended, seed_files  # noqa: F401  (fixture)


def test_the_imports_start_between_the_cpu_sample_and_the_container(digits, monkeypatch):  # noqa: F811
    order: list[str] = []
    monkeypatch.setattr(_run, "idle_cpus", lambda yielding=None: order.append("sample") or 2.0)
    monkeypatch.setattr(_run, "load_scoring_meanwhile", lambda: order.append("imports"))

    class Recording(EndedSandbox):
        def run(self, request, progress=None):
            order.append("container")
            return super().run(request, progress)

    sandbox = Recording(ended(TrialStatus.TIMEOUT, seed_files(digits, 0)))
    config = EvalConfig(dataset="digits", seeds=3, epochs=2)
    _run.run_trial(MLP, "mlp.py", config, lambda: sandbox, digits, batches=[[0, 1, 2]])
    assert order == ["sample", "imports", "container"]
    assert sandbox.jobs[0].threads == _run.thread_count(config.limits)  # two idle cores: every thread allowed
