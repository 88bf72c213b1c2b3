"""Fewer training threads on a busy machine: the idle-CPU sample and the thread rule."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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


def test_an_idle_sample_counts_this_processs_own_work_as_idle():
    """An eval samples while it imports (its own CPU: free once the trial trains), not while it
    sleeps: over the same window, with a thread of this process spinning, it reads about one CPU
    more idle than the plain sample, whatever else loads the machine."""
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        sample, cpu0 = IdleSample(), time.process_time()
        plain = idle_cpus(sample_s=0.6)
        own = sample.idle()
        spent = time.process_time() - cpu0
    finally:
        stop.set()
        spinner.join()
    assert plain is not None and own is not None
    assert spent > 0.3  # the spinner did run (else there is nothing to tell)
    assert own - plain >= 0.5 * spent / 0.6, (own, plain, spent)
