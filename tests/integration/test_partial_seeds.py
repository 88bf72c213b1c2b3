"""A job that ends early keeps the seeds that finished: each is complete on its own, and /out
outlives whatever ended the job (its deadline, a crash, the memory limit, a stuck runner, Ctrl-C).

Seed 1 misbehaves (the runner seeds torch with the seed itself, so ``torch.initial_seed()`` says
which seed trains); seed 0 finishes first and must come back whole: both probability files, its
seed.json and its .done. The seeds after it never get a .done.
"""

from __future__ import annotations

import io
import textwrap
import uuid

import numpy as np
import pytest

from agent import protocol as p
from agent.config import EvalConfig
from agent.data import prepare
from agent.records import SandboxLimits, TrialStatus
from agent.sandbox import DockerSandbox, SandboxInterrupted, SandboxRequest
from agent.sandbox import _controls as c
from agent.sandbox._docker import TRIAL_LABEL
from agent.trial._run import _job

MEMORY = 1024**3
SEED_0 = [p.seed_file(0, n) for n in ("test_probs.npy", "val_probs.npy", p.SEED_REPORT_FILE, p.SEED_DONE_MARKER)]


def model(seed_1: str, every_batch: str = "") -> str:
    """Digits MLP: ``seed_1`` runs in seed 1's first forward in training; ``every_batch`` in each."""
    return f"""
import os
import signal
import time

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        if self.training and torch.initial_seed() == 1:
{textwrap.indent(textwrap.dedent(seed_1), " " * 12)}
        if self.training:
{textwrap.indent(textwrap.dedent(every_batch) or "pass", " " * 12)}
        return self.net(x)
"""


SPIN = """
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def run_trial(docker_client, sandbox_image, agent_home):
    data = prepare("digits", agent_home / "cache" / "datasets")

    def _run(source: str, timeout_s: float = 60, seeds=(0, 1, 2), epochs: int = 1, progress=None):
        limits = SandboxLimits(timeout_s=timeout_s, memory_bytes=MEMORY, cpus=1.0)
        config = EvalConfig(dataset="digits", seeds=len(seeds), epochs=epochs, limits=limits)
        trial_id = f"test-partial-{uuid.uuid4().hex[:12]}"
        request = SandboxRequest(job=_job(config, data, list(seeds)), model_source=source,
                                 data_dir=data.public_dir, limits=limits, trial_id=trial_id)
        try:
            return DockerSandbox(docker_client).run(request, progress), trial_id
        except SandboxInterrupted as exc:
            exc.trial_id = trial_id
            raise

    return _run


def assert_only_seed_0(files: dict[str, bytes]) -> None:
    assert set(SEED_0) <= set(files), sorted(files)
    probs = np.load(io.BytesIO(files[p.seed_file(0, "test_probs.npy")]), allow_pickle=False)
    assert probs.shape[1] == 10 and np.allclose(probs.sum(1), 1, atol=1e-4)
    record = p.SeedReport.model_validate_json(files[p.seed_file(0, p.SEED_REPORT_FILE)])
    assert record.seed == 0 and len(record.curves.val_loss) == 1
    assert not [n for n in files if n.endswith(p.SEED_DONE_MARKER) and n.startswith(("seed_1/", "seed_2/"))]
    assert p.DONE_MARKER not in files and p.REPORT_FILE not in files  # the job as a whole did not finish


def left_behind(docker_client, trial_id: str) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"{TRIAL_LABEL}={trial_id}"})


def test_a_seed_that_never_ends_times_out_and_the_finished_seed_is_kept(run_trial, docker_client):
    outcome, trial_id = run_trial(model(SPIN), timeout_s=9)
    assert outcome.status is TrialStatus.TIMEOUT, (outcome.message, outcome.stderr_tail[-800:])
    assert not outcome.we_killed and outcome.exit_code == p.EXIT_DEADLINE  # the runner's own deadline
    assert_only_seed_0(outcome.files)
    assert left_behind(docker_client, trial_id) == []


def test_a_seed_that_crashes_keeps_the_seed_before_it(run_trial):
    outcome, _ = run_trial(model('raise ValueError("seed 1 is broken")'))
    assert outcome.status is TrialStatus.CRASHED, (outcome.message, outcome.stderr_tail[-800:])
    assert outcome.exit_code == p.EXIT_CRASHED and "seed 1 is broken" in outcome.message
    assert_only_seed_0(outcome.files)


def test_a_seed_killed_by_the_memory_limit_keeps_the_seed_before_it(run_trial):
    hog = """
    hoard = []
    while True:
        hoard.append(torch.ones(25_000_000))  # 100 MB each, touched
    """
    outcome, _ = run_trial(model(hog))
    assert outcome.status is TrialStatus.OOM, (outcome.message, outcome.stderr_tail[-800:])
    assert_only_seed_0(outcome.files)


def test_a_stuck_runner_s_finished_seed_is_copied_before_our_kill(run_trial, monkeypatch):
    # The model stops the supervisor (its parent): no done line ever comes. At our deadline the
    # host copies /out once, then kills.
    monkeypatch.setattr(c, "KILL_GRACE_S", 2.0)
    outcome, _ = run_trial(model("os.kill(os.getppid(), signal.SIGSTOP)\n" + SPIN), timeout_s=9)
    assert outcome.status is TrialStatus.TIMEOUT and outcome.we_killed, outcome.message
    assert_only_seed_0(outcome.files)


def test_a_complete_job_reports_progress_every_epoch_and_keeps_its_report(run_trial):
    # Each epoch takes over a second, longer than the host's slowest poll, so it sees every one.
    slow = model("pass", every_batch="time.sleep(0.07)")
    seen = []
    outcome, _ = run_trial(slow, seeds=(0, 1), epochs=3, progress=lambda *args: seen.append(args))
    assert outcome.status is TrialStatus.OK, (outcome.message, outcome.stderr_tail[-800:])
    assert {p.REPORT_FILE, p.DONE_MARKER} <= set(outcome.files)
    for seed in (0, 1):
        assert {p.seed_file(seed, n) for n in ("test_probs.npy", p.SEED_REPORT_FILE, p.SEED_DONE_MARKER)} <= set(
            outcome.files)
    report = p.RunnerReport.model_validate_json(outcome.files[p.REPORT_FILE])
    assert [s.seed for s in report.seeds] == [0, 1]
    progress = [runner for _, _, runner in seen if runner is not None]
    assert all(isinstance(r, p.RunnerProgress) for r in progress)
    assert {(r.seed, r.epoch) for r in progress} >= {(s, e) for s in (0, 1) for e in (1, 2, 3)}, progress
    assert {(r.epochs, r.seeds) for r in progress} == {(3, 2)}
    assert max(r.seeds_done for r in progress) >= 1


def test_an_interrupt_keeps_the_finished_seed_and_leaves_no_container(run_trial, docker_client):
    def interrupt_after_seed_0(phase, elapsed, runner):
        if runner is not None and runner.seeds_done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(SandboxInterrupted) as caught:
        run_trial(model(SPIN), progress=interrupt_after_seed_0)
    outcome = caught.value.outcome
    assert outcome.status is TrialStatus.INTERRUPTED and outcome.status.retryable
    assert_only_seed_0(outcome.files)
    assert left_behind(docker_client, caught.value.trial_id) == []
