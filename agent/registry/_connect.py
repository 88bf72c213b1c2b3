"""SQLite connections: settings, one connection per thread, and the one place where
``sqlite3.Error`` becomes ``RegistryError``."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import RegistryError

__all__ = ["BUSY_TIMEOUT_MS", "SYNCHRONOUS", "Connections", "connect", "mapped"]

# A writer holds the lock for milliseconds (a trial's rows, never a training); 30 s rides out a
# slow disk or a WAL checkpoint, and past it the caller gets a "busy" RegistryError, not a hang.
BUSY_TIMEOUT_MS = 30_000
# FULL, not NORMAL: in WAL mode NORMAL is already safe against a killed process (the WAL is in
# the OS cache), but a power cut can drop the last commits, i.e. a trial the user saw finish.
# Commits here are a handful per trial, each trial takes seconds to hours: one fsync per commit
# costs nothing that matters and makes a reported "finished" durable.
SYNCHRONOUS = "FULL"

_NEXT_STEP = {
    "SQLITE_BUSY": "another process holds the registry's write lock; retry, or stop the other research-agent",
    "SQLITE_LOCKED": "another connection holds the registry's lock; retry, or stop the other research-agent",
    "SQLITE_NOTADB": "it is not a SQLite database; move the file aside or choose another --home",
    "SQLITE_CORRUPT": "the file is damaged; move it aside and restore a backup or choose another --home",
    "SQLITE_CANTOPEN": "check that its folder exists and is writable, or choose another --home",
    "SQLITE_READONLY": "the file or its folder is read-only; make it writable or choose another --home",
    "SQLITE_FULL": "the disk is full; free some space and retry",
    "SQLITE_IOERR": "the disk reported an I/O error; check the disk and retry",
    "SQLITE_CONSTRAINT": "nothing was written; an invalid value was passed (a bug: please report it)",
}
_OTHERWISE = "nothing was written; retry, and report it if it happens again"


def describe(exc: sqlite3.Error, action: str, where: str) -> str:
    """One line: what failed, SQLite's reason, and the next step."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    base = "_".join(name.split("_")[:2])  # SQLITE_CONSTRAINT_CHECK -> SQLITE_CONSTRAINT
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"registry {where}: {action} failed ({reason}); {_NEXT_STEP.get(base, _OTHERWISE)}"


@contextlib.contextmanager
def mapped(action: str, where: str) -> Iterator[None]:
    """Turn ``sqlite3.Error`` raised inside into ``RegistryError`` (``from`` the original)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise RegistryError(describe(exc, action, where)) from exc


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on.

    ``check_same_thread=False`` only so ``Connections.close`` can close every thread's
    connection from one thread; each connection is still used by its own thread alone.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _journal_mode_wal(conn)
        if str(mode).lower() != "wal":
            raise RegistryError(f"registry {path}: the file system refused WAL mode (got {mode}); "
                                "put --home on a local disk")
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _journal_mode_wal(conn: sqlite3.Connection) -> str:
    """``PRAGMA journal_mode = WAL``, retried while another connection holds the lock: switching a
    new file to WAL needs an exclusive lock and SQLite answers SQLITE_BUSY at once there, without
    calling the busy handler, so several processes opening a new home together would fail."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


class Connections:
    """One connection per thread, opened on first use; connections of finished threads are
    closed when the next one opens, and all of them by ``close``.

    After ``fork`` the child forgets the parent's connections without touching them (SQLite
    forbids carrying a connection across fork) and opens its own.
    """

    def __init__(self, opener: Callable[[], sqlite3.Connection], where: str):
        self._opener, self._where = opener, where
        self._lock = threading.Lock()
        self._by_thread: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._pid = os.getpid()
        self._closed = False

    def get(self) -> sqlite3.Connection:
        me = threading.current_thread()
        with self._lock:
            self._check_open()
            if os.getpid() != self._pid:
                self._by_thread, self._pid = {}, os.getpid()
            entry = self._by_thread.get(me.ident)
            if entry is not None and entry[0] is me:
                return entry[1]
            self._close_dead()
        conn = self._opener()
        with self._lock:
            if self._closed:
                conn.close()
                self._check_open()
            self._by_thread[me.ident] = (me, conn)
        return conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            entries, self._by_thread = list(self._by_thread.values()), {}
        if os.getpid() == self._pid:
            for _, conn in entries:
                conn.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RegistryError(f"registry {self._where} is closed; open it again")

    def _close_dead(self) -> None:
        for ident, (thread, conn) in list(self._by_thread.items()):
            if not thread.is_alive():
                conn.close()
                del self._by_thread[ident]
