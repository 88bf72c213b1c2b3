"""Whose failure is it: the runner's before the model file is imported, the model's after."""

from __future__ import annotations

import shutil
import uuid

from agent.config import EvalConfig
from agent.data import prepare
from agent.records import SandboxLimits, TrialStatus
from agent.sandbox import DockerSandbox, SandboxRequest
from agent.trial._run import _job
from tests.integration.test_eval import MLP

LIMITS = SandboxLimits(timeout_s=120, memory_bytes=1024**3, cpus=1.0)


def _run(docker_client, data_dir, source: str, agent_home):
    config = EvalConfig(dataset="digits", seeds=1, epochs=1, limits=LIMITS)
    data = prepare("digits", agent_home / "cache" / "datasets")
    request = SandboxRequest(job=_job(config, data, [0]), model_source=source, data_dir=data_dir or data.public_dir,
                             limits=LIMITS, trial_id=f"test-phases-{uuid.uuid4().hex[:12]}")
    return DockerSandbox(docker_client).run(request), data


def test_a_runner_failure_before_the_model_import_is_infra_error(docker_client, sandbox_image, agent_home, tmp_path):
    data = prepare("digits", agent_home / "cache" / "datasets")
    broken = tmp_path / "data"
    shutil.copytree(data.public_dir, broken)
    (broken / "val_x.npy").unlink()  # the runner loads the arrays before it imports the model
    marker = "MODEL-FILE-WAS-IMPORTED"
    outcome, _ = _run(docker_client, broken, f"print({marker!r})\n" + MLP, agent_home)
    assert outcome.status is TrialStatus.INFRA_ERROR, (outcome.status, outcome.message)
    assert outcome.exit_code == 70
    assert outcome.message.startswith("the runner failed before importing the model")
    assert marker not in outcome.stderr_tail


def test_the_same_missing_file_read_by_the_model_is_the_model_s_crash(docker_client, sandbox_image, agent_home):
    source = "open('/data/no-such-file.npy')\n" + MLP  # fails at import time, inside the model file
    outcome, _ = _run(docker_client, None, source, agent_home)
    assert outcome.status is TrialStatus.CRASHED, (outcome.status, outcome.message)
    assert outcome.exit_code == 1
