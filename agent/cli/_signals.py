"""SIGTERM and SIGHUP stop a long command the way Ctrl-C does: by unwinding, not by dying.

``timeout``, CI runners, systemd, Docker and Kubernetes stop a process with SIGTERM, and a closed
terminal sends SIGHUP. Their default action ends Python on the spot: no ``finally`` runs, so the
run stays ``running`` in the registry and the trial's container outlives us. Inside
``interruptible()`` the first of SIGINT, SIGTERM or SIGHUP raises ``Interrupted`` (a
``KeyboardInterrupt``) in the main thread instead, so the code that already unwinds on Ctrl-C
runs: the study marks the run ``interrupted``, the sandbox removes the container. A second signal
while that runs exits at once (``os._exit``, code 128 + the signal); what it leaves behind,
``research-agent resume`` reaps.

Exit codes (the shell's convention, 128 + the signal): 130 SIGINT, 143 SIGTERM, 129 SIGHUP.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["HANDLED", "Interrupted", "exit_code", "interruptible", "interruption_line"]

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SIGNAL_EXIT_BASE = 128  # the shell's "killed by signal N" is 128 + N; CI and `timeout` read it so


class Interrupted(KeyboardInterrupt):
    """A stop request: which signal, and (set by the command that knows) how to go on."""

    def __init__(self, signum: int = signal.SIGINT, next_step: str = "") -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signal.Signals(signum)
        self.next_step = next_step


def exit_code(exc: BaseException) -> int:
    """128 + the signal; a bare ``KeyboardInterrupt`` is SIGINT's (Python raised it for Ctrl-C)."""
    return SIGNAL_EXIT_BASE + int(getattr(exc, "signum", signal.SIGINT))


def interruption_line(exc: BaseException) -> str:
    """``interrupted by SIGTERM; <next step>``: the one line the CLI prints."""
    name = signal.Signals(getattr(exc, "signum", signal.SIGINT)).name
    step = getattr(exc, "next_step", "")
    return f"interrupted by {name}; {step}" if step else f"interrupted by {name}"


class _Handlers:
    """The handlers of one ``interruptible()`` block: the first signal raises, a second exits."""

    def __init__(self) -> None:
        self.fired: signal.Signals | None = None
        self.previous: dict[int, object] = {}

    def install(self) -> None:
        for signum in HANDLED:
            current = signal.getsignal(signum)
            # SIG_IGN was chosen by whoever started us (`nohup` ignores SIGHUP): keep it ignored.
            # None: a handler installed outside Python, which we could not put back.
            if current in (signal.SIG_IGN, None):
                continue
            self.previous[signum] = current
            signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame) -> None:
        if self.fired is not None:
            # Unwinding is under way and someone insists: stop now. print() could deadlock here
            # (the signal may land inside a write to the same stream), os.write cannot.
            name = signal.Signals(signum).name
            os.write(2, f"interrupted again by {name}: exiting now; `research-agent resume RUN_ID` "
                        "removes what is left of a run\n".encode())
            os._exit(SIGNAL_EXIT_BASE + signum)
        self.fired = signal.Signals(signum)
        raise Interrupted(signum)


@contextmanager
def interruptible(next_step: str = "") -> Iterator[None]:
    """Run the block with SIGTERM/SIGHUP/SIGINT raising ``Interrupted``; restore handlers after.

    Any ``KeyboardInterrupt`` leaving the block comes out as ``Interrupted`` naming the signal
    that caused it, even when code inside re-raised its own subclass (the sandbox does). Its
    ``next_step`` is the one code inside set on the exception, else ``next_step``. Outside the
    main thread this installs nothing (``signal.signal`` works only there); the rest applies.
    """
    handlers = _Handlers()
    if threading.current_thread() is threading.main_thread():
        handlers.install()
    try:
        yield
    except KeyboardInterrupt as exc:
        step = getattr(exc, "next_step", "") or next_step
        if isinstance(exc, Interrupted):
            exc.next_step = step
            raise
        raise Interrupted(handlers.fired or signal.SIGINT, step) from exc
    finally:
        handlers.restore()
