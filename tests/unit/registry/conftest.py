"""One suite for every registry backend: tests take ``reg`` (a fresh registry on a real temp
directory) or ``open_reg`` (open another instance on the same home). A new backend plugs in by
adding one entry to ``BACKENDS`` (and to ``_worker.BACKENDS`` for the process tests)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.registry import BaseRegistry, SQLiteRegistry
from tests.reports import make_report  # noqa: F401  (the tests import it from here)

WORKER = Path(__file__).with_name("_worker.py")
REPO = Path(__file__).resolve().parents[3]

BACKENDS: dict[str, Callable[[Path], BaseRegistry]] = {
    "sqlite": lambda home: SQLiteRegistry(home / "registry.sqlite"),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request) -> str:
    return request.param


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def open_reg(backend, home):
    """Open (another) registry on the test's home; every one is closed after the test."""
    opened: list[BaseRegistry] = []

    def _open(where: Path | None = None) -> BaseRegistry:
        reg = BACKENDS[backend](where or home)
        opened.append(reg)
        return reg

    yield _open
    for reg in opened:
        reg.close()


@pytest.fixture
def reg(open_reg) -> BaseRegistry:
    return open_reg()


@pytest.fixture
def run(reg):
    return reg.create_run("digits >= 0.9 accuracy", {"metric": "accuracy", "dataset": "digits"}, planner_seed=7)


SPEC = {"model": {"family": "mlp", "depth": 2}, "origin": "search"}


def run_trial(reg: BaseRegistry, run_id: str, accuracy=0.9, seeds=(0, 1, 2), status="ok"):
    trial = reg.start_trial(run_id, SPEC, "class M: ...\n")
    return reg.finish_trial(trial.id, make_report(seeds, status, accuracy))


class Worker:
    """The writer process of ``_worker.py``: follow its output lines, SIGKILL it, reap it.

    Used as a context manager so a failing test never leaves the process (or its pipes) behind.
    """

    def __init__(self, backend: str, home: Path, run_id: str, *args: str):
        env = os.environ | {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, str(WORKER), backend, str(home), run_id, *args], cwd=REPO,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = ""

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def wait_for(self, expected: str, timeout: float = 60) -> None:
        """Block until the worker prints ``expected``; fail if it ends (or stalls) first."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"worker printed no {expected!r} within {timeout}s; saw {self.seen}") from None
            if line is None:
                self.finish()
                raise AssertionError(f"worker ended before {expected!r}; saw {self.seen}; stderr: {self.stderr}")
            self.seen.append(line)
            if line == expected:
                return

    def next_line(self, timeout: float = 60) -> str:
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"worker ended early; saw {self.seen}"
        self.seen.append(line)
        return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 120) -> int:
        """Wait for the exit, drain and close the pipes; returns the exit code."""
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        if not self.proc.stderr.closed:
            self.kill()


def assert_consistent(reg: BaseRegistry, run_id: str, n_seeds: int) -> list:
    """The invariants no crash or concurrent read may break; returns the trials."""
    trials = reg.list_trials(run_id)
    numbers = [t.number for t in trials]
    assert numbers == list(range(1, len(trials) + 1)), f"numbers not 1..N without gaps/duplicates: {numbers}"
    for t in trials:
        if t.state == "finished":
            assert t.status is not None and [s.seed for s in t.seeds] == list(range(n_seeds)), t
        else:
            assert t.status is None and t.seeds == (), t
    return trials
