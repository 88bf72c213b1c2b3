"""Entry point: ``python -m runner [--job-dir D] [--data-dir D] [--out-dir D]``.

Inside the container the defaults are the mounted paths. The bench runs the same code on
the host with other directories (no sandbox) to measure the sandbox's overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback

from . import protocol as p
from .model_loader import ModelRejected, model_imported

STARTED = time.time()


WATCH_INTERVAL_S = 0.25  # how often the watchdog checks that the main thread is still alive


def _main_thread_exit_status() -> int | None:
    """The main thread's wait status if it died while the process lives on, else None.

    seccomp kills only the calling *thread* for a syscall of an ABI the profile does not
    list (i386 ``int 0x80``, x32): libseccomp's bad-arch action is KILL_THREAD. The
    process then lives on without its main thread until the deadline; the leader stays a
    zombie task whose stat field 52 holds its exit status.
    """
    try:
        with open(f"/proc/self/task/{os.getpid()}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[-1]) if fields and fields[0] in ("Z", "X") else None


def _start_watchdog(deadline_s: float) -> None:
    """The runner's own deadline: exit 124 even if the model never returns (host kills later).

    It also ends the process as soon as the main thread has died alone: with SIGSYS's exit
    code when seccomp killed it (the host reports policy_violation), else as a crash.
    """

    def fire() -> None:
        while (left := deadline_s - (time.time() - STARTED)) > 0:
            time.sleep(min(left, WATCH_INTERVAL_S))
            status = _main_thread_exit_status()
            if status is not None:
                sig = status & 0x7F
                sys.stderr.write(f"runner: the main thread died alone (signal {sig}), stopping\n")
                sys.stderr.flush()
                os._exit(128 + sig if sig == signal.SIGSYS else p.EXIT_CRASHED)
        sys.stderr.write(f"runner: deadline of {deadline_s:.0f}s reached, stopping\n")
        sys.stderr.flush()
        os._exit(p.EXIT_DEADLINE)

    threading.Thread(target=fire, name="runner-deadline", daemon=True).start()


def run(job_dir: str, data_dir: str, out_dir: str) -> int:
    with open(os.path.join(job_dir, "job.json")) as fh:
        job = p.JobSpec.from_json(fh.read())
    _start_watchdog(job.deadline_s)
    from .session import run as run_session

    return run_session(job_dir, data_dir, out_dir, STARTED)


def _private_stdout():
    """Keep the real stdout for protocol lines; everything else printing goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return proto


DONE_REPEAT_S = 0.5  # the done line is repeated this often until the host answers


def _repeat_done(proto) -> None:
    while True:
        proto.write(p.DONE_LINE + "\n")
        proto.flush()
        time.sleep(DONE_REPEAT_S)


def _linger(out_dir: str, linger_s: float, proto) -> None:
    """Mark the output complete, then stay alive until the host has copied /out (a tmpfs).

    The cue is repeated: the host finds it in the last lines of Docker's log, which stdout
    shares with stderr, and a stderr backlog still being copied (a chatty model) can bury
    a single line under later ones or rotate it out of the capped log altogether. A thread
    started after SIGUSR1 is blocked (it inherits the mask) repeats it, so the main thread
    never leaves ``sigtimedwait`` and the signal can never find it unprepared.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    with open(os.path.join(out_dir, p.DONE_MARKER), "w") as fh:
        fh.write("done\n")
    try:
        threading.Thread(target=_repeat_done, args=(proto,), name="runner-done", daemon=True).start()
    except RuntimeError:  # no thread left under the pids limit: one line, and hope
        proto.write(p.DONE_LINE + "\n")
        proto.flush()
    signal.sigtimedwait({signal.SIGUSR1}, linger_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="runner")
    parser.add_argument("--job-dir", default=p.JOB_DIR)
    parser.add_argument("--data-dir", default=p.DATA_DIR)
    parser.add_argument("--out-dir", default=p.OUT_DIR)
    parser.add_argument("--no-linger", action="store_true", help="exit without waiting for the host")
    args = parser.parse_args(argv)
    proto = _private_stdout()
    try:
        code = run(args.job_dir, args.data_dir, args.out_dir)
    except p.JobError as exc:
        print(f"runner: bad job: {exc}", file=sys.stderr)
        return p.EXIT_RUNNER_ERROR
    except ModelRejected as exc:
        print(f"model rejected: {exc}", file=sys.stderr)
        return p.EXIT_REJECTED
    except BaseException:  # the model's own errors, SystemExit included, are data
        traceback.print_exc()
        if not model_imported():  # nothing of the model has run yet: the failure is ours
            print("runner: failed before importing the model file", file=sys.stderr)
            sys.stderr.flush()
            return p.EXIT_RUNNER_ERROR
        sys.stderr.flush()
        return p.EXIT_CRASHED
    if not args.no_linger:
        with open(os.path.join(args.job_dir, "job.json")) as fh:
            linger_s = json.load(fh).get("linger_s", 60.0)
        _linger(args.out_dir, linger_s, proto)
    return code


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # never wait for threads the model may have left running
