"""A running trial's progress, per epoch, on the console and in the registry (the loop's view of it).

The numbers come from the runner's progress lines (``protocol.RunnerProgress``): validated and
bounded by the sandbox, forgeable by the model, so they are shown and stored, never scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .protocol import RunnerProgress

__all__ = ["TrialWatch"]

CONSOLE_EVERY_S = 10.0  # a progress line at most this often: a long trial moves, a short one stays quiet
REGISTRY_EVERY_S = 1.0  # the registry's copy at most this often (one small write each)


class TrialWatch:
    """The sandbox's progress callback for one trial of a run."""

    def __init__(self, registry, trial_id: str, number: int, deadline_s: float, say: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic):
        self.registry, self.trial_id, self.number = registry, trial_id, number
        self.deadline_s, self.say, self.clock = deadline_s, say, clock
        self._last: tuple[int, int] | None = None
        self._said_at = self._stored_at = clock()

    def __call__(self, phase: str, elapsed_s: float, progress: RunnerProgress | None = None) -> None:
        if progress is None or (progress.seed, progress.epoch) == self._last:
            return
        self._last = (progress.seed, progress.epoch)
        now = self.clock()
        if now - self._stored_at >= REGISTRY_EVERY_S:
            self._stored_at = now
            self.registry.set_trial_progress(self.trial_id, progress.model_dump() | {"elapsed_s": round(elapsed_s, 1)})
        if now - self._said_at >= CONSOLE_EVERY_S:
            self._said_at = now
            self.say(f"  trial {self.number}: {line(progress)}, {elapsed_s:.0f} s of {self.deadline_s:.0f} s")


def line(p: RunnerProgress) -> str:
    """``seed 1 epoch 3/5, val_acc 0.8712 (1 of 3 seeds done)``: numbers only, nothing the model wrote as text."""
    acc = f", val_acc {p.val_acc:.4f}" if p.val_acc is not None else ""
    return f"seed {p.seed} epoch {p.epoch}/{p.epochs}{acc} ({p.seeds_done} of {p.seeds} seeds done)"
