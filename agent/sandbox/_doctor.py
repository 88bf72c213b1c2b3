"""`research-agent doctor`: is this machine's sandbox what we promise? One line per check."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass

import docker
import docker.errors

from ..records import SandboxLimits
from . import _controls as c
from . import _files, _image

MIN_RUNC = (1, 1, 12)  # CVE-2024-21626 ("Leaky Vessels") is fixed from 1.1.12 upstream
PROBE_MEMORY = 128 * 1024**2  # the probe allocates past this and must be OOM-killed
PROBE_TIMEOUT_S = 30

# Runs inside the sandbox with every control: report what the kernel says, then test limits.
PROBE = r"""
import json, os, threading, time
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
facts = {k: status[k].strip() for k in ("Seccomp", "NoNewPrivs", "CapEff")}
facts["uid"] = os.getuid()
try:
    open("/etc/probe", "w"); facts["rootfs_writable"] = True
except OSError:
    facts["rootfs_writable"] = False
import socket
try:
    socket.socket(socket.AF_INET); facts["inet_socket"] = True
except OSError:
    facts["inet_socket"] = False
threads = []
try:
    for _ in range(400):
        t = threading.Thread(target=time.sleep, args=(3,)); t.start(); threads.append(t)
except RuntimeError:
    pass
facts["threads_started"] = len(threads)
print(json.dumps(facts), flush=True)
hog = []
while True:
    hog.append(bytearray(16 * 1024 * 1024))
"""


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # "ok" | "warn" | "fail"
    detail: str
    next_step: str = ""


def run_checks(variant: str = "cpu") -> list[Check]:
    """Every check, in order; never raises for a broken machine (that is a failed check)."""
    try:
        client = docker.from_env(version="auto", timeout=60)
        version = client.version()
        info = client.info()
    except docker.errors.DockerException as exc:
        detail = str(exc).splitlines()[0][:160]
        return [Check("docker engine", "fail", detail, _files.engine_next_step(detail))]
    checks = [
        Check("docker engine", "ok",
              f"server {version.get('Version')} (API {version.get('ApiVersion')})"),
        _runc(version),
        _cgroup(info),
        _userns(info),
        _runsc(info),
        _gpu(info),
    ]
    image_check, image = _image_check(client, variant)
    checks.append(image_check)
    if image is not None:
        checks.extend(_probe(client, image))
    return checks


def _runc(version: dict) -> Check:
    comp = next((x for x in version.get("Components", []) if x.get("Name") == "runc"), None)
    if comp is None:
        return Check("runc", "warn", "runc version not reported by the engine",
                     "check `runc --version` is 1.1.12 or newer")
    raw = comp.get("Version", "")
    commit = (comp.get("Details") or {}).get("GitCommit", "")
    nums = tuple(int(n) for n in re.findall(r"\d+", raw)[:3])
    if nums >= MIN_RUNC:
        return Check("runc", "ok", raw)
    if re.search(r"\+deb12u\d+", commit):
        return Check("runc", "ok", f"{raw} ({commit}: Debian's build carries the CVE-2024-21626 fix)")
    return Check("runc", "warn", f"{raw} is older than 1.1.12 (CVE-2024-21626)",
                 "upgrade the container runtime (runc >= 1.1.12)")


def _cgroup(info: dict) -> Check:
    version = str(info.get("CgroupVersion") or "?")
    warnings = [w for w in info.get("Warnings") or [] if "limit" in w.lower()]
    if warnings:
        return Check("cgroups", "fail", f"v{version}: {warnings[0]}",
                     "enable the memory/pids cgroup controllers in the kernel command line")
    return Check("cgroups", "ok", f"v{version}, driver {info.get('CgroupDriver')}")


def _userns(info: dict) -> Check:
    opts = " ".join(info.get("SecurityOptions") or [])
    if "rootless" in opts:
        return Check("user namespaces", "ok", "rootless engine")
    if "userns" in opts:
        return Check("user namespaces", "ok", "userns-remap enabled")
    return Check("user namespaces", "warn",
                 "engine runs as root without userns-remap (the sandbox user is non-root anyway)",
                 "optional: enable userns-remap or rootless Docker for defence in depth")


def _runsc(info: dict) -> Check:
    if "runsc" in (info.get("Runtimes") or {}):
        return Check("gVisor (runsc)", "ok", "registered; use --runtime runsc for the most hostile code")
    hint = "installed but not registered in /etc/docker/daemon.json" if shutil.which("runsc") else (
        "not installed")
    return Check("gVisor (runsc)", "warn", hint,
                 "optional: apt-get install runsc and register it with --oci-seccomp --network=none")


def _gpu(info: dict) -> Check:
    runtimes = info.get("Runtimes") or {}
    if "nvidia" in runtimes or shutil.which("nvidia-container-runtime-hook"):
        return Check("GPU runtime", "ok", "NVIDIA container runtime present (--gpus works)")
    return Check("GPU runtime", "warn", "no NVIDIA container runtime (only needed for --gpus)",
                 "install nvidia-container-toolkit to pass GPUs through")


def _image_check(client, variant: str):
    try:
        info = _image.resolve(client, variant)
    except Exception as exc:  # noqa: BLE001 - any failure here is a failed check, not a crash
        return Check("sandbox image", "fail", str(exc), f"run {_image.build_hint()}"), None
    labels = info.labels
    if not _image.is_current(client, variant):
        return Check("sandbox image", "warn", f"{info.tag} was built from another version of the runner",
                     f"run {_image.build_hint()}"), info
    detail = (f"{info.tag} {info.id[7:19]} protocol {labels.get(_image.LABEL + 'protocol')}, "
              f"torch {info.torch_version}, torchvision {info.torchvision_version}, "
              f"seccomp {labels.get(_image.LABEL + 'seccomp-sha256', '')[:12]}")
    return Check("sandbox image", "ok", detail), info


def _probe(client, image) -> list[Check]:
    """A short container with every control on: are the limits and seccomp really enforced?"""
    limits = SandboxLimits(memory_bytes=PROBE_MEMORY, cpus=1, timeout_s=PROBE_TIMEOUT_S)
    kwargs = c.host_config_kwargs(limits, 1)
    container = None
    try:
        container = client.containers.create(image.id, entrypoint=["python", "-c", PROBE], **kwargs)
        container.start()
        result = container.wait(timeout=PROBE_TIMEOUT_S)
        container.reload()
        oom = bool(container.attrs["State"].get("OOMKilled"))
        out = container.logs(stdout=True, stderr=False).decode(errors="replace").strip()
        facts = json.loads(out.splitlines()[0]) if out else {}
    except Exception as exc:  # noqa: BLE001 - any failure of the probe is a failed check
        return [Check("limits probe", "fail", f"probe container failed: {str(exc)[:160]}",
                      "run with --debug; check `docker run` works for the sandbox image")]
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except docker.errors.DockerException:
                pass
    return _probe_checks(facts, oom, result.get("StatusCode"))


def _probe_checks(facts: dict, oom: bool, exit_code) -> list[Check]:
    seccomp_ok = facts.get("Seccomp") == "2" and facts.get("NoNewPrivs") == "1"
    caps_ok = int(facts.get("CapEff", "1") or "1", 16) == 0
    threads = facts.get("threads_started", 0)
    return [
        Check("seccomp in force", "ok" if seccomp_ok else "fail",
              f"Seccomp={facts.get('Seccomp')} NoNewPrivs={facts.get('NoNewPrivs')} "
              f"AF_INET {'allowed' if facts.get('inet_socket') else 'refused'}",
              "" if seccomp_ok else "the engine ignored the profile; check `docker info` security options"),
        Check("privileges dropped", "ok" if caps_ok and facts.get("uid") == 10001 else "fail",
              f"uid {facts.get('uid')}, CapEff {facts.get('CapEff')}, "
              f"root fs {'writable' if facts.get('rootfs_writable') else 'read-only'}"),
        Check("memory limit enforced", "ok" if oom else "fail",
              f"probe past {PROBE_MEMORY // 1024**2} MiB: OOMKilled={oom}, exit {exit_code}",
              "" if oom else "enable the memory cgroup controller (cgroup_enable=memory)"),
        Check("pids limit enforced", "ok" if 0 < threads < c.PIDS_LIMIT else "fail",
              f"{threads} threads started under a limit of {c.PIDS_LIMIT}",
              "" if 0 < threads < c.PIDS_LIMIT else "enable the pids cgroup controller"),
    ]


def as_dicts(checks: list[Check]) -> list[dict]:
    return [asdict(x) for x in checks]


_LEVEL_STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}


def checks_table(checks: list[Check]):
    """A rich grid, one row per check: its level, then ``name: detail`` wrapped by words under
    itself; a failing check's next step (often a command to type) on its own line below."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    for x in checks:
        text = Text(f"{x.name}: {x.detail}")
        if x.next_step and x.level != "ok":
            text.append(f"\n-> {x.next_step}", style="dim")
        grid.add_row(Text(x.level, style=_LEVEL_STYLE[x.level]), text)
    return grid
