"""The hostile-model corpus: one file per case, each run through the real CLI and engine.

Every case goes through the ``hostile`` fixture, which wraps the root conftest's
``eval_model`` (``research-agent eval MODEL --json --seeds 1 --epochs 1 ...`` in a subprocess)
and checks, around the case, that the host came out unharmed:

- the trial's job directory is gone (the CLI runs with ``TMPDIR`` pointing at a directory of
  this case, so its ``research-agent-job-*`` directory can be told from those of the tests
  that run in parallel) and no trial container that mounted it is left;
- no new entry in a few host directories (``/tmp``, ``/root``, ``/etc``, ``/dev/shm``...) is
  owned by the sandbox's uid or named like a payload's marker, and ``/etc`` did not change;
- no process of the sandbox's uid survives outside a container that still exists;
- the engine answers, and ``MemAvailable`` and free disk come back near where they were.

At the end of the session a table (case, status, wall seconds) is printed and also written
as JSON under pytest's temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.sandbox._docker import TRIAL_LABEL

REPO = Path(__file__).resolve().parents[2]
SANDBOX_UID = 10001  # agent/sandbox/_controls.py SANDBOX_USER: whatever it creates is owned so
FAST_ARGS = ("--seeds", "1", "--epochs", "1")
DEFAULT_TIMEOUT = ("--timeout", "60")  # cases that hang pass a smaller --timeout themselves
WATCHED_DIRS = ("/tmp", "/var/tmp", "/root", "/etc", "/dev/shm", str(REPO))
PAYLOAD_MARKERS = ("pwned", "escape", "canary-hit")
# Other engineers' tests run trials in parallel (each up to 2 GiB of memory) and may build
# images, so only a gross leak counts; a tmpfs or an allocation that outlived its container
# at the scale of these cases (GiBs) still shows.
MEM_TOLERANCE = 4 * 1024**3
DISK_TOLERANCE = 2 * 1024**3
RECOVERY_S = 20.0  # memory and processes get this long to come back after the container goes

_RUNS: list[dict] = []
_SUMMARY: dict[str, Path] = {}


@dataclass
class HostileRun:
    """One case's CLI run plus what the host checks saw."""

    case: str
    code: int
    stdout: str
    stderr: str
    wall_s: float
    report: dict | None
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str | None:
        return self.report["status"] if self.report else None

    @property
    def message(self) -> str:
        return self.report["message"] if self.report else ""

    @property
    def flags(self) -> list[str]:
        return self.report["flags"] if self.report else []

    @property
    def sandbox(self) -> dict:
        return self.report.get("sandbox", {}) if self.report else {}

    def explain(self) -> str:
        """A failure message: what the host decided and the tail of what the model printed."""
        box = self.sandbox
        return (
            f"status={self.status} message={self.message!r} flags={self.flags} "
            f"exit_code={box.get('exit_code')} oom={box.get('oom_killed')} "
            f"we_killed={box.get('we_killed')} cli_exit={self.code}\n"
            f"--- sandbox stderr tail ---\n{box.get('stderr_tail', '')[-1500:]}\n"
            f"--- cli stderr ---\n{self.stderr[-1500:]}"
        )


@dataclass
class _Snapshot:
    entries: dict[str, dict[str, int]]
    etc_mtime: float
    mem_available: int
    disk_free: dict[str, int]


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def _entries(directory: str) -> dict[str, int]:
    """Top-level names of ``directory`` with their owner's uid (never following links)."""
    out: dict[str, int] = {}
    try:
        with os.scandir(directory) as it:
            for entry in it:
                try:
                    out[entry.name] = entry.stat(follow_symlinks=False).st_uid
                except OSError:
                    continue  # removed while we looked
    except OSError:
        pass
    return out


def _snapshot(disk_paths: list[str]) -> _Snapshot:
    return _Snapshot(
        entries={d: _entries(d) for d in WATCHED_DIRS},
        etc_mtime=os.stat("/etc").st_mtime,
        mem_available=_mem_available(),
        disk_free={p: shutil.disk_usage(p).free for p in disk_paths},
    )


def _container_ids(client) -> set[str]:
    return {c.id for c in client.containers.list(all=True, ignore_removed=True)}


def _sandbox_processes() -> dict[int, str]:
    """pid -> cgroup text of every host process owned by the sandbox's uid."""
    procs: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != SANDBOX_UID:
                continue
            procs[int(entry.name)] = (entry / "cgroup").read_text()
        except OSError:
            continue  # it exited while we looked
    return procs


def _orphans(client) -> list[str]:
    """Sandbox-uid processes whose container no longer exists (or that were never in one)."""
    before = _container_ids(client)
    procs = _sandbox_processes()
    known = before | _container_ids(client)
    return [
        f"pid {pid} ({cgroup.splitlines()[0] if cgroup else 'no cgroup'})"
        for pid, cgroup in procs.items()
        if not any(cid in cgroup for cid in known)
    ]


def _our_containers(client, job_tmp: Path) -> list:
    """Trial containers (by label) that mounted a job directory of this case."""
    ours = []
    for container in client.containers.list(all=True, filters={"label": TRIAL_LABEL},
                                            ignore_removed=True):
        mounts = container.attrs.get("Mounts") or []
        if any(str(m.get("Source", "")).startswith(str(job_tmp)) for m in mounts):
            ours.append(container)
    return ours


def _wait_until(check, timeout_s: float = RECOVERY_S):
    """Poll ``check()`` (returns a list of problems) until it is empty or time is up."""
    end = time.monotonic() + timeout_s
    problems = check()
    while problems and time.monotonic() < end:
        time.sleep(0.5)
        problems = check()
    return problems


def _host_problems(client, before: _Snapshot, job_tmp: Path) -> list[str]:
    problems: list[str] = []
    for container in _our_containers(client, job_tmp):
        problems.append(f"container {container.short_id} ({container.status}) was left behind")
        container.remove(force=True, v=True)  # leave none behind, even when the case fails
    leftover = sorted(p.name for p in job_tmp.iterdir()) if job_tmp.exists() else []
    if leftover:
        problems.append(f"the CLI left files in its TMPDIR: {leftover}")
    after = _snapshot(list(before.disk_free))
    for directory, old in before.entries.items():
        for name, uid in after.entries[directory].items():
            if name in old:
                continue
            if uid == SANDBOX_UID or any(m in name.lower() for m in PAYLOAD_MARKERS):
                problems.append(f"new host entry {directory}/{name} (uid {uid})")
            elif directory == "/etc":
                problems.append(f"new entry in /etc: {name}")
    if after.etc_mtime != before.etc_mtime:
        problems.append("/etc was modified")
    if client.ping() is not True:
        problems.append("the Docker engine stopped answering")
    problems += _wait_until(lambda: [f"sandbox process outlived its container: {o}"
                                     for o in _orphans(client)])
    problems += _wait_until(lambda: _resource_problems(before))
    return problems


def _resource_problems(before: _Snapshot) -> list[str]:
    problems = []
    mem_drop = before.mem_available - _mem_available()
    if mem_drop > MEM_TOLERANCE:
        problems.append(f"MemAvailable is {mem_drop / 2**30:.1f} GiB below where it was")
    for path, free in before.disk_free.items():
        drop = free - shutil.disk_usage(path).free
        if drop > DISK_TOLERANCE:
            problems.append(f"free disk at {path} is {drop / 2**30:.1f} GiB below where it was")
    return problems


def _write_summary() -> None:
    path = _SUMMARY.get("path")
    if path is not None:
        path.write_text(json.dumps(_RUNS, indent=2) + "\n")


@pytest.fixture(scope="session")
def _summary_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.getbasetemp() / "adversarial-summary.json"
    _SUMMARY["path"] = path
    return path


@pytest.fixture(scope="session")
def _disk_paths(docker_client) -> list[str]:
    root = docker_client.info().get("DockerRootDir") or "/var/lib/docker"
    return sorted(p for p in {"/", "/tmp", root} if os.path.exists(p))


@pytest.fixture
def hostile(request, eval_model, docker_client, monkeypatch, tmp_path, _summary_path, _disk_paths):
    """``hostile(source, *cli_args, timeout=...)`` -> :class:`HostileRun`, host checked after.

    Adds ``--seeds 1 --epochs 1`` and ``--timeout 60`` unless the case passes its own
    ``--timeout``. ``env`` adds variables to the CLI's environment (through the test
    process's own, as a user's shell would). Fails the case when a host check fails.
    """
    job_tmp = tmp_path / "cli-tmpdir"
    job_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(job_tmp))
    case = request.node.nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")

    def _run(source: str, *args: str, timeout: float = 180, env: dict | None = None):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        cli_args = (*FAST_ARGS, *(() if "--timeout" in args else DEFAULT_TIMEOUT), *args)
        before = _snapshot(_disk_paths)
        start = time.monotonic()
        result = eval_model(source, *cli_args, timeout=timeout)
        wall = time.monotonic() - start
        try:
            report = result.report
        except json.JSONDecodeError:
            report = None
        run = HostileRun(case, result.code, result.stdout, result.stderr, wall, report)
        run.problems = _host_problems(docker_client, before, job_tmp)
        _RUNS.append({"case": case, "status": run.status, "wall_s": round(wall, 1),
                      "exit_code": run.sandbox.get("exit_code"), "cli_exit": run.code,
                      "flags": run.flags, "host_problems": run.problems,
                      "message": run.message[:200]})
        _write_summary()
        assert report is not None, f"the CLI printed no JSON report:\n{run.explain()}"
        assert not run.problems, "host checks failed: " + "; ".join(run.problems)
        return run

    return _run


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _RUNS:
        return
    outcomes = {}
    for outcome in ("passed", "failed", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            name = rep.nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
            if "adversarial" in rep.nodeid and (rep.when == "call" or outcome != "passed"):
                outcomes[name] = outcome
    for run in _RUNS:
        run["outcome"] = outcomes.get(run["case"], "?")
    _write_summary()
    width = max(len(r["case"]) for r in _RUNS)
    tr = terminalreporter
    tr.write_sep("=", "hostile-model corpus")
    tr.write_line(f"{'case':<{width}}  {'status':<18} {'wall s':>7}  test")
    for run in _RUNS:
        tr.write_line(f"{run['case']:<{width}}  {str(run['status']):<18} {run['wall_s']:>7.1f}"
                      f"  {run['outcome']}")
    total = sum(r["wall_s"] for r in _RUNS)
    tr.write_line(f"{len(_RUNS)} cases, {total:.0f} s of CLI wall time")
    tr.write_line(f"summary JSON: {_SUMMARY['path']}")

