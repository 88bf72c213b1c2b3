"""SIGTERM/SIGHUP raise ``Interrupted`` inside ``interruptible()``; the CLI maps it to 128 + the signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import click
import pytest
from click.testing import CliRunner

from agent.cli._group import OneLineErrors
from agent.cli._signals import HANDLED, Interrupted, exit_code, interruptible, interruption_line
from tests.conftest import REPO


class SandboxInterrupted(KeyboardInterrupt):
    """Like the sandbox's: caught the interruption, cleaned up, raised its own."""


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(5)  # the handler raises here, at once; sleeping on is the failure


@pytest.fixture
def handlers():
    """The handlers before the test, put back after it whatever happened."""
    before = {s: signal.getsignal(s) for s in HANDLED}
    yield before
    for s, h in before.items():
        signal.signal(s, h)


def test_installs_for_every_handled_signal_and_restores_after(handlers):
    with interruptible():
        for s in HANDLED:
            assert signal.getsignal(s) is not handlers[s]
    assert {s: signal.getsignal(s) for s in HANDLED} == handlers


def test_a_signal_ignored_by_whoever_started_us_stays_ignored(handlers):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # what `nohup` does
    with interruptible():
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


@pytest.mark.parametrize("signum", HANDLED)
def test_the_first_signal_raises_interrupted_naming_it(handlers, signum):
    with pytest.raises(Interrupted) as info, interruptible():
        _send(signum)
    assert isinstance(info.value, KeyboardInterrupt)  # the unwinding Ctrl-C already has runs
    assert info.value.signum == signum
    assert {s: signal.getsignal(s) for s in HANDLED} == handlers


def test_an_inner_subclass_comes_out_naming_the_signal_that_caused_it(handlers):
    with pytest.raises(Interrupted) as info, interruptible():
        try:
            _send(signal.SIGTERM)
        except KeyboardInterrupt:
            raise SandboxInterrupted() from None  # the sandbox removed the container, then raised its own
    assert info.value.signum == signal.SIGTERM
    assert isinstance(info.value.__cause__, SandboxInterrupted)


def test_a_plain_keyboard_interrupt_is_sigint(handlers):
    with pytest.raises(Interrupted) as info, interruptible():
        raise KeyboardInterrupt()
    assert info.value.signum == signal.SIGINT


def test_the_next_step_set_inside_wins_over_the_default(handlers):
    with pytest.raises(Interrupted) as info, interruptible("default step"):
        exc = SandboxInterrupted()
        exc.next_step = "resume it"
        raise exc
    assert info.value.next_step == "resume it"
    with pytest.raises(Interrupted) as info, interruptible("default step"):
        _send(signal.SIGHUP)
    assert info.value.next_step == "default step"


def test_outside_the_main_thread_nothing_is_installed(handlers):
    seen: list = []

    def body():
        try:
            with interruptible():
                seen.append({s: signal.getsignal(s) for s in HANDLED})
                raise SandboxInterrupted()
        except Interrupted as exc:
            seen.append(exc.signum)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(10)
    assert seen == [handlers, signal.SIGINT]


SECOND_SIGNAL = """
import os, signal, sys, time
from agent.cli._signals import interruptible
with interruptible():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    finally:  # the unwinding (removing a container), slow; someone insists
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        print("unwound slowly")
"""


def test_a_second_signal_while_unwinding_exits_at_once():
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", SECOND_SIGNAL], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 143
    assert "unwound slowly" not in proc.stdout
    assert "interrupted again by SIGTERM" in proc.stderr and "resume" in proc.stderr
    assert time.monotonic() - started < 30  # not the 5 s sleeps plus an import: it did not wait


@pytest.mark.parametrize(("exc", "code", "line"), [
    (Interrupted(signal.SIGTERM, "the run is kept: `research-agent resume R`"), 143,
     "interrupted by SIGTERM; the run is kept: `research-agent resume R`"),
    (Interrupted(signal.SIGHUP), 129, "interrupted by SIGHUP"),
    (Interrupted(signal.SIGINT), 130, "interrupted by SIGINT"),
    (KeyboardInterrupt(), 130, "interrupted by SIGINT"),
])
def test_exit_code_is_128_plus_the_signal(exc, code, line):
    assert exit_code(exc) == code
    assert interruption_line(exc) == line


@pytest.mark.parametrize(("raised", "code"), [
    (Interrupted(signal.SIGTERM, "the run is kept: `research-agent resume R`"), 143),
    (SandboxInterrupted(), 130),
])
def test_the_cli_prints_one_line_and_exits_with_the_code(raised, code):
    @click.command(cls=OneLineErrors)
    def stopped():
        raise raised

    result = CliRunner().invoke(stopped, [])
    assert result.exit_code == code
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted by SIG"), result.stderr
    assert "Aborted" not in result.output and "Traceback" not in result.stderr
