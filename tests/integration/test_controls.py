"""Every sandbox control is in force: seen from the engine on the live container, and from inside."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent.config import EvalConfig
from agent.data import prepare
from agent.records import SandboxLimits, TrialStatus
from agent.sandbox import DockerSandbox, SandboxRequest
from agent.sandbox import _controls as c
from agent.sandbox._docker import TRIAL_LABEL
from agent.trial._run import _job

CANARY_KEY = "RESEARCH_AGENT_CANARY_SECRET"
CANARY_VALUE = "canary-6f1d2a9c-must-never-enter-the-sandbox"
LIMITS = SandboxLimits(timeout_s=120, memory_bytes=1024**3, cpus=1.0)

# Sleeps in its first constructor call so the container stays alive while we inspect it.
SLEEPY_MODEL = """
import time

import torch.nn as nn

_SLEPT = []


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        if not _SLEPT:
            _SLEPT.append(1)
            time.sleep(4)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""


def _env_dict(pairs: list[str] | None) -> dict[str, str]:
    return dict(item.split("=", 1) for item in pairs or [])


def _wait_running(client, trial_id: str, future, deadline_s: float = 60.0):
    """The container of ``trial_id`` once it is running (fails if the run ends first)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and not future.done():
        found = client.containers.list(all=True, filters={"label": f"{TRIAL_LABEL}={trial_id}"})
        if found and found[0].attrs["State"]["Running"]:
            return found[0]
        time.sleep(0.1)
    pytest.fail("the trial's container was never seen running")


@pytest.fixture
def live_trial(docker_client, sandbox_image, agent_home, monkeypatch):
    """Start a sleepy trial in a thread; yield (container, future, trial_id)."""
    monkeypatch.setenv(CANARY_KEY, CANARY_VALUE)
    config = EvalConfig(dataset="digits", seeds=1, epochs=1, limits=LIMITS)
    data = prepare("digits", agent_home / "cache" / "datasets")
    trial_id = f"test-controls-{uuid.uuid4().hex[:12]}"
    request = SandboxRequest(job=_job(config, data, [0]), model_source=SLEEPY_MODEL,
                             data_dir=data.public_dir, limits=LIMITS, trial_id=trial_id)
    sandbox = DockerSandbox(docker_client)
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(sandbox.run, request)
        container = _wait_running(docker_client, trial_id, future)
        yield container, future, trial_id, sandbox
        future.result(timeout=LIMITS.timeout_s + c.KILL_GRACE_S + 30)


def test_every_control_is_in_force_on_the_live_container(live_trial, docker_client):
    container, future, trial_id, sandbox = live_trial
    host = container.attrs["HostConfig"]
    config = container.attrs["Config"]

    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert host["Privileged"] is False
    security = host["SecurityOpt"]
    assert "no-new-privileges:true" in security
    assert any(opt.startswith("seccomp=") and "SCMP_ACT" in opt for opt in security)
    assert not any("unconfined" in opt for opt in security)
    assert host["ReadonlyRootfs"] is True
    for path in ("/tmp", "/out"):
        options = host["Tmpfs"][path].split(",")
        assert "noexec" in options and any(o.startswith("size=") for o in options)
    assert host["Memory"] == host["MemorySwap"] == LIMITS.memory_bytes
    assert host["NanoCpus"] == int(LIMITS.cpus * 1e9)
    assert host["CpusetCpus"] == c.cpuset(LIMITS, sandbox.host_cpus)
    assert host["PidsLimit"] == c.PIDS_LIMIT
    ulimits = {u["Name"]: (u["Soft"], u["Hard"]) for u in host["Ulimits"]}
    assert ulimits == {
        "nofile": (c.NOFILE_LIMIT, c.NOFILE_LIMIT),
        "core": (0, 0),
        "fsize": (c.FSIZE_LIMIT, c.FSIZE_LIMIT),
    }
    assert host["ShmSize"] == 64 * 1024**2
    assert host["IpcMode"] == "private"
    assert host["PidMode"] in ("", "private") and host["UTSMode"] == ""
    assert host["Init"] is True
    assert host["LogConfig"]["Type"] == "json-file"
    assert host["LogConfig"]["Config"].get("max-size")
    assert host["AutoRemove"] is False
    assert not host.get("Devices") and not host.get("DeviceRequests")
    assert config["User"].split(":")[0] == "10001"
    assert config["Labels"][TRIAL_LABEL] == trial_id

    # The environment is the image's own plus the allowlist: nothing from the host.
    image_env = _env_dict(docker_client.images.get(sandbox.image.id).attrs["Config"]["Env"])
    env = _env_dict(config["Env"])
    assert env == image_env | c.environment(LIMITS)
    assert CANARY_KEY not in env
    assert not any(CANARY_VALUE in v for v in env.values())

    # Exactly two read-only bind mounts; no docker.sock, no volumes.
    mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
    assert set(mounts) == {"/job", "/data"}
    for mount in mounts.values():
        assert mount["Type"] == "bind" and mount["RW"] is False
    assert len(host.get("Binds") or []) == 2
    assert all(b.endswith(":ro") for b in host["Binds"])
    assert not any("docker.sock" in m["Source"] for m in mounts.values())
    assert not host.get("VolumesFrom")

    outcome = future.result(timeout=LIMITS.timeout_s + c.KILL_GRACE_S + 30)
    assert outcome.status is TrialStatus.OK, outcome.message
    assert outcome.container_id == container.id
    left = docker_client.containers.list(all=True, filters={"label": f"{TRIAL_LABEL}={trial_id}"})
    assert left == [], "the trial's container was not removed"


# Checks from inside; any failure raises, so the trial is ``ok`` only if every check passed.
PROBE_MODEL = f"""
import os
import shutil
import subprocess

import torch.nn as nn


def _status_fields():
    with open("/proc/self/status") as fh:
        return dict(line.split(":", 1) for line in fh.read().splitlines() if ":" in line)


def _must_fail_to_write(path):
    try:
        with open(path, "w") as fh:
            fh.write("x")
    except OSError:
        return
    raise RuntimeError(f"probe: could write {{path}}")


def _probe():
    status = {{k: v.strip() for k, v in _status_fields().items()}}
    if status["NoNewPrivs"] != "1":
        raise RuntimeError(f"probe: NoNewPrivs is {{status['NoNewPrivs']}}")
    if status["Seccomp"] != "2":
        raise RuntimeError(f"probe: Seccomp mode is {{status['Seccomp']}}")
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if cap in status and int(status[cap], 16) != 0:
            raise RuntimeError(f"probe: {{cap}} is {{status[cap]}}")
    if os.getuid() != 10001 or os.geteuid() != 10001:
        raise RuntimeError(f"probe: uid {{os.getuid()}}/{{os.geteuid()}}")
    for path in ("/etc/probe", "/job/probe", "/data/probe", "/probe", "/job/model.py"):
        _must_fail_to_write(path)
    with open("/tmp/probe.txt", "w") as fh:
        fh.write("scratch")
    with open("/tmp/probe.txt") as fh:
        if fh.read() != "scratch":
            raise RuntimeError("probe: /tmp did not keep what was written")
    shutil.copy("/bin/true", "/tmp/true")
    os.chmod("/tmp/true", 0o755)
    try:
        subprocess.run(["/tmp/true"], check=True)
    except PermissionError:
        pass
    else:
        raise RuntimeError("probe: executed a binary from /tmp")
    if "{CANARY_KEY}" in os.environ or any("{CANARY_VALUE}" in v for v in os.environ.values()):
        raise RuntimeError("probe: the host's canary variable is in the environment")
    for sock in ("/var/run/docker.sock", "/run/docker.sock"):
        if os.path.exists(sock):
            raise RuntimeError(f"probe: {{sock}} is present")


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        _probe()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""


def test_controls_seen_from_inside(eval_model, monkeypatch):
    monkeypatch.setenv(CANARY_KEY, CANARY_VALUE)  # the CLI subprocess inherits it
    result = eval_model(PROBE_MODEL, "--seeds", "1", "--epochs", "1", timeout=300)
    report = result.report
    assert report["status"] == "ok", (report["message"], report["sandbox"].get("stderr_tail"))
    assert result.code == 0


def test_probe_failures_are_reported(eval_model):
    """The probe pattern itself works: a failing check surfaces as a crash with its message."""
    source = PROBE_MODEL.replace('("/etc/probe", ', '("/tmp/writable", "/etc/probe", ')
    result = eval_model(source, "--seeds", "1", "--epochs", "1", timeout=300)
    assert result.code == 3
    assert result.report["status"] == "crashed"
    assert "probe: could write /tmp/writable" in result.report["message"]

