"""A wake-up for the poll loop: the runner's done cue, seen when it is written.

The loop looks at a running container at most once a second (``poll_interval``: 5% of the time
it has run), so a trial of 8 s waited about 0.2 s on average between its runner's done line and
the copy of /out, once per trial. Here a thread follows the container's stdout (the supervisor's
private stdout: progress lines and the done line, never the model's prints) and wakes the loop
as soon as the done line appears. It only wakes: the loop still reads the cue from its own look,
and the status is never taken from stdout. The stream ends when the container stops or is
removed; any error ends the thread, and the loop's regular looks carry on alone.
"""

from __future__ import annotations

import threading

from ..protocol import DONE_LINE
from ._collect import stdout_frames

__all__ = ["CueWatch"]

_NEEDLE = DONE_LINE.encode()


class CueWatch:
    """Follows one container's stdout in a daemon thread; :meth:`wait` returns early on the done line."""

    def __init__(self, api, container_id: str) -> None:
        """``api``: docker-py's low-level ``APIClient`` (a ``requests.Session``)."""
        self._cue = threading.Event()
        self._thread = threading.Thread(target=self._follow, args=(api, container_id), name="sandbox-cue",
                                        daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` s; True when the done line woke us (each line wakes once)."""
        woke = self._cue.wait(max(0.0, timeout))
        self._cue.clear()
        return woke

    def _follow(self, api, container_id: str) -> None:
        url = f"{api.base_url}/v{api.api_version}/containers/{container_id}/logs"
        params = {"follow": 1, "stdout": 1, "stderr": 0}
        try:
            # No read timeout: the stream is quiet for as long as an epoch takes, and it ends when
            # the container stops. Read as a plain HTTP body and closed by `with` (docker-py's
            # CancellableStream leaks its socket on close: issues #1755, #3268).
            with api.get(url, params=params, stream=True, timeout=None) as response:
                response.raise_for_status()
                tail = b""  # the end of the last piece: a line split between frames is still seen
                for piece in stdout_frames(response.raw.read):
                    seen = tail + piece
                    if _NEEDLE in seen:
                        self._cue.set()
                        seen = seen[seen.rindex(_NEEDLE) + len(_NEEDLE):]
                    tail = seen[-(len(_NEEDLE) - 1):]
        except Exception:  # noqa: BLE001 - a wake-up is optional: the poll loop's own looks remain
            return
