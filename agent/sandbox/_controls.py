"""The sandbox's security controls: every default is a named constant with its reason.

The boundary is the container and these controls. Preflight (AST checks) is a convenience
and never part of it.
"""

from __future__ import annotations

import hashlib
import json
import math

from ..records import SandboxLimits
from . import _files

SANDBOX_USER = "10001:10001"  # non-root, no entry in the host's passwd; root in a container is one bug from root on the host
NETWORK_MODE = "none"  # no interfaces but loopback: no exfiltration, no downloads, no metadata endpoints
USE_CONFIG_PROXY = False  # the client's proxy settings would otherwise be injected as env vars
CAP_DROP = ["ALL"]  # training needs no capability at all
NO_NEW_PRIVILEGES = "no-new-privileges:true"  # setuid binaries cannot raise privileges
READ_ONLY_ROOTFS = True  # the model can write only to the size-capped tmpfs mounts below
TMP_TMPFS = "rw,noexec,nosuid,nodev,size=256m,uid=10001,gid=10001,mode=0700"  # scratch space; cannot hold executables
OUT_TMPFS = "rw,noexec,nosuid,nodev,size=256m,uid=10001,gid=10001,mode=0700"  # outputs live in memory (counted by the memory cgroup), never on the host disk
SHM_SIZE = "64m"  # /dev/shm for torch/numpy IPC, capped
IPC_MODE = "private"  # own SysV IPC namespace: no shared memory with the host or other trials
PIDS_LIMIT = 256  # counts threads too; a fork bomb stops here, torch's thread pools fit easily
USE_INIT = True  # docker-init reaps zombies and forwards signals; the runner is never PID 1
NOFILE_LIMIT = 1024  # file descriptors; a descriptor flood stops here (EMFILE)
FSIZE_LIMIT = 512 * 1024**2  # largest single file the model may write (SIGXFSZ past it)
CORE_LIMIT = 0  # no core dumps: they would land in memory and leak model state
LOG_CONFIG = {"type": "json-file", "config": {"max-size": "1m", "max-file": "1"}}  # a chatty model cannot fill the host disk with logs
KILL_GRACE_S = 10.0  # the host kills this long after the runner's own deadline should have fired
RUNNER_DEADLINE_MARGIN_S = 1.0  # the runner's own deadline is this much before the host's
MAX_OUTPUT_BYTES = 300 * 1024**2  # the most the host reads back from /out (tar stream), whatever it holds
MAX_STDERR_TAIL = 4000  # characters of stderr kept with a failed trial
POLL_INTERVAL_S = 0.1  # the host's first looks for the runner's done cue / the exit: short runs end promptly
POLL_MAX_INTERVAL_S = 1.0  # its slowest look: a long trial costs dockerd two API calls a second, not twenty
POLL_DELAY_FRACTION = 0.05  # in between it waits 5% of the time run so far: the cue is seen within ~5% of it
# The environment is an allowlist: the host's environment (API keys included) never enters.
ENV_ALLOWLIST_KEYS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED")



def seccomp_profile_text() -> str:
    """The profile JSON text (docker-py wants the content, not a path), read from the package."""
    return _files.seccomp_profile_text()


def seccomp_sha256() -> str:
    return hashlib.sha256(seccomp_profile_text().encode()).hexdigest()


def runsc_profile_text() -> str:
    """The same allowlist in the dialect gVisor's OCI seccomp (``--oci-seccomp``) accepts.

    gVisor rejects ``SCMP_ACT_KILL_PROCESS`` (every container would fail to start), so the kill
    rules become ``SCMP_ACT_TRAP``: the process still dies by SIGSYS (exit 159 ->
    policy_violation) unless it installs a SIGSYS handler, and even then the call never runs.
    The Debian runsc build ignores ``errnoRet``, so ``clone3`` would get EPERM and glibc would not
    fall back to ``clone``; gVisor itself answers clone3 with ENOSYS, so it is allowed through.
    """
    profile = json.loads(seccomp_profile_text())
    for rule in profile["syscalls"]:
        if rule["action"] == "SCMP_ACT_KILL_PROCESS":
            rule["action"] = "SCMP_ACT_TRAP"
        if rule["names"] == ["clone3"]:
            rule["action"] = "SCMP_ACT_ALLOW"
            rule.pop("errnoRet", None)
    return json.dumps(profile, indent=2, sort_keys=True) + "\n"


def profile_for(runtime: str | None) -> str:
    return runsc_profile_text() if runtime == "runsc" else seccomp_profile_text()


def thread_count(limits: SandboxLimits) -> int:
    """Threads for torch/OpenMP: the CPU limit rounded up, at least one."""
    return max(1, math.ceil(limits.cpus))


def cpuset(limits: SandboxLimits, host_cpus: int) -> str:
    """Pin to as many cores as the CPU limit needs, so thread count and cores match."""
    n = min(host_cpus, thread_count(limits))
    return f"0-{n - 1}" if n > 1 else "0"


def environment(limits: SandboxLimits) -> dict[str, str]:
    threads = str(thread_count(limits))
    env = {
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "PYTHONHASHSEED": "0",
    }
    assert set(env) <= set(ENV_ALLOWLIST_KEYS)
    return env


def host_config_kwargs(limits: SandboxLimits, host_cpus: int) -> dict:
    """docker-py ``containers.create`` keyword arguments for every control above."""
    import docker.types  # only agent/sandbox imports docker

    kwargs = dict(
        user=SANDBOX_USER,
        network_mode=NETWORK_MODE,
        use_config_proxy=USE_CONFIG_PROXY,
        cap_drop=CAP_DROP,
        security_opt=[NO_NEW_PRIVILEGES, f"seccomp={profile_for(limits.runtime)}"],
        read_only=READ_ONLY_ROOTFS,
        tmpfs={"/tmp": TMP_TMPFS, "/out": OUT_TMPFS},
        mem_limit=limits.memory_bytes,
        memswap_limit=limits.memory_bytes,  # equal: no swap, so OOM is real and prompt
        nano_cpus=int(limits.cpus * 1e9),
        cpuset_cpus=cpuset(limits, host_cpus),
        pids_limit=PIDS_LIMIT,
        ulimits=[
            docker.types.Ulimit(name="nofile", soft=NOFILE_LIMIT, hard=NOFILE_LIMIT),
            docker.types.Ulimit(name="core", soft=CORE_LIMIT, hard=CORE_LIMIT),
            docker.types.Ulimit(name="fsize", soft=FSIZE_LIMIT, hard=FSIZE_LIMIT),
        ],
        shm_size=SHM_SIZE,
        ipc_mode=IPC_MODE,
        init=USE_INIT,
        log_config=docker.types.LogConfig(**LOG_CONFIG),
        environment=environment(limits),
        auto_remove=False,  # never: it races with reading State.OOMKilled; we remove in finally
        detach=True,
    )
    if limits.gpus:
        request = (
            docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])
            if limits.gpus == ["all"]
            else docker.types.DeviceRequest(device_ids=list(limits.gpus), capabilities=[["gpu"]])
        )
        kwargs["device_requests"] = [request]
    if limits.runtime:
        kwargs["runtime"] = limits.runtime
    return kwargs
