"""The job itself: check job.json, start the deadline watchdog, train, map failures to exit codes.

In the container this runs in the supervisor's child (``python -m runner --child``); the bench
runs it inline on the host (``--no-linger``). Either way its stdout is the protocol pipe: the
supervisor's, or the real stdout. The model's own prints go to stderr.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback

from . import protocol as p
from .model_loader import ModelRejected, model_imported

WATCH_INTERVAL_S = 0.25  # how often the watchdog checks that the main thread is still alive
# The job's processes, never the supervisor, are what the memory limit kills: with the job's
# score raised (its forks inherit it), a small supervisor outlives an OOM kill and keeps /out.
OOM_SCORE_ADJ = 500


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


def _start_watchdog(deadline_s: float, started: float) -> None:
    """The runner's own deadline, from ``started`` (the job's arrival): exit 124 even if the
    model never returns (host kills later).

    It also ends the process as soon as the main thread has died alone: with SIGSYS's exit
    code when seccomp killed it (the host reports policy_violation), else as a crash.
    """

    def fire() -> None:
        while (left := deadline_s - (time.time() - started)) > 0:
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


def private_stdout():
    """Keep the real stdout for protocol lines; everything else printing goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return proto


def raise_oom_score() -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write(f"{OOM_SCORE_ADJ}\n")
    except OSError:
        pass  # not Linux, or /proc refuses: the supervisor is small anyway


def preload() -> None:
    """What every job imports, before it has one: torch, numpy and the runner's training code. In a
    prepared container this happens while the host still plans the trial. (``torch._dynamo``, which
    torch's optimizers import on their first step, is never needed: see ``optim``.)"""
    import numpy  # noqa: F401
    import torch  # noqa: F401

    from . import session, train  # noqa: F401


def _run(job_dir: str, data_dir: str, out_dir: str, proto) -> int:
    preload()
    started = p.wait_for_job(job_dir)
    if started is None:
        raise p.JobError(f"no {p.JOB_FILE} arrived in {p.JOB_WAIT_S:.0f}s")
    with open(os.path.join(job_dir, p.JOB_FILE)) as fh:
        job = p.JobSpec.from_json(fh.read())
    _start_watchdog(job.deadline_s, started)
    from .session import run as run_session

    return run_session(job_dir, data_dir, out_dir, started, proto)


def run(job_dir: str, data_dir: str, out_dir: str, proto) -> int:
    """Do the job; its exit code (what the model did is data, never an exception here)."""
    try:
        return _run(job_dir, data_dir, out_dir, proto)
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
