"""What the benchmarks share: stderr logging, the load average, and waiting for a quiet machine.

Benchmarks are run as scripts (``python bench/NAME.py``), so this folder is on ``sys.path`` and
they import it as ``_common``.
"""

from __future__ import annotations

import os
import sys
import time


class BenchFailure(Exception):
    """A run the figures cannot use (a crashed runner, a sandbox status other than ``ok``)."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_busy(interval_s: float = 0.5) -> float:
    """Fraction of all CPUs busy over ``interval_s`` (from /proc/stat), 0.0 .. 1.0."""

    def snap() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    t0, i0 = snap()
    time.sleep(interval_s)
    t1, i1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(threshold: float, max_wait_s: float) -> float:
    """Wait (up to ``max_wait_s``) until other work leaves the CPUs mostly idle; return the last
    busy fraction seen.

    Training on every core slows down a lot as soon as anything else runs (an OpenMP thread or a
    seed worker waits on a descheduled peer), on the host and in the sandbox alike, so each run
    starts on a quiet machine when it can.
    """
    deadline = time.monotonic() + max_wait_s
    busy = machine_busy()
    while busy >= threshold and time.monotonic() < deadline:
        busy = machine_busy()
    return busy
