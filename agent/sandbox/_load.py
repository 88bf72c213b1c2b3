"""How many of the host's CPUs are free right now, so a busy machine trains with fewer threads.

Measured on 2 cores with one kept busy by another process: a small CNN's training step took
640 ms with two torch threads and 66 ms with one. OpenMP's barriers wait for the thread that
shares its core with the other process, a scheduler slice at a time; a thread fewer is the cure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["IdleSample", "idle_cpus", "training_threads"]

SAMPLE_S = 0.1  # two reads of /proc/stat this far apart: 20 clock ticks on 2 cores, enough to tell 1 idle from 2
SINCE_LAST_MAX_S = 2.0  # an IdleSample older than this says little of now (a long data preparation): sample afresh
IDLE_SLACK = 0.3  # a core at least 70% idle is worth a thread; one busier stalls every barrier


def _cpu_times() -> tuple[int, int] | None:
    """(idle ticks, all ticks) of all CPUs together since boot; None where /proc/stat is not Linux's."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 6:
        return None
    ticks = [int(x) for x in fields[1:9]]
    return ticks[3] + ticks[4], sum(ticks)  # idle + iowait


def idle_cpus(sample_s: float = SAMPLE_S, cpus: int | None = None,
              yielding: Callable[[], float] | None = None) -> float | None:
    """CPUs idle during a short sample (0.0 to ``cpus``); None when it cannot be measured.

    ``yielding()``: CPU seconds used so far by processes that yield to a trial (a prepared
    container at the lowest weight); what they used during the sample counts as idle.
    """
    return IdleSample(cpus, yielding, own_idle=False).idle(sample_s)


class IdleSample:
    """Idle CPUs over a window in which this process does work of its own (imports, scoring,
    recording, planning) rather than sleeping: its own CPU time counts as idle, since it waits
    while the trial trains, as does what ``yielding()`` reports (a prepared container at the lowest
    weight). An eval takes it before it starts its container, whose start (the engine's work as
    much as the container's) would otherwise read as a busy machine; the loop, from the moment
    one trial's container is gone to the next one's job."""

    def __init__(self, cpus: int | None = None, yielding: Callable[[], float] | None = None,
                 own_idle: bool = True) -> None:
        """``own_idle=False``: this process's CPU counts as busy, as any other's (``idle_cpus``)."""
        import os

        self._n, self._yielding, self._own_idle = cpus or os.cpu_count() or 1, yielding, own_idle
        self._first, self._own, self._t = _cpu_times(), time.process_time(), time.monotonic()
        self._given = yielding() if yielding else 0.0

    def idle(self, min_s: float = SAMPLE_S, max_s: float | None = None) -> float | None:
        """CPUs idle since the sample began, waiting out what is left of ``min_s`` first; None when
        it cannot be measured, or when it began more than ``max_s`` ago (an average that old says
        little of now)."""
        elapsed = time.monotonic() - self._t
        if max_s is not None and elapsed > max_s:
            return None
        time.sleep(max(0.0, min_s - elapsed))
        second = _cpu_times()
        own = time.process_time() - self._own if self._own_idle else 0.0
        given = (self._yielding() - self._given) if self._yielding else 0.0
        first = self._first
        if first is None or second is None or second[1] <= first[1]:
            return None
        share = (second[0] - first[0]) / (second[1] - first[1])
        return min(self._n, share * self._n + max(0.0, own + given) / max(time.monotonic() - self._t, 1e-3))


def training_threads(limit: int, idle: float | None) -> int:
    """Torch threads for a trial allowed ``limit``: no more than the CPUs free now, at least one."""
    if idle is None:
        return limit
    return max(1, min(limit, math.floor(idle + IDLE_SLACK)))
