"""Calls on one container through docker-py, each failure turned into a value, never raised.

The supervision in ``_docker`` reads a container's state, its stdout cues and stderr tail, signals
and kills it, waits for its exit and removes it through these; an engine hiccup in any of them is
an answer (running, not killed, not removed: a line), so cleanup never replaces the outcome.
"""

from __future__ import annotations

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from . import _controls as c
from ._collect import read_capped, stdout_frames
from ._progress import StdoutTail

__all__ = ["API_ERRORS", "EXIT_WAIT_S", "REMOVE_TRIES", "container_state", "exec_stdout", "explain", "kill",
           "remove", "remove_surely", "signal_exit", "stderr_tail", "stdout_tail", "wait_exit"]

EXIT_WAIT_S = 10.0  # how long the runner gets to exit after we collected its output
REMOVE_TRIES = 3  # a second Ctrl-C cuts one removal short, not the removal: no container is left behind
# What an engine call can raise besides docker's own errors (timeouts, a dropped connection).
API_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)


def exec_stdout(api, exec_id: str, cap: int) -> bytes:
    """An exec's stdout, at most ``cap`` bytes (else :class:`OutputTooLarge`), read as an HTTP body.

    docker-py's ``exec_start`` returns a CancellableStream or the hijacked socket, and neither can
    be closed through its public API without leaking the socket (a ResourceWarning; docker-py
    issues #1755, #3268). Sent without the ``Upgrade`` header, the same start request is answered
    with a 200 whose body is the multiplexed stream until the exec ends, so ``requests`` (an
    APIClient is a ``requests.Session``) reads it, byte-capped, and closes it with its own API.
    """
    url = f"{api.base_url}/v{api.api_version}/exec/{exec_id}/start"
    with api.post(url, json={"Detach": False, "Tty": False}, stream=True, timeout=api.timeout) as response:
        response.raise_for_status()
        return read_capped(stdout_frames(response.raw.read), cap)


def explain(exc: Exception) -> str:
    """Docker's own words (``explanation``) rather than the HTTP wrapper around them."""
    text = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(text).split())[:400]


def container_state(container) -> dict | None:
    try:
        container.reload()
        return container.attrs.get("State", {})
    except docker.errors.NotFound:
        return None
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return {"Status": "running"}  # a transient API hiccup; the deadline still applies


def stdout_tail(container) -> StdoutTail:
    """The runner's last stdout lines: its done cue and progress (cues only, never a status)."""
    try:
        tail = container.logs(stdout=True, stderr=False, tail=20)
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        tail = b""
    return StdoutTail(tail)


def kill(container) -> bool:
    """SIGKILL it. True only when the engine did; False when it had exited already or the call failed."""
    try:
        container.kill()
    except API_ERRORS:
        return False
    return True


def signal_exit(container) -> None:
    """Tell the runner its output is safe; it exits 0 on SIGUSR1 (docker-init forwards it)."""
    try:
        container.kill(signal="SIGUSR1")
    except API_ERRORS:
        pass  # it exited already; or it did not hear us, and _wait_exit kills it


def wait_exit(container) -> tuple[dict, bool]:
    """The final state, and whether we had to kill it because it would not exit."""
    try:
        container.wait(timeout=EXIT_WAIT_S)
    except API_ERRORS:
        # It ignored the exit signal after its output was collected, or our kill at the deadline failed.
        killed = kill(container)
        try:
            container.wait(timeout=EXIT_WAIT_S)
        except API_ERRORS:
            return {}, killed
        return container_state(container) or {}, killed
    return container_state(container) or {}, False


def stderr_tail(container) -> str:
    try:
        raw = container.logs(stdout=False, stderr=True, tail=200)
    except docker.errors.DockerException:
        return ""
    return raw.decode("utf-8", "replace")[-c.MAX_STDERR_TAIL :]


def remove(container) -> str | None:
    """Remove it (and its anonymous volumes). A failure is returned as one line, never raised."""
    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        return None  # already gone
    except API_ERRORS as exc:
        return f"could not remove container {container.id[:12]}: {explain(exc)}"
    return None


def remove_surely(container) -> tuple[str | None, KeyboardInterrupt | None]:
    """:func:`_remove`, tried again when a KeyboardInterrupt cuts it short; that interrupt is
    returned (the caller raises it once the container is gone), never lost."""
    cut = None
    for _ in range(REMOVE_TRIES):
        try:
            return remove(container), cut
        except KeyboardInterrupt as exc:
            cut = exc
    return f"could not remove container {container.id[:12]}: interrupted", cut
