"""The Docker backend: one hardened container per trial. The only module family importing docker.

Lifecycle: write the job to a host temp dir (mounted read-only), create the container with
every control of ``_controls``, start it (or take the container ``_spare`` prepared while the
last trial ran, and write its job into its mounted dir), then poll until one of: the runner says /out is
ready (a line on its private stdout, sent however the job ended), the container exits on its
own, or our deadline passes (we copy /out once, bounded, then kill it and record that we did).
Each poll's read of that stdout also yields the runner's newest progress line for ``progress``.
On the runner's cue we copy /out out of the live container (a tmpfs: it vanishes when the
container stops, and Docker's archive API cannot see tmpfs mounts, so ``tar`` from the
read-only image streams it to us through an exec, read with a byte cap), then tell the runner
to exit. What was copied goes with the outcome whatever its status. Interrupted (a
KeyboardInterrupt), we copy /out within a bound and raise :class:`SandboxInterrupted`. The
container is removed in ``finally``; it never auto-removes. Cleanup never raises: a container
that cannot be removed is noted on the outcome (``reap`` finds it later by its trial label),
never put in its place.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from ..errors import SandboxError
from ..protocol import DONE_MARKER, RunnerProgress
from ..records import SandboxLimits, SandboxOutcome, TrialStatus
from . import _controls as c
from . import _files
from ._base import BaseSandbox, ProgressFn, SandboxInterrupted, SandboxRequest
from ._collect import OutputTooLarge, StreamCut, regular_files
from ._container import (
    API_ERRORS,
    container_state,
    exec_stdout,
    explain,
    kill,
    remove,
    remove_surely,
    signal_exit,
    stderr_tail,
    stdout_tail,
    wait_exit,
)
from ._cue import CueWatch
from ._image import ImageInfo, resolve
from ._load import SINCE_LAST_MAX_S, IdleSample
from ._spare import SpareSlot, new_job_dir, write_job
from ._status import Observation, decide

DEADLINE_COLLECT_S = 5.0  # at our deadline, copy /out this long at most before the kill: a stuck runner's seeds survive
INTERRUPT_COLLECT_S = 5.0  # interrupted (Ctrl-C, SIGTERM), copy /out this long at most, then remove the container
TRIAL_LABEL = "org.research-agent.trial"

_log = logging.getLogger(__name__)


@dataclass
class _Polled:
    """What watching a running container gave: its /out (if copied) and what we did to it."""

    files: dict[str, bytes] = field(default_factory=dict)
    too_large: bool = False
    we_killed: bool = False
    signalled: bool = False  # we told it its output is safe (SIGUSR1)


def _no_progress(phase: str, elapsed: float, progress: RunnerProgress | None) -> None:
    pass


def connect(timeout: float = 60.0):
    """A docker client, or a one-line error naming the next step."""
    try:
        client = docker.from_env(version="auto", timeout=timeout)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        detail = str(exc).splitlines()[0][:120]
        raise SandboxError(f"cannot reach the Docker engine ({detail}); {_files.engine_next_step(detail)}") from exc


class DockerSandbox(BaseSandbox):
    def __init__(self, client=None, variant: str = "cpu", prepare_next: bool = False):
        """``prepare_next``: while a trial runs, prepare the next one's container (``_spare``); the
        loop turns it on, a single eval has no next trial."""
        self.client = client or connect()
        self.prepare_next = prepare_next
        self._since_last: IdleSample | None = None
        self._spares = SpareSlot(self._create_labelled, lambda container: container.start(), remove)
        self.image: ImageInfo = resolve(self.client, variant)
        try:
            info = self.client.info()
        except docker.errors.DockerException as exc:
            raise SandboxError(f"cannot query the Docker engine: {exc}") from exc
        self.host_cpus = int(info.get("NCPU") or os.cpu_count() or 1)
        self.runtimes = set(info.get("Runtimes") or {})

    def describe(self) -> dict:
        return {
            "backend": "docker",
            "image": self.image.id,
            "image_tag": self.image.tag,
            "image_labels": self.image.labels,
            "seccomp_sha256": c.seccomp_sha256(),
        }

    def run(self, request: SandboxRequest, progress: ProgressFn | None = None) -> SandboxOutcome:
        progress = progress or _no_progress
        self._check_runtime(request.limits.runtime)
        spare = self._spares.take(request)
        job_dir = spare.job_dir if spare else new_job_dir()
        container, interrupt, started = (spare.container if spare else None), None, time.monotonic()
        try:
            if spare is None:
                write_job(job_dir, request)
                try:
                    container = self._create(request, job_dir)
                except docker.errors.DockerException as exc:
                    return self._infra(f"could not create the container: {explain(exc)}")
            outcome = self._supervise(container, request, progress, job_dir if spare else None)
        except KeyboardInterrupt as exc:
            # Finished seeds are complete on their own (their .done is written last): copy /out
            # while the container still lives. A second interrupt here still reaches finally.
            interrupt = exc
            outcome = self._interrupted(container, time.monotonic() - started)
        finally:
            # Neither step raises: an exception here would replace the scored outcome (or the
            # error that ended the run) and skip the other step.
            not_removed, cut = remove_surely(container) if container is not None else (None, None)
            shutil.rmtree(job_dir, ignore_errors=True)
        outcome, interrupt = _noted(outcome, not_removed), interrupt or cut
        self._since_last = IdleSample(yielding=self.yielding_cpu_s)  # scoring, recording, planning: until the next job
        if interrupt is not None:
            self._spares.discard()
            raise SandboxInterrupted(_as_interrupted(outcome)) from interrupt
        return outcome

    def start_early(self, data_dir: Path, limits: SandboxLimits, trial_id: str) -> None:
        """The trial's own container, created and started now at the engine's default weight (no other
        trial runs beside it); its runner imports torch while the host checks the model and builds
        the job. Same create arguments, controls and mounts as ``run``'s; labelled with ``trial_id``."""
        self._check_runtime(limits.runtime)
        self._spares.prepare_for(data_dir, limits, trial_id)

    def free_cpus(self) -> float | None:
        since, self._since_last = self._since_last, None
        return since.idle(max_s=SINCE_LAST_MAX_S) if since is not None else None

    def yielding_cpu_s(self) -> float:
        return self._spares.cpu_s()

    def close(self) -> None:
        """Remove the prepared container, if any: nothing is left once the loop is done."""
        self._spares.close()

    def reap(self, trial_prefix: str) -> int:
        """Containers of ours whose trial label starts with ``trial_prefix`` (a killed run's)."""
        try:
            found = self.client.containers.list(all=True, filters={"label": TRIAL_LABEL})
        except docker.errors.DockerException as exc:
            raise SandboxError(f"cannot list containers: {exc}") from exc
        stale = [c for c in found if (c.labels or {}).get(TRIAL_LABEL, "").startswith(trial_prefix)]
        problems = [problem for problem in map(remove, stale) if problem]
        if problems:
            raise SandboxError(f"{problems[0]} ({len(problems)} of {len(stale)} not removed); "
                               "remove them with `docker rm -f`, then resume again")
        return len(stale)

    def _check_runtime(self, runtime: str | None) -> None:
        if runtime and runtime not in self.runtimes:
            raise SandboxError(
                f"container runtime {runtime!r} is not registered with the Docker engine "
                f"(it has: {', '.join(sorted(self.runtimes))}); see the README's gVisor section"
            )

    def _create(self, request: SandboxRequest, job_dir: Path):
        return self._create_labelled(request.limits, Path(request.data_dir), job_dir, request.trial_id)

    def _create_labelled(self, limits: SandboxLimits, data_dir: Path, job_dir: Path, label: str,
                         cpu_shares: int | None = None):
        kwargs = c.host_config_kwargs(limits, self.host_cpus)
        if cpu_shares is not None:
            kwargs["cpu_shares"] = cpu_shares
        return self.client.containers.create(
            self.image.id,
            volumes={
                str(job_dir): {"bind": "/job", "mode": "ro"},
                str(Path(data_dir).resolve()): {"bind": "/data", "mode": "ro"},
            },
            labels={TRIAL_LABEL: label},
            **kwargs,
        )

    def _supervise(self, container, request: SandboxRequest, progress: ProgressFn,
                   prepared_job_dir: Path | None = None) -> SandboxOutcome:
        """Start the container, or hand a prepared one its job; the deadline counts from then."""
        start_wall = time.time()
        try:
            if prepared_job_dir is None:
                container.start()
            else:
                write_job(prepared_job_dir, request)
        except docker.errors.DockerException as exc:
            return self._infra(f"could not start the container: {explain(exc)}", container)
        t0 = time.monotonic()
        if self.prepare_next:
            self._spares.prepare(request)
        polled = self._poll(container, t0 + request.limits.timeout_s + c.KILL_GRACE_S, t0, progress)
        if polled is None:
            return self._infra("lost the container while it ran", container)
        # A kill at the deadline that failed (it had just exited, or the API hiccupped) is not
        # ours; if it is still running, wait_exit kills it, and then the kill is ours.
        state, killed_on_exit = wait_exit(container)
        if "ExitCode" not in state or state.get("Status") in ("created", "running"):
            return self._infra("could not learn how the container ended (the engine did not say)", container)
        stderr = stderr_tail(container)
        obs = Observation(
            exit_code=state.get("ExitCode"),
            oom_killed=bool(state.get("OOMKilled")),
            we_killed=polled.we_killed or killed_on_exit,  # our kill, never a retryable "killed" (137)
            exit_ignored=killed_on_exit and polled.signalled,
            done_marker=DONE_MARKER in polled.files,
            output_too_large=polled.too_large,
            stderr_tail=stderr,
            wall_s=time.monotonic() - t0,
            deadline_s=request.limits.timeout_s,
            runner_deadline_s=request.job.deadline_s,
        )
        status, message = decide(obs)
        return SandboxOutcome(
            status=status, message=message, exit_code=obs.exit_code, oom_killed=obs.oom_killed,
            we_killed=obs.we_killed, wall_s=obs.wall_s, start_s=start_wall, stderr_tail=stderr,
            files=polled.files,  # every status: the trial layer keeps the seeds whose .done is there
            image=self.image.id, container_id=container.id,
        )

    def _poll(self, container, kill_at: float, t0: float, progress: ProgressFn) -> _Polled | None:
        """Watch until the runner's cue (copy /out), its exit, or our deadline (copy, then kill).

        None when the container vanished. One read of the stdout tail per look serves both the
        done cue and the progress shown to the user.
        """
        polled, latest, cue = _Polled(), None, CueWatch(self.client.api, container.id)
        while True:
            elapsed = time.monotonic() - t0
            state = container_state(container)
            if state is None:
                return None
            if state.get("Status") not in ("created", "running"):
                return polled
            if time.monotonic() >= kill_at:
                progress("collecting", elapsed, latest)  # a stuck runner's finished seeds survive
                polled.files, polled.too_large = self._collect_within(container, DEADLINE_COLLECT_S)
                polled.we_killed = kill(container)
                return polled
            tail = stdout_tail(container)
            latest = tail.progress or latest
            progress("running", elapsed, latest)
            if tail.done:
                progress("collecting", elapsed, latest)
                polled.files, polled.too_large = self._collect_capped(container)
                signal_exit(container)
                polled.signalled = True
                return polled
            cue.wait(min(poll_interval(elapsed), kill_at - time.monotonic()))  # or until the done line

    def _interrupted(self, container, wall_s: float) -> SandboxOutcome:
        """The outcome of a run the host was interrupted in: what /out held, copied within a bound."""
        files, _ = self._collect_within(container, INTERRUPT_COLLECT_S) if container is not None else ({}, False)
        status, message = decide(Observation(exit_code=None, oom_killed=False, we_killed=False, done_marker=False,
                                             output_too_large=False, stderr_tail="", interrupted=True))
        return SandboxOutcome(status=status, message=message, wall_s=wall_s, files=files, image=self.image.id,
                              container_id=getattr(container, "id", "") or "")

    def _collect_capped(self, container) -> tuple[dict[str, bytes], bool]:
        """``(files, too_large)``: /out, or nothing and True when it went past the cap."""
        try:
            return self._collect(container), False
        except OutputTooLarge:
            return {}, True

    def _collect_within(self, container, limit_s: float) -> tuple[dict[str, bytes], bool]:
        """:meth:`_collect_capped`, waited for at most ``limit_s`` (then nothing): a stuck exec
        never holds up the kill. The thread ends with the container's stream."""
        box: list[tuple[dict[str, bytes], bool]] = []
        worker = threading.Thread(target=lambda: box.append(self._collect_capped(container)),
                                  name="sandbox-collect", daemon=True)
        worker.start()
        worker.join(limit_s)
        return box[0] if box else ({}, False)

    def _collect(self, container) -> dict[str, bytes]:
        """tar /out inside the live container, streamed out through an exec, capped."""
        api = self.client.api
        try:
            exec_id = api.exec_create(container.id, ["tar", "-C", "/out", "-cf", "-", "."],
                                      stdout=True, stderr=False, user=c.SANDBOX_USER)["Id"]
            data = exec_stdout(api, exec_id, c.MAX_OUTPUT_BYTES)
            if api.exec_inspect(exec_id).get("ExitCode") != 0:
                return {}
        except (*API_ERRORS, StreamCut):
            return {}
        files, _rejected = regular_files(data, ".", c.MAX_OUTPUT_BYTES)
        return files

    def _infra(self, message: str, container=None) -> SandboxOutcome:
        return SandboxOutcome(
            status=TrialStatus.INFRA_ERROR,
            message=" ".join(message.split())[:500],
            image=self.image.id,
            container_id=getattr(container, "id", "") or "",
        )


def poll_interval(elapsed_s: float) -> float:
    """Seconds until the next look at a container that has run ``elapsed_s``: polling every 0.1 s
    for a whole trial cost ~2.5 CPU s of dockerd, containerd and this process per eval."""
    return min(c.POLL_MAX_INTERVAL_S, max(c.POLL_INTERVAL_S, elapsed_s * c.POLL_DELAY_FRACTION))


def _noted(outcome: SandboxOutcome, not_removed: str | None) -> SandboxOutcome:
    """The outcome, with a container we could not remove noted on it (never in its place)."""
    if not not_removed:
        return outcome
    _log.warning("%s", not_removed)
    return outcome.model_copy(update={"message": f"{outcome.message}; {not_removed}"})


def _as_interrupted(outcome: SandboxOutcome) -> SandboxOutcome:
    """An outcome that ended while the interrupt was being cleaned up is reported as interrupted."""
    if outcome.status is TrialStatus.INTERRUPTED:
        return outcome
    return outcome.model_copy(update={"status": TrialStatus.INTERRUPTED, "message": TrialStatus.INTERRUPTED.message})
