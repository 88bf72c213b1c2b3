"""Read the runner's cues from the last lines of its private stdout: the done line, progress lines.

Both come from a pipe the model can write to as well (it shares the runner's uid), so neither is
ever a status: the done line only tells the host to copy /out now, and a progress line is shown
to the user after it was bounded (``MAX_PROGRESS_LINE``) and validated (``RunnerProgress``).
"""

from __future__ import annotations

from pydantic import ValidationError

from ..protocol import DONE_LINE, MAX_PROGRESS_LINE, PROGRESS_LINE, RunnerProgress

__all__ = ["StdoutTail", "latest_progress"]

_PREFIX = PROGRESS_LINE.encode() + b" "


def latest_progress(tail: bytes) -> RunnerProgress | None:
    """The newest valid progress line in ``tail`` (raw log bytes), or None.

    A line over ``MAX_PROGRESS_LINE`` bytes, one that is not JSON, or one whose fields are out
    of bounds or contradict each other is skipped; an older valid one may still count.
    """
    for line in reversed(tail.splitlines()):
        line = line.strip()
        if not line.startswith(_PREFIX) or len(line) > MAX_PROGRESS_LINE:
            continue
        try:
            progress = RunnerProgress.model_validate_json(line[len(_PREFIX) :], strict=True)
        except ValidationError:
            continue
        if progress.epoch <= progress.epochs and progress.seeds_done <= progress.seeds:
            return progress
    return None


class StdoutTail:
    """What one poll read from the runner's stdout: the done cue and the newest progress."""

    def __init__(self, tail: bytes) -> None:
        self.done = DONE_LINE.encode() in tail
        self.progress = latest_progress(tail)
