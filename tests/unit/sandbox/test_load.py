"""Fewer training threads on a busy machine: the idle-CPU sample and the thread rule."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from agent.sandbox._load import IDLE_SLACK, IdleSample, idle_cpus, training_threads


def test_threads_follow_the_idle_cpus_within_the_limit():
    assert training_threads(2, 2.0) == 2
    assert training_threads(2, 1.0) == 1  # one core busy elsewhere: one thread, not two fighting for it
    assert training_threads(2, 2 - IDLE_SLACK) == 2  # a core 70% free still counts
    assert training_threads(2, 0.1) == 1  # never zero
    assert training_threads(4, 8.0) == 4  # never above the limit
    assert training_threads(2, None) == 2  # not measurable: the limit, as before


def test_a_spinning_process_shows_as_a_busy_cpu():
    cpus = os.cpu_count() or 1
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = idle_cpus(sample_s=0.5)
    finally:
        spin.kill()
        spin.wait()
    assert busy is not None and 0.0 <= busy <= cpus - 0.5, busy


def test_an_idle_sample_counts_this_processs_own_work_as_idle_and_another_process_as_busy():
    """An eval samples while it imports (its own CPU: free once the trial trains), not while it sleeps."""
    cpus = os.cpu_count() or 1
    sample = IdleSample()
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # this process's own work during the window
        pass
    own = sample.idle()
    assert own is not None and own >= cpus - 0.5, own
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        sample = IdleSample()
        time.sleep(0.5)
        other = sample.idle()
    finally:
        spin.kill()
        spin.wait()
    assert other is not None and other <= cpus - 0.5, other
