"""A trial cut by its deadline keeps the seeds it finished; the loop completes the seed list later.

Real engine, real runner, real registry. The model sleeps a fixed time per training step, so a
seed takes about 15 s whatever the machine's load; with ``--timeout 40`` the deadline falls after
the second seed and before the third (the container starts in 3-8 s).
"""

from __future__ import annotations

import pytest

from agent.planner import PlanContext, Proposal, SearchPlanner
from agent.registry import RunStatus, SQLiteRegistry
from agent.sandbox import DockerSandbox
from agent.specs import Goal, TrainingSpec, TrialSpec
from agent.study import Study, StudyConfig

pytestmark = pytest.mark.usefixtures("sandbox_image")

STEP_SLEEP_S = 0.8  # 9 steps an epoch, 2 epochs: about 15 s a seed
CAP_S = 40.0

SLOW_MLP = f"""
import time

import torch.nn as nn


class Model(nn.Module):
    def __init__(self, in_features: int = 64, n_classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, 64), nn.ReLU(), nn.Linear(64, n_classes))

    def forward(self, x):
        if self.training and len(x) > 2:  # the runner's two-example contract check stays fast
            time.sleep({STEP_SLEEP_S})
        return self.net(x)
"""


class PromoteThenFollowUp:
    """Promotes one free-source candidate on seeds 0-2, then lets the search planner follow up."""

    name = "scripted"

    def __init__(self):
        self.offline = SearchPlanner(seed=0, checkpoints=(3,))
        self.spec = TrialSpec(source=SLOW_MLP, origin="user",
                              training=TrainingSpec(epochs=2, batch_size=128, lr=1e-3))

    def bind(self, record, past_calls=()):
        pass

    def propose(self, ctx: PlanContext) -> Proposal | None:
        if not ctx.history:
            return Proposal(spec=self.spec, action="promote", candidate="slow-mlp", seeds=[0, 1, 2], rung=1,
                            reason="full fidelity, three seeds at once")
        return self.offline.follow_up(ctx)


def test_a_cut_trial_keeps_its_finished_seeds_and_a_follow_up_completes_the_list(tmp_path, docker_client):
    config = StudyConfig(goal=Goal(text="digits 50%", dataset="digits", target=0.5), seeds=3,
                         budget_minutes=10, max_iterations=2, trial_timeout_s=CAP_S)
    lines: list[str] = []
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as registry:
        study = Study(config, registry, DockerSandbox, tmp_path / "cache", planner=PromoteThenFollowUp(),
                      progress=lines.append)
        result = study.start()
        first, second = registry.list_trials(result.run_id)

        assert first.status.value == "timeout"
        kept = [s for s in first.seeds if s.status == "ok"]
        assert [s.seed for s in kept] == [0, 1], first.message
        assert "2 of 3 seeds finished" in first.message
        for s in kept:  # recorded like any seed: host-scored metrics and the runner's curves
            assert 0.0 <= s.metrics["accuracy"] <= 1.0 and len(s.curves["val_acc"]) == 2
        assert [s.status for s in first.seeds if s.seed == 2] == ["timeout"]
        assert first.seeds[2].metrics == {}

        assert second.rung["action"] == "add_seeds"
        assert [s.seed for s in second.seeds] == [2]  # the missing seed, never a finished one again
        assert "ran out of time" in second.rung["reason"]
        assert second.status.value == "ok", second.message
        assert second.rung["projected_s"] is not None
        assert result.status in (RunStatus.ACHIEVED, RunStatus.NOT_ACHIEVED, RunStatus.INCONCLUSIVE)
        # The ledger counts the three seeds as one seed list of the candidate, as if run at once.
        assert sorted(study._ledger.candidates["slow-mlp"].full) == [0, 1, 2]
    assert any("deadline 40 s" in line for line in lines), lines
    left = docker_client.containers.list(all=True, filters={"label": "org.research-agent.trial"})
    assert not [c for c in left if c.labels["org.research-agent.trial"].startswith(f"{result.run_id}/")]
