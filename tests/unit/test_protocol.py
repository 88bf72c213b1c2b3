"""Host and runner agree on the protocol: version, job fields, constants."""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from agent import protocol as host

RUNNER_DIR = Path(__file__).resolve().parents[2] / "sandbox_image"


@pytest.fixture(scope="module")
def runner_protocol():
    name = "runner_protocol_under_test"
    spec = importlib.util.spec_from_file_location(name, RUNNER_DIR / "runner" / "protocol.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def test_versions_and_constants_match(runner_protocol):
    assert runner_protocol.PROTOCOL_VERSION == host.PROTOCOL_VERSION
    for name in ("DONE_MARKER", "DONE_LINE", "REPORT_FILE", "EXIT_OK", "EXIT_CRASHED",
                 "EXIT_REJECTED", "EXIT_DEADLINE", "EXIT_RUNNER_ERROR"):
        assert getattr(runner_protocol, name) == getattr(host, name), name


def test_job_fields_match(runner_protocol):
    runner_fields = {f.name for f in dataclasses.fields(runner_protocol.JobSpec)}
    assert runner_fields == set(host.JobSpec.model_fields)


def test_host_job_json_is_accepted_by_the_runner(runner_protocol):
    job = host.JobSpec(seeds=[0, 1], epochs=2, batch_size=8, optimizer="sgd", lr=0.1,
                       n_classes=10, input_shape=[1, 8, 8], deadline_s=30, threads=2)
    parsed = runner_protocol.JobSpec.from_json(job.model_dump_json())
    assert parsed.seeds == [0, 1] and parsed.optimizer == "sgd"


@pytest.mark.parametrize(
    ("change", "needle"),
    [({"protocol_version": 99}, "protocol version"), ({"surprise": 1}, "unknown fields"),
     ({"optimizer": "lbfgs"}, "optimizer")],
)
def test_runner_rejects_bad_jobs(runner_protocol, change, needle):
    job = host.JobSpec(seeds=[0], epochs=1, batch_size=8, optimizer="adam", lr=0.1,
                       n_classes=10, input_shape=[1, 8, 8], deadline_s=30, threads=1)
    raw = json.loads(job.model_dump_json()) | change
    with pytest.raises(runner_protocol.JobError, match=needle):
        runner_protocol.JobSpec.from_json(json.dumps(raw))


def test_curve_fields_match(runner_protocol):
    runner_fields = {f.name for f in dataclasses.fields(runner_protocol.SeedCurves)}
    assert runner_fields == set(host.SeedCurves.model_fields)
