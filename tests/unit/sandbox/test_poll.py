"""How often the host looks at a running container: fast at first, then a bounded fraction of
the time run so far, never slower than the cap."""

from __future__ import annotations

from agent.sandbox import _controls as c
from agent.sandbox._docker import poll_interval


def test_short_runs_are_looked_at_often():
    assert poll_interval(0.0) == c.POLL_INTERVAL_S
    assert poll_interval(1.0) == c.POLL_INTERVAL_S


def test_the_delay_grows_with_the_run_and_stays_a_small_fraction_of_it():
    previous = 0.0
    for elapsed in (2.0, 4.0, 8.0, 12.0, 16.0):
        interval = poll_interval(elapsed)
        assert interval >= previous
        assert interval <= max(c.POLL_INTERVAL_S, c.POLL_DELAY_FRACTION * elapsed) + 1e-12
        previous = interval
    assert poll_interval(4.0) > c.POLL_INTERVAL_S  # it really backs off


def test_long_runs_are_looked_at_once_a_second_at_least():
    assert poll_interval(600.0) == c.POLL_MAX_INTERVAL_S
    # a 10-minute trial: about 650 looks instead of 6,000
    t, looks = 0.0, 0
    while t < 600.0:
        t += poll_interval(t)
        looks += 1
    assert looks < 0.12 * 600.0 / c.POLL_INTERVAL_S
