"""Prepared containers on the real engine: the next trial's container is started while one runs,
gets its job by rename, keeps every control, and is never left behind."""

from __future__ import annotations

import shutil
import time
import uuid

from agent.config import EvalConfig
from agent.data import prepare
from agent.records import SandboxLimits, TrialStatus
from agent.sandbox import DockerSandbox, SandboxRequest
from agent.sandbox._docker import TRIAL_LABEL
from agent.sandbox._spare import SPARE_SUFFIX
from agent.trial._outputs import load_report
from agent.trial._run import _job
from tests.integration.test_eval import MLP

LIMITS = SandboxLimits(timeout_s=120, memory_bytes=1024**3, cpus=1.0)


def _request(data_dir, run: str, n: int, data) -> SandboxRequest:
    config = EvalConfig(dataset="digits", seeds=1, epochs=1, limits=LIMITS)
    return SandboxRequest(job=_job(config, data, [n]), model_source=MLP, data_dir=data_dir, limits=LIMITS,
                          trial_id=f"{run}/t{n:04d}")


def _ours(docker_client, run: str) -> list:
    found = docker_client.containers.list(all=True, filters={"label": TRIAL_LABEL})
    return [c for c in found if c.labels[TRIAL_LABEL].startswith(f"{run}/")]


def _first_step_s(outcome) -> float:
    report, problem = load_report(outcome.files)
    assert problem is None and report is not None
    return report.first_step_at - outcome.start_s


def test_the_next_trial_runs_in_the_prepared_container_and_nothing_is_left(docker_client, sandbox_image,
                                                                            agent_home, tmp_path):
    data = prepare("digits", agent_home / "cache" / "datasets")
    other = tmp_path / "other-data"
    shutil.copytree(data.public_dir, other)
    run = f"test-prepared-{uuid.uuid4().hex[:8]}"
    box = DockerSandbox(docker_client, prepare_next=True)
    try:
        first = box.run(_request(data.public_dir, run, 1, data))
        assert first.status is TrialStatus.OK, first.message
        spare = box._spares._spare
        assert spare is not None and spare.container.labels[TRIAL_LABEL] == f"{run}/t0001{SPARE_SUFFIX}"
        assert spare.container.attrs["HostConfig"]["CpuShares"] == 2  # it yields to the running trial
        time.sleep(3)  # its runner has imported torch by now, and waits for job.json
        second = box.run(_request(data.public_dir, run, 2, data))
        assert second.status is TrialStatus.OK, second.message
        assert second.container_id == spare.container.id  # the prepared one ran it, and only it
        assert _first_step_s(second) < 0.5 < _first_step_s(first)
        box._spares._join(30)  # the spare beside trial 2 exists by now
        # Both removed like any trial's container: only the spare prepared beside trial 2 is left.
        assert [c.labels[TRIAL_LABEL] for c in _ours(docker_client, run)] == [f"{run}/t0002{SPARE_SUFFIX}"]
        # Another data dir does not fit the spare prepared beside trial 2: it is removed unused.
        unfit = box._spares._spare
        third = box.run(_request(other, run, 3, data))
        assert third.status is TrialStatus.OK, third.message
        assert third.container_id != unfit.container.id
        assert unfit.container.id not in {c.id for c in _ours(docker_client, run)}
        assert not unfit.job_dir.exists()
    finally:
        box.close()
    assert _ours(docker_client, run) == []  # close removed the last spare


def test_a_spare_left_by_a_killed_host_is_reaped_by_its_run_prefix(docker_client, sandbox_image, agent_home):
    data = prepare("digits", agent_home / "cache" / "datasets")
    run = f"test-prepared-{uuid.uuid4().hex[:8]}"
    box = DockerSandbox(docker_client, prepare_next=True)
    outcome = box.run(_request(data.public_dir, run, 1, data))
    assert outcome.status is TrialStatus.OK, outcome.message
    box._spares._join(30)
    left = _ours(docker_client, run)  # the host "dies" here: nobody closes the sandbox
    assert [c.labels[TRIAL_LABEL] for c in left] == [f"{run}/t0001{SPARE_SUFFIX}"]
    assert DockerSandbox(docker_client).reap(f"{run}/") == 1  # what `resume` does first
    assert _ours(docker_client, run) == []


def test_an_eval_runs_in_the_container_it_started_before_its_job(docker_client, sandbox_image, agent_home,
                                                                 tmp_path, monkeypatch):
    """`eval` starts its container once the model passed preflight and hands it the job by rename:
    one container, labelled with the eval's trial id, at the engine's default weight, then gone."""
    from agent.sandbox import _spare
    from agent.trial import evaluate

    model = tmp_path / "mlp.py"
    model.write_text(MLP)
    taken, boxes = [], []
    real_take = _spare.SpareSlot.take

    def take(slot, request):
        spare = real_take(slot, request)
        taken.append((request.trial_id, spare and spare.container))
        return spare

    def factory():
        boxes.append(DockerSandbox(docker_client))
        return boxes[-1]

    monkeypatch.setattr(_spare.SpareSlot, "take", take)
    config = EvalConfig(dataset="digits", seeds=2, epochs=1, limits=LIMITS)
    scored = evaluate(model, config, factory, agent_home / "cache" / "datasets")
    assert scored.report.status is TrialStatus.OK, scored.report.message
    assert len(boxes) == 1 and len(taken) == 1
    trial_id, container = taken[0]
    assert trial_id.startswith("eval-") and container is not None  # the early container ran the job
    assert container.labels[TRIAL_LABEL] == trial_id
    assert container.attrs["HostConfig"]["CpuShares"] in (0, 1024)  # nothing of ours runs beside it
    assert _ours_exact(docker_client, trial_id) == []


def test_an_early_container_never_handed_a_job_is_removed_on_close(docker_client, sandbox_image, agent_home):
    data = prepare("digits", agent_home / "cache" / "datasets")
    trial_id = f"eval-test-{uuid.uuid4().hex[:8]}"
    box = DockerSandbox(docker_client)
    box.start_early(data.public_dir, LIMITS, trial_id)
    box._spares._join(30)
    [early] = _ours_exact(docker_client, trial_id)
    assert early.status == "running"  # its runner waits for a job that never comes
    box.close()
    assert _ours_exact(docker_client, trial_id) == []


def _ours_exact(docker_client, label: str) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"{TRIAL_LABEL}={label}"})
