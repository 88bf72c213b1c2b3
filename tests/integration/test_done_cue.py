"""The poll loop's wake-up on the real engine: the runner's done line is seen when it is written,
not at the loop's next look (up to a second later in a long trial)."""

from __future__ import annotations

import time

from agent.protocol import DONE_LINE
from agent.sandbox._cue import CueWatch


def _run(docker_client, sandbox_image, script: str):
    return docker_client.containers.run(sandbox_image.id, ["-c", script], entrypoint="python", detach=True,
                                        network_mode="none")


def test_the_done_line_wakes_the_wait_when_it_is_written(docker_client, sandbox_image):
    # A progress-like line first, split from the cue: the watch reads frames, not whole lines.
    script = (f"import sys, time; print('runner progress', flush=True); time.sleep(1.5); "
              f"sys.stdout.write('{DONE_LINE[:8]}'); sys.stdout.flush(); time.sleep(0.2); "
              f"print('{DONE_LINE[8:]}', flush=True); time.sleep(3)")
    container = _run(docker_client, sandbox_image, script)
    try:
        t0 = time.monotonic()
        watch = CueWatch(docker_client.api, container.id)
        assert watch.wait(20)
        waited = time.monotonic() - t0
        assert waited >= 1.5  # not before the line was written
        assert waited < 5  # woken by the line, long before the 20 s asked for
        assert not watch.wait(0.2)  # one line wakes once
        container.wait(timeout=30)
        watch._thread.join(10)
        assert not watch._thread.is_alive()  # the stream ended with the container
    finally:
        container.remove(force=True)


def test_without_the_done_line_the_wait_runs_its_full_time(docker_client, sandbox_image):
    container = _run(docker_client, sandbox_image, "import sys, time; print('done', file=sys.stderr); time.sleep(2)")
    try:
        watch = CueWatch(docker_client.api, container.id)
        t0 = time.monotonic()
        assert not watch.wait(1.0)  # stderr and other stdout never wake it
        assert time.monotonic() - t0 >= 0.95
    finally:
        container.remove(force=True)
    watch._thread.join(10)
    assert not watch._thread.is_alive()  # removed mid-stream: the thread ends, quietly


def test_a_trial_ends_at_its_done_line_not_at_the_next_look(docker_client, sandbox_image, agent_home, monkeypatch):
    """With looks 60 s apart, a short trial still ends within seconds: the done line woke the loop."""
    from agent.data import prepare
    from agent.records import TrialStatus
    from agent.sandbox import DockerSandbox
    from agent.sandbox import _controls as c
    from tests.integration.test_prepared_containers import _request

    monkeypatch.setattr(c, "POLL_INTERVAL_S", 60.0)
    monkeypatch.setattr(c, "POLL_MAX_INTERVAL_S", 60.0)
    data = prepare("digits", agent_home / "cache" / "datasets")
    box = DockerSandbox(docker_client)
    t0 = time.monotonic()
    outcome = box.run(_request(data.public_dir, "test-cue", 1, data))
    assert outcome.status is TrialStatus.OK, outcome.message
    assert time.monotonic() - t0 < 30  # one 60 s look would have come first without the wake-up
