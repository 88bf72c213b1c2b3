"""Progress lines (message 6): one per epoch of each seed, and one when a seed is complete.

In one process the lines go straight to the protocol pipe. A seed worker (parallel seeds) sends
its events over a multiprocessing pipe to the job's main process, which writes the lines: the
workers have no descriptor of the protocol pipe, and one writer keeps ``seeds_done`` a count
over every worker. A broken pipe never stops training: progress is informational.
"""

from __future__ import annotations

import json

from . import protocol as p

MAX_EVENT = 4096  # bytes of one worker event; a bigger one is dropped


class Progress:
    """Writes ``RunnerProgress`` lines for one job to ``out`` (a text file), or nowhere."""

    def __init__(self, out, job: p.JobSpec) -> None:
        self.out, self.epochs, self.seeds, self.done = out, job.epochs, len(job.seeds), 0
        self.last: dict[int, tuple[int, float | None]] = {}

    def epoch(self, seed: int, epoch: int, val_acc: float | None) -> None:
        self.last[seed] = (epoch, val_acc)
        self._write(seed, epoch, val_acc)

    def seed_done(self, seed: int) -> None:
        """Called once seed_<k>/.done is written."""
        self.done += 1
        self._write(seed, *self.last.get(seed, (0, None)))

    def event(self, raw: bytes) -> None:
        """A worker's event, as :class:`WorkerProgress` sent it (malformed ones are dropped)."""
        try:
            kind, seed, epoch, val_acc = json.loads(raw) if len(raw) <= MAX_EVENT else ()
        except (ValueError, TypeError):
            return
        if kind == "epoch":
            self.epoch(seed, epoch, val_acc)
        elif kind == "done":
            self.seed_done(seed)

    def _write(self, seed: int, epoch: int, val_acc: float | None) -> None:
        if self.out is None:
            return
        line = p.RunnerProgress(seed=seed, epoch=epoch, epochs=self.epochs, val_acc=val_acc,
                                seeds_done=self.done, seeds=self.seeds).line()
        try:
            self.out.write(line + "\n")
            self.out.flush()
        except (OSError, ValueError):  # the supervisor is gone, or the model closed the pipe
            self.out = None


class WorkerProgress:
    """A seed worker's side: the same calls as :class:`Progress`, sent over a connection."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def epoch(self, seed: int, epoch: int, val_acc: float | None) -> None:
        self._send(["epoch", seed, epoch, val_acc])

    def seed_done(self, seed: int) -> None:
        self._send(["done", seed, 0, None])

    def _send(self, event: list) -> None:
        if self.conn is None:
            return
        try:
            self.conn.send_bytes(json.dumps(event).encode())
        except (OSError, ValueError):
            self.conn = None
