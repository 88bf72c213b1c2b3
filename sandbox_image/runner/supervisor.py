"""The container's runner process: the job runs in a child; this one keeps /out until the host has it.

/out is a tmpfs that dies with the container, and the container ends when this process does. So
whatever ends the job (its own exit, its deadline, a signal: the OOM killer, seccomp's SIGSYS),
this process stays: it writes the whole-job done marker only after a clean exit, repeats the done
line until the host answers with SIGUSR1 (or ``linger_s`` passes), and then exits with the
child's status as docker-init would have reported it (exit n -> n, killed by signal s -> 128 + s),
so the host's status rules decide exactly what they decided when the job was the only process.

It never imports torch, numpy or the model file: it must stay too small to be what the memory
limit kills (the job also raises its own OOM score). It passes on only progress lines from the
child's stdout; the child holds no descriptor of the real stdout, and cannot open ours through
/proc (this process makes itself non-dumpable), so the model cannot send the done line.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback

from . import protocol as p

# The child's watchdog exits 124 at deadline_s; one still alive this much later (its watchdog
# thread never ran) is killed here. The host kills at deadline_s + 1 s margin + its 10 s grace,
# which leaves it ~9 s to copy /out first.
DEADLINE_GRACE_S = 2.0
POLL_S = 0.25  # how often the child's exit is checked while it writes nothing
READ_CHUNK = 64 * 1024
DRAIN_LIMIT = 1024**2  # read after the child ended, at most: an escaped grandchild may keep writing
DRAIN_WAIT_S = 1.0  # how long the reader thread gets to pass on the child's last lines
DONE_REPEAT_S = 0.5  # the done line is repeated this often until the host answers
DEFAULT_LINGER_S = 60.0  # JobSpec's default, when job.json cannot tell (the child reports why)
PR_SET_DUMPABLE = 4  # prctl(2)
_PREFIX = p.PROGRESS_LINE.encode() + b" "


class Relay:
    """Passes the child's progress lines on to the real stdout and drops everything else, bounded."""

    def __init__(self, fd: int, out) -> None:
        self.fd, self.out, self.buf, self.skipping, self.open = fd, out, b"", False, True
        self.reader: threading.Thread | None = None
        self.ended, self.read_after = False, 0

    def start(self) -> None:
        """Read the pipe in a thread of its own: gVisor refuses select() on it (EPERM)."""
        try:
            self.reader = threading.Thread(target=self._read, name="runner-relay", daemon=True)
            self.reader.start()
        except RuntimeError:  # no thread to be had: pump() selects instead
            self.reader = None

    def _read(self) -> None:
        while self.open and self.read_after < DRAIN_LIMIT:
            try:
                chunk = os.read(self.fd, READ_CHUNK)
            except OSError:
                chunk = b""
            if self.ended:  # an escaped grandchild may keep writing: bounded
                self.read_after += len(chunk)
            self.feed(chunk)

    def pump(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the child's output and pass on its complete lines."""
        if not self.open or self.reader is not None:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            self.feed(os.read(self.fd, READ_CHUNK))

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            self.open = False
            return
        *lines, self.buf = (self.buf + chunk).split(b"\n")
        for line in lines:
            if self.skipping:  # the rest of a line that grew past the cap
                self.skipping = False
            elif line.startswith(_PREFIX) and len(line) <= p.MAX_PROGRESS_LINE:
                _write(self.out, line + b"\n")
        if len(self.buf) > p.MAX_PROGRESS_LINE:
            self.buf, self.skipping = b"", True

    def drain(self) -> None:
        """What the child wrote before it ended; then the pipe is closed."""
        if self.reader is not None:
            self.ended = True
            self.reader.join(DRAIN_WAIT_S)
            if not self.reader.is_alive():
                os.close(self.fd)
            return
        os.set_blocking(self.fd, False)
        read = 0
        while self.open and read < DRAIN_LIMIT:
            try:
                chunk = os.read(self.fd, READ_CHUNK)
            except BlockingIOError:
                break
            read += len(chunk)
            self.feed(chunk)
        os.close(self.fd)


def _write(out, data: bytes) -> None:
    try:
        out.write(data)
    except OSError:
        pass  # nobody reads the log any more: the host is gone, its kill follows


def _undumpable() -> None:
    """PR_SET_DUMPABLE 0: /proc/<our pid>/fd and /mem become root's, out of the same-uid job's reach."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux (the bench's hosts): nothing to protect there


def _settings(job_dir: str) -> tuple[float, float | None]:
    """``linger_s`` and ``deadline_s`` from job.json; fallbacks if it is bad (the child says why)."""
    try:
        with open(os.path.join(job_dir, p.JOB_FILE)) as fh:
            raw = json.load(fh)
    except (OSError, ValueError):
        raw = {}
    raw = raw if isinstance(raw, dict) else {}
    return _positive(raw.get("linger_s")) or DEFAULT_LINGER_S, _positive(raw.get("deadline_s"))


def _positive(value) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    return float(value) if ok else None


def _start(dirs: tuple[str, str, str]) -> tuple[subprocess.Popen, int]:
    """The job as a child in a process group of its own, its stdout a pipe to us."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))))
    args = ["--job-dir", dirs[0], "--data-dir", dirs[1], "--out-dir", dirs[2]]
    read_fd, write_fd = os.pipe()
    try:
        # -P: the runner comes from PYTHONPATH, never from the working directory (/tmp is writable).
        child = subprocess.Popen([sys.executable, "-P", "-m", "runner", "--child", *args], stdout=write_fd,
                                 env=env, process_group=0)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return child, read_fd


def _exited(pid: int) -> bool:
    """True once the child has ended; it stays a zombie (not reaped), so its group id stays ours."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # nothing of the job is left


def wait_child(child: subprocess.Popen, relay: Relay, kill_at: float | None) -> int:
    """Relay until the child ends (or kill it at ``kill_at``); its status as docker-init shows it."""
    while not _exited(child.pid):
        left = math.inf if kill_at is None else kill_at - time.time()
        if left <= 0:
            print(f"runner: the job outlived its deadline by {DEADLINE_GRACE_S:.0f}s; killed it",
                  file=sys.stderr, flush=True)
            _kill_group(child.pid)
            child.wait()
            relay.drain()
            return p.EXIT_DEADLINE
        relay.pump(min(POLL_S, left))
    _kill_group(child.pid)  # what the job left running (the model's own processes) ends with it
    code = child.wait()
    relay.drain()
    return 128 - code if code < 0 else code


def _repeat_done(out) -> None:
    while True:
        _write(out, p.DONE_LINE.encode() + b"\n")
        time.sleep(DONE_REPEAT_S)


def linger(out, linger_s: float) -> None:
    """Stay alive until the host has copied /out: repeat the done line, wait for SIGUSR1.

    The cue is repeated: the host finds it in the last lines of Docker's log, which stdout
    shares with stderr, and a stderr backlog still being copied (a chatty model) can bury a
    single line or rotate it out of the capped log. SIGUSR1 was blocked before anything else
    (the thread below inherits the mask), so the signal can never find us unprepared.
    """
    try:
        threading.Thread(target=_repeat_done, args=(out,), name="runner-done", daemon=True).start()
    except RuntimeError:  # no thread left under the pids limit: one line, and hope
        _write(out, p.DONE_LINE.encode() + b"\n")
    signal.sigtimedwait({signal.SIGUSR1}, linger_s)


def _mark_done(out_dir: str) -> None:
    try:
        with open(os.path.join(out_dir, p.DONE_MARKER), "w") as fh:
            fh.write("done\n")
    except OSError as exc:  # /out full: the host sees exit 0 without the marker (invalid_output)
        print(f"runner: cannot write the done marker: {exc}", file=sys.stderr, flush=True)


def supervise(job_dir: str, data_dir: str, out_dir: str) -> int:
    """Run the job in a child, keep /out until the host has copied it; the child's exit status.

    The child starts at once and imports torch while job.json may not be there yet (a prepared
    container); the deadline counts from the job's arrival, which both processes wait for.
    """
    _undumpable()
    out = os.fdopen(os.dup(1), "wb", buffering=0)  # the real stdout: progress and done lines only
    os.dup2(2, 1)
    child = None
    try:
        child, fd = _start((job_dir, data_dir, out_dir))
        received = p.wait_for_job(job_dir)
        if received is None:  # nobody will collect anything: no linger
            print(f"runner: no job arrived in {p.JOB_WAIT_S:.0f}s; exiting", file=sys.stderr, flush=True)
            _kill_group(child.pid)
            return p.EXIT_RUNNER_ERROR
        linger_s, deadline_s = _settings(job_dir)
        kill_at = None if deadline_s is None else received + deadline_s + DEADLINE_GRACE_S
        relay = Relay(fd, out)
        relay.start()
        code = wait_child(child, relay, kill_at)
    except Exception:  # noqa: BLE001 - our own failure, never the model's: the host's infra_error
        traceback.print_exc()
        if child is not None:
            _kill_group(child.pid)
        code, linger_s = p.EXIT_RUNNER_ERROR, DEFAULT_LINGER_S
    if code == p.EXIT_OK:
        _mark_done(out_dir)
    linger(out, linger_s)
    return code
