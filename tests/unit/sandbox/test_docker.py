"""The Docker backend's fault handling, with small stand-ins for docker-py's objects: the faults
(a removal that fails, a kill that fails) are ones the real engine cannot produce on demand."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import time
from pathlib import Path

import docker.errors
import pytest
import requests.exceptions

from agent.protocol import DONE_LINE, PROGRESS_LINE, JobSpec, RunnerProgress
from agent.records import SandboxLimits, TrialStatus
from agent.sandbox import SandboxInterrupted, _container, _docker, _spare
from agent.sandbox import _controls as c
from agent.sandbox._base import SandboxRequest
from agent.sandbox._collect import OutputTooLarge
from agent.sandbox._image import ImageInfo


class FakeContainer:
    """Runs until killed (or exits at once with ``exit_code`` when ``runs`` is False)."""

    id = "c0ffee" * 10 + "abcd"

    def __init__(self, *, exit_code=0, runs=False, kill_error=None, remove_error=None, done=False,
                 stdout=b"", usr1_exit=0):
        self.exit_code, self.running = exit_code, runs
        self.kill_error, self.remove_error, self.done = kill_error, remove_error, done
        self.attrs, self.kills, self.removed = {}, [], False
        self.stdout, self.usr1_exit = stdout, usr1_exit  # its progress lines; its exit code after SIGUSR1

    def start(self):
        pass

    def reload(self):
        status = "running" if self.running else "exited"
        self.attrs = {"State": {"Status": status, "ExitCode": self.exit_code, "OOMKilled": False}}

    def logs(self, stdout=True, stderr=False, tail=None):
        if not stdout:
            return b""
        return self.stdout + (DONE_LINE.encode() + b"\n" if self.done else b"")

    def kill(self, signal="SIGKILL"):
        self.kills.append(signal)
        if self.kill_error is not None:
            self.running = False  # it exited on its own in the meantime: that is why the kill failed
            raise self.kill_error
        if signal == "SIGKILL" or signal == "SIGUSR1":
            self.running, self.exit_code = False, 137 if signal == "SIGKILL" else self.usr1_exit

    def wait(self, timeout=None):
        return {"StatusCode": self.exit_code}

    def remove(self, force=False, v=False):
        if self.remove_error is not None:
            raise self.remove_error
        self.removed = True


class FakeContainers:
    def __init__(self, container):
        self.container = container

    def create(self, image, **kwargs):
        return self.container


class FakeClient:
    def __init__(self, container, api=None):
        self.containers = FakeContainers(container)
        self.api = api


def sandbox(container, api=None) -> _docker.DockerSandbox:
    box = object.__new__(_docker.DockerSandbox)  # no engine: the constructor would ask one
    # Without an API of its own, /out is an empty archive (the deadline copies it before the kill).
    box.client = FakeClient(container, api if api is not None else FakeAPI(frames(out_tar({}))))
    box.image = ImageInfo(id="sha256:" + "ab" * 32, tag="research-agent-sandbox:cpu", labels={})
    box.host_cpus, box.runtimes = 2, set()
    box.prepare_next = False
    box._spares = _spare.SpareSlot(box._create_labelled, lambda container: container.start(), _container.remove)
    return box


def request(tmp_path: Path, timeout_s: float = 60.0) -> SandboxRequest:
    job = JobSpec(seeds=[0], epochs=1, batch_size=8, optimizer="sgd", lr=0.1, n_classes=10,
                  input_shape=[1, 8, 8], deadline_s=max(1.0, timeout_s - 1.0), threads=1)
    return SandboxRequest(job=job, model_source="class Model: ...\n", data_dir=tmp_path,
                          limits=SandboxLimits(timeout_s=timeout_s, cpus=1.0))


@pytest.fixture
def job_dirs(tmp_path, monkeypatch):
    """The job directories ``run`` makes, so a test can check that none is left behind."""
    made: list[Path] = []
    real = _spare.tempfile.mkdtemp

    def mkdtemp(prefix=""):
        made.append(Path(real(prefix=prefix, dir=tmp_path)))
        return str(made[-1])

    monkeypatch.setattr(_spare.tempfile, "mkdtemp", mkdtemp)
    return made


def test_a_failed_removal_keeps_the_outcome_and_still_removes_the_job_dir(tmp_path, job_dirs):
    container = FakeContainer(exit_code=1, remove_error=docker.errors.APIError("device or resource busy"))
    outcome = sandbox(container).run(request(tmp_path))
    assert outcome.status is TrialStatus.CRASHED  # the scored outcome, not an exception
    assert "could not remove container" in outcome.message and "device or resource busy" in outcome.message
    assert job_dirs and not any(d.exists() for d in job_dirs)


def test_a_removed_container_leaves_nothing_and_adds_no_note(tmp_path, job_dirs):
    container = FakeContainer(exit_code=1)
    outcome = sandbox(container).run(request(tmp_path))
    assert outcome.status is TrialStatus.CRASHED and "remove" not in outcome.message
    assert container.removed and not any(d.exists() for d in job_dirs)


def test_a_failed_removal_never_hides_the_error_that_ended_the_run(tmp_path, job_dirs, monkeypatch):
    container = FakeContainer(remove_error=docker.errors.APIError("gone wrong"))
    box = sandbox(container)

    def boom(*args):
        raise RuntimeError("supervision bug")

    monkeypatch.setattr(box, "_supervise", boom)
    with pytest.raises(RuntimeError, match="supervision bug"):
        box.run(request(tmp_path))
    assert not any(d.exists() for d in job_dirs)


def test_a_kill_that_failed_is_not_reported_as_done():
    assert _container.kill(FakeContainer(runs=True, kill_error=docker.errors.APIError("is not running"))) is False
    container = FakeContainer(runs=True)
    assert _container.kill(container) is True and container.kills == ["SIGKILL"]


def test_a_container_that_exited_on_its_own_at_the_deadline_is_not_our_timeout(tmp_path, job_dirs, monkeypatch):
    # The deadline passes while it is running; our kill fails because it just exited (code 1).
    monkeypatch.setattr(c, "KILL_GRACE_S", 0.0)
    container = FakeContainer(exit_code=1, runs=True, kill_error=docker.errors.APIError("is not running"))
    outcome = sandbox(container).run(request(tmp_path, timeout_s=0.01))
    assert container.kills == ["SIGKILL"]
    assert outcome.status is TrialStatus.CRASHED and not outcome.we_killed


def test_our_kill_at_the_deadline_is_a_timeout(tmp_path, job_dirs, monkeypatch):
    monkeypatch.setattr(c, "KILL_GRACE_S", 0.0)
    container = FakeContainer(runs=True)
    outcome = sandbox(container).run(request(tmp_path, timeout_s=0.01))
    assert outcome.status is TrialStatus.TIMEOUT and outcome.we_killed
    assert "deadline" in outcome.message


def test_a_container_we_can_neither_wait_for_nor_kill_is_infra_error_not_our_timeout(tmp_path, job_dirs):
    class Unwaitable(FakeContainer):
        def wait(self, timeout=None):
            raise requests.exceptions.ReadTimeout("no answer")

    container = Unwaitable(runs=True, done=True)
    container.kill = lambda signal="SIGKILL": _fail_kill(container, signal)  # SIGUSR1 ignored, SIGKILL fails
    outcome = sandbox(container, FakeAPI(frames(out_tar({".done": b"done"})))).run(request(tmp_path))
    assert outcome.status is TrialStatus.INFRA_ERROR and not outcome.we_killed
    assert "could not learn how the container ended" in outcome.message


def _fail_kill(container, signal):
    container.kills.append(signal)  # the process keeps running whatever we send
    if signal == "SIGKILL":
        raise docker.errors.APIError("engine busy")


def test_reap_tries_every_container_and_reports_the_failures():
    ok, stuck = FakeContainer(), FakeContainer(remove_error=docker.errors.APIError("busy"))
    for fake in (ok, stuck):
        fake.labels = {_docker.TRIAL_LABEL: "run1/trial"}

    class Listing:
        def list(self, all, filters):
            return [stuck, ok]

    box = sandbox(ok)
    box.client.containers = Listing()
    with pytest.raises(_docker.SandboxError, match="busy"):
        box.reap("run1/")
    assert ok.removed


# -- collecting /out through an exec (docker-py's public API only) ------------------------------


def frames(payload: bytes, size: int = 7) -> bytes:
    """The engine's multiplexed stream: an 8-byte header (stream, 0, 0, 0, big-endian length)."""
    out = b""
    for i in range(0, len(payload), size):
        out += struct.pack(">BxxxL", 1, len(payload[i : i + size])) + payload[i : i + size]
    return out + struct.pack(">BxxxL", 2, 5) + b"noise"  # stderr frames are dropped


def out_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo("./" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class FakeResponse:
    """What ``requests`` hands back for a streamed POST: ``raw.read(n)`` and ``close()``."""

    def __init__(self, body: bytes, status_code: int = 200):
        self.raw, self.status_code, self.closed = io.BytesIO(body), status_code, False
        self.reads = 0
        real_read = self.raw.read

        def read(n=-1):
            self.reads += 1
            return real_read(n)

        self.raw.read = read

    def raise_for_status(self):
        if self.status_code >= 400:
            import requests

            raise requests.exceptions.HTTPError(f"{self.status_code} error")

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PublicOnlyStream:
    """docker-py's CancellableStream as its documentation describes it: iterate, then close()."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._chunks)

    def close(self):
        pass

    def __getattr__(self, name):
        raise AttributeError(f"{name} is docker-py's private state")


class FakeAPI:
    base_url, api_version, timeout = "http+docker://localhost", "1.41", 60

    def __init__(self, body: bytes, exit_code: int = 0):
        self.body, self.exit_code, self.responses, self.execs = body, exit_code, [], []

    def exec_create(self, container, cmd, stdout=True, stderr=True, user=""):
        self.execs.append((cmd, user))
        return {"Id": "e" * 64}

    def exec_start(self, exec_id, stream=False, demux=False, socket=False):
        data = self.body[8:]  # not a faithful demux: enough for code that reaches private state
        return PublicOnlyStream([(data, None)])

    def post(self, url, json=None, stream=False, timeout=None):
        assert url == f"{self.base_url}/v{self.api_version}/exec/{'e' * 64}/start" and stream
        assert json == {"Detach": False, "Tty": False}
        self.responses.append(FakeResponse(self.body))
        return self.responses[-1]

    def exec_inspect(self, exec_id):
        return {"ExitCode": self.exit_code, "Running": False}


def test_collect_reads_the_exec_stream_through_public_api_and_closes_it():
    api = FakeAPI(frames(out_tar({".done": b"done", "seed_0/test_probs.npy": b"xyz"})))
    files = sandbox(FakeContainer(), api)._collect(FakeContainer())
    assert files == {".done": b"done", "seed_0/test_probs.npy": b"xyz"}
    assert api.execs == [(["tar", "-C", "/out", "-cf", "-", "."], c.SANDBOX_USER)]
    assert api.responses and all(r.closed for r in api.responses)


def test_collect_stops_reading_at_the_cap_and_closes_the_stream(monkeypatch):
    monkeypatch.setattr(c, "MAX_OUTPUT_BYTES", 4096)
    api = FakeAPI(frames(out_tar({"big.npy": b"x" * 100_000}), size=1024))
    with pytest.raises(OutputTooLarge):
        sandbox(FakeContainer(), api)._collect(FakeContainer())
    (response,) = api.responses
    assert response.closed and response.raw.tell() < 10_000  # it stopped, it did not drain 100 kB


def test_collect_keeps_nothing_when_tar_failed_or_the_stream_is_cut():
    body = frames(out_tar({".done": b"done"}))
    assert sandbox(FakeContainer(), FakeAPI(body, exit_code=2))._collect(FakeContainer()) == {}
    assert sandbox(FakeContainer(), FakeAPI(body[:-20]))._collect(FakeContainer()) == {}


def test_collect_maps_an_engine_refusal_to_no_files():
    api = FakeAPI(b"")

    def refused(url, json=None, stream=False, timeout=None):
        api.responses.append(FakeResponse(b'{"message":"container not running"}', status_code=409))
        return api.responses[-1]

    api.post = refused
    assert sandbox(FakeContainer(), api)._collect(FakeContainer()) == {}
    assert all(r.closed for r in api.responses)


# -- partial output: files kept for every status, a copy at our deadline, progress, interrupts ----

SEED_0 = {"seed_0/test_probs.npy": b"t", "seed_0/val_probs.npy": b"v", "seed_0/seed.json": b"{}",
          "seed_0/.done": b"done\n"}
PROGRESS = {"seed": 1, "epoch": 2, "epochs": 4, "val_acc": 0.5, "seeds_done": 1, "seeds": 3}


def progress_line(record: dict) -> bytes:
    return f"{PROGRESS_LINE} {json.dumps(record)}\n".encode()


def test_the_files_of_a_failed_job_are_kept_with_its_status(tmp_path, job_dirs):
    # The runner's cue came, but the job had crashed (no whole-job .done): the status is the
    # exit code's, and seed 0's files come with it.
    container = FakeContainer(runs=True, done=True, usr1_exit=1)
    outcome = sandbox(container, FakeAPI(frames(out_tar(SEED_0)))).run(request(tmp_path))
    assert outcome.status is TrialStatus.CRASHED and outcome.files == SEED_0


def test_at_our_deadline_out_is_copied_before_the_kill(tmp_path, job_dirs, monkeypatch):
    monkeypatch.setattr(c, "KILL_GRACE_S", 0.0)
    container = FakeContainer(runs=True)  # never sends the cue: a stuck runner
    api = FakeAPI(frames(out_tar(SEED_0)))
    outcome = sandbox(container, api).run(request(tmp_path, timeout_s=0.01))
    assert outcome.status is TrialStatus.TIMEOUT and outcome.we_killed
    assert outcome.files == SEED_0 and api.execs and container.kills == ["SIGKILL"]


class SlowAPI(FakeAPI):
    """An exec that hangs (a wedged engine): the copy must not hold up the kill or the removal."""

    def __init__(self, body: bytes, hang_s: float):
        super().__init__(body)
        self.hang_s = hang_s

    def post(self, url, json=None, stream=False, timeout=None):
        time.sleep(self.hang_s)
        return super().post(url, json=json, stream=stream, timeout=timeout)


def test_the_copy_at_our_deadline_is_bounded(tmp_path, job_dirs, monkeypatch):
    monkeypatch.setattr(c, "KILL_GRACE_S", 0.0)
    monkeypatch.setattr(_docker, "DEADLINE_COLLECT_S", 0.2)
    started = time.monotonic()
    outcome = sandbox(FakeContainer(runs=True), SlowAPI(frames(out_tar(SEED_0)), 1.0)).run(
        request(tmp_path, timeout_s=0.01))
    assert time.monotonic() - started < 0.9
    assert outcome.status is TrialStatus.TIMEOUT and outcome.files == {}
    time.sleep(1.0)  # let the abandoned copy finish before the test's thread checks


def test_progress_gets_the_newest_valid_line_on_every_look(tmp_path, job_dirs):
    bad = progress_line(PROGRESS | {"val_acc": 7.0})  # out of range: skipped, the older one counts
    container = FakeContainer(runs=True, done=True, stdout=progress_line(PROGRESS) + bad)
    calls = []
    sandbox(container, FakeAPI(frames(out_tar({".done": b"done"})))).run(
        request(tmp_path), lambda *args: calls.append(args))
    assert [phase for phase, _, _ in calls] == ["running", "collecting"]
    assert all(p == RunnerProgress(**PROGRESS) for _, _, p in calls)


def _interrupt_when_running(phase, elapsed, progress):
    if phase == "running":
        raise KeyboardInterrupt


def test_an_interrupt_copies_out_removes_the_container_and_raises_with_the_outcome(tmp_path, job_dirs):
    container = FakeContainer(runs=True)
    with pytest.raises(SandboxInterrupted) as caught:
        sandbox(container, FakeAPI(frames(out_tar(SEED_0)))).run(request(tmp_path), _interrupt_when_running)
    outcome = caught.value.outcome
    assert isinstance(caught.value, KeyboardInterrupt) and type(caught.value.__cause__) is KeyboardInterrupt
    assert outcome.status is TrialStatus.INTERRUPTED and outcome.status.retryable
    assert outcome.files == SEED_0 and outcome.container_id == container.id
    assert container.removed and not any(d.exists() for d in job_dirs)


def test_the_copy_after_an_interrupt_is_bounded(tmp_path, job_dirs, monkeypatch):
    monkeypatch.setattr(_docker, "INTERRUPT_COLLECT_S", 0.2)
    container = FakeContainer(runs=True)
    started = time.monotonic()
    with pytest.raises(SandboxInterrupted) as caught:
        sandbox(container, SlowAPI(frames(out_tar(SEED_0)), 1.0)).run(request(tmp_path), _interrupt_when_running)
    assert time.monotonic() - started < 0.9
    assert caught.value.outcome.files == {} and container.removed
    time.sleep(1.0)


def test_a_second_interrupt_during_the_removal_still_removes_the_container(tmp_path, job_dirs):
    class Impatient(FakeContainer):
        tries = 0

        def remove(self, force=False, v=False):
            self.tries += 1
            if self.tries == 1:
                raise KeyboardInterrupt  # the user pressed Ctrl-C again
            super().remove(force, v)

    container = Impatient(runs=True)
    with pytest.raises(SandboxInterrupted):
        sandbox(container, FakeAPI(frames(out_tar(SEED_0)))).run(request(tmp_path), _interrupt_when_running)
    assert container.removed and container.tries == 2


def test_an_interrupt_during_the_removal_of_a_finished_run_is_still_an_interrupt(tmp_path, job_dirs):
    class Interrupted(FakeContainer):
        def remove(self, force=False, v=False):
            if not self.removed:
                self.removed = "once"
                raise KeyboardInterrupt
            super().remove(force, v)

    container = Interrupted(exit_code=1)
    with pytest.raises(SandboxInterrupted) as caught:
        sandbox(container).run(request(tmp_path))
    assert caught.value.outcome.status is TrialStatus.INTERRUPTED and container.removed is True
