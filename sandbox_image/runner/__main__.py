"""Entry point: ``python -m runner [--job-dir D] [--data-dir D] [--out-dir D] [--child | --no-linger]``.

Inside the container the defaults are the mounted paths, and the plain command is the supervisor
(``supervisor.py``): a small process that runs the job as its child (``--child``) and keeps /out
until the host has copied it. ``--no-linger`` does the job inline and exits at once: the bench runs
the same code that way on the host (no sandbox) to measure the sandbox's overhead.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from . import protocol as p


def main(argv: list[str] | None = None) -> int:
    # Before anything else: the host answers the done line with SIGUSR1, whose default action
    # would kill us; blocked, it waits for sigtimedwait. The child inherits the mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    parser = argparse.ArgumentParser(prog="runner")
    parser.add_argument("--job-dir", default=p.JOB_DIR)
    parser.add_argument("--data-dir", default=p.DATA_DIR)
    parser.add_argument("--out-dir", default=p.OUT_DIR)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--child", action="store_true", help="do the job; the supervisor started us")
    mode.add_argument("--no-linger", action="store_true", help="do the job inline, exit without waiting for the host")
    args = parser.parse_args(argv)
    dirs = (args.job_dir, args.data_dir, args.out_dir)
    if args.child or args.no_linger:
        from . import job

        proto = job.private_stdout()
        if args.child:
            job.raise_oom_score()
        return job.run(*dirs, proto)
    from .supervisor import supervise

    return supervise(*dirs)


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # never wait for threads the model may have left running
