"""A prepared container: a trial's, created and started before its job is known.

The runner in it imports torch and its training code and then waits for /job/job.json, which the
host writes, by rename, only once it knows the trial. So container start, interpreter start and
imports (about 1.5 s on 2 cores) overlap other work instead of preceding the trial: in ``run`` the
next trial's container is prepared while the current one trains (``prepare``: the data the next
trial will most likely read, ``SandboxRequest.next_data_dir``, else the current trial's; labelled
with the current trial's id plus ``/next``, at the lowest CPU weight); in ``eval`` the one trial's
container starts once its model passed preflight (``prepare_for``: its own label, the default
weight). Isolation is exactly a fresh container's: the same create arguments and controls, mounts
fixed at creation (its own empty job dir, one data dir), one job per container, never reused. A
spare that does not fit the trial (other data, other limits) or has died is removed unused. A
host killed meanwhile leaves a ``run``'s spare to ``reap``, by run prefix; the runner exits on its
own after ``JOB_WAIT_S`` without a job.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..protocol import JOB_FILE
from ..records import SandboxLimits
from ._base import SandboxRequest

SPARE_SUFFIX = "/next"  # appended to the trial label: `reap` of the run finds it
# A spare's imports run while another trial trains on the same cores: at the lowest CPU weight they
# take only what that trial leaves idle, and it gets the engine's default back when it gets its job.
SPARE_CPU_SHARES = 2
DEFAULT_CPU_SHARES = 1024
TAKE_WAIT_S = 30.0  # how long a trial waits for its spare's creation to finish before going without it

_log = logging.getLogger(__name__)


@dataclass
class Spare:
    container: object
    job_dir: Path
    data_dir: Path
    limits: SandboxLimits
    cpu_shares: int | None = None  # as created: lowered for a spare beside a running trial, else None

    def fits(self, request: SandboxRequest) -> bool:
        """Created for the same data and limits (the timeout is the host's and the job's, not the container's)."""
        same_limits = self.limits.model_copy(update={"timeout_s": request.limits.timeout_s}) == request.limits
        return same_limits and self.data_dir == Path(request.data_dir).resolve()


def new_job_dir() -> Path:
    job_dir = Path(tempfile.mkdtemp(prefix="research-agent-job-"))
    os.chmod(job_dir, 0o755)  # readable by the sandbox user (10001), writable by nobody inside (mounted read-only)
    return job_dir


def write_job(job_dir: Path, request: SandboxRequest) -> None:
    """The model file, then job.json by rename: a runner waiting for job.json never reads half a job."""
    model = job_dir / request.job.model_file
    model.write_text(request.model_source)
    os.chmod(model, 0o644)
    partial = job_dir / f".{JOB_FILE}.partial"
    partial.write_text(request.job.model_dump_json())
    os.chmod(partial, 0o644)
    os.replace(partial, job_dir / JOB_FILE)


class SpareSlot:
    """At most one spare, prepared in a thread of its own; taken by the next ``run`` or discarded."""

    def __init__(self, create, start, remove) -> None:
        """``create(limits, data_dir, job_dir, label, cpu_shares)``, ``start(container)``, and
        ``remove(container)``, which returns a problem line or None."""
        self._create, self._start, self._remove = create, start, remove
        self._spare: Spare | None = None
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._cpu_id: str | None = None  # the container whose CPU time cpu_s() reads, from its creation

    def prepare(self, request: SandboxRequest) -> None:
        """Start preparing a spare like ``request``'s container (in the background), for the next trial,
        with the data that trial will most likely read (``request.next_data_dir``, else this one's)."""
        data_dir = Path(request.next_data_dir or request.data_dir)
        self.prepare_for(data_dir, request.limits, request.trial_id + SPARE_SUFFIX, SPARE_CPU_SHARES)

    def prepare_for(self, data_dir: Path, limits: SandboxLimits, label: str, cpu_shares: int | None = None) -> None:
        """Start preparing a container for ``data_dir`` and ``limits``, labelled ``label``, at
        ``cpu_shares`` (None: the engine's default weight), in the background."""
        self.discard()
        if self._closed:
            return
        worker = threading.Thread(target=self._make, args=(Path(data_dir).resolve(), limits, label, cpu_shares),
                                  name="sandbox-spare", daemon=True)
        self._worker = worker
        worker.start()

    def take(self, request: SandboxRequest) -> Spare | None:
        """The spare, if it fits ``request`` and still runs; any other is removed."""
        self._join(TAKE_WAIT_S)
        with self._lock:
            spare, self._spare, self._cpu_id = self._spare, None, None
        if spare is None:
            return None
        try:
            # A spare lowered beside a running trial gets the default weight back; one started early has it.
            usable = spare.fits(request) and _running(spare.container) and (
                spare.cpu_shares is None or _full_weight(spare.container))
        except BaseException:  # a Ctrl-C here: the spare is no longer in the slot, so remove it now
            self._drop(spare)
            raise
        if usable:
            return spare
        self._drop(spare)
        return None

    def discard(self) -> None:
        """Remove the spare (if any), waiting for one still being created."""
        self._join(TAKE_WAIT_S)
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            self._drop(spare)

    def cpu_s(self) -> float:
        """CPU seconds the spare has used so far (0.0 when there is none, or its cgroup is out of
        sight): a trial's idle-CPU sample counts them as idle, since at its weight the spare yields."""
        return _cgroup_cpu_s(self._cpu_id) if self._cpu_id else 0.0

    def close(self) -> None:
        """Discard the spare; one still being created is removed as soon as it exists."""
        self._closed = True
        self.discard()

    def _join(self, wait_s: float) -> None:
        """Wait for the spare being created; forgotten only once it is done, so a Ctrl-C that cuts
        one wait short leaves the next (``close``'s) to wait for it again."""
        worker = self._worker
        if worker is not None:
            worker.join(wait_s)
            if not worker.is_alive() and self._worker is worker:
                self._worker = None

    def _make(self, data_dir: Path, limits: SandboxLimits, label: str, cpu_shares: int | None) -> None:
        job_dir, container = new_job_dir(), None
        try:
            container = self._create(limits, data_dir, job_dir, label, cpu_shares)
            self._cpu_id = container.id
            self._start(container)
        except Exception as exc:  # noqa: BLE001 - a spare is an optimisation: the trial creates its own
            _log.info("no prepared container: %s", exc)
            if container is not None:
                self._remove(container)
            shutil.rmtree(job_dir, ignore_errors=True)
            return
        spare = Spare(container, job_dir, data_dir, limits, cpu_shares)
        with self._lock:
            closed = self._closed
            if not closed:
                self._spare = spare
        if closed:  # the sandbox closed while it was being created
            self._drop(spare)

    def _drop(self, spare: Spare) -> None:
        problem = self._remove(spare.container)
        if problem:
            _log.warning("%s", problem)  # `reap` finds it by its label
        shutil.rmtree(spare.job_dir, ignore_errors=True)


# Where the engine keeps a container's CPU time: cgroup v2 (systemd or cgroupfs driver), then v1.
_CGROUP_CPU = (("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", "usage_usec", 1e-6),
               ("/sys/fs/cgroup/docker/{id}/cpu.stat", "usage_usec", 1e-6),
               ("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage", None, 1e-9))


def _cgroup_cpu_s(container_id: str) -> float:
    for pattern, key, unit in _CGROUP_CPU:
        try:
            text = Path(pattern.format(id=container_id)).read_text()
        except OSError:
            continue
        if key is None:
            return int(text.strip() or 0) * unit
        values = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(values.get(key, 0)) * unit
    return 0.0


def _full_weight(container) -> bool:
    try:
        container.update(cpu_shares=DEFAULT_CPU_SHARES)
    except Exception:  # noqa: BLE001 - a spare that cannot be restored is not used
        return False
    return True


def _running(container) -> bool:
    try:
        container.reload()
    except Exception:  # noqa: BLE001 - gone or unreachable: not usable
        return False
    return (container.attrs.get("State") or {}).get("Status") == "running"
