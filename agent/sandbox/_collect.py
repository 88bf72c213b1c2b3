"""Read the container's /out tar stream with a byte cap and keep only safe regular files.

Everything in the stream is untrusted: member names may climb out (``../``), be absolute,
be links or devices, or claim sizes they don't have. Nothing here touches the host disk.
"""

from __future__ import annotations

import io
import posixpath
import struct
import tarfile
from collections.abc import Callable, Iterable, Iterator

__all__ = ["OutputTooLarge", "StreamCut", "read_capped", "regular_files", "stdout_frames"]

MAX_FILES = 4096  # a tree of a million tiny files is a denial of service, not an output
READ_CHUNK = 64 * 1024  # a frame's payload is read this much at a time, whatever size its header claims
_HEADER = struct.Struct(">BxxxL")  # the engine's multiplexed stream: stream id, 3 zero bytes, length
_STDOUT = 1


class OutputTooLarge(Exception):
    """The stream or the archive's content went past the cap."""


class StreamCut(Exception):
    """The exec stream ended inside a frame: what arrived is not the whole archive."""


def stdout_frames(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The stdout payload of the engine's multiplexed exec stream (``Tty=False``), piece by piece.

    ``read(n)`` returns up to ``n`` bytes, ``b""`` at the end. Other streams' frames are skipped.
    Pieces are at most ``READ_CHUNK`` long, so a cap on their sum stops reading promptly.
    """
    while header := _read_exactly(read, _HEADER.size, at_start=True):
        stream, size = _HEADER.unpack(header)
        while size:
            piece = _read_exactly(read, min(size, READ_CHUNK))
            size -= len(piece)
            if stream == _STDOUT:
                yield piece


def _read_exactly(read: Callable[[int], bytes], n: int, at_start: bool = False) -> bytes:
    buf = b""
    while len(buf) < n:
        got = read(n - len(buf))
        if not got:
            if at_start and not buf:
                return b""  # a clean end, between frames
            raise StreamCut(f"the exec stream ended {n - len(buf)} bytes short of a frame")
        buf += got
    return buf


def read_capped(chunks: Iterable[bytes], cap: int) -> bytes:
    """Join ``chunks`` but stop (and raise) as soon as more than ``cap`` bytes arrive."""
    buf = io.BytesIO()
    for chunk in chunks:
        if buf.tell() + len(chunk) > cap:
            raise OutputTooLarge(f"output stream exceeded {cap} bytes")
        buf.write(chunk)
    return buf.getvalue()


def regular_files(tar_bytes: bytes, root: str, cap: int) -> tuple[dict[str, bytes], list[str]]:
    """Return ``({relative path: content}, [rejected member descriptions])``.

    ``root`` is the archive's top directory (``.`` for ``tar -C /out -cf - .``).
    """
    files: dict[str, bytes] = {}
    rejected: list[str] = []
    total = 0
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        for i, member in enumerate(tar):
            if i >= MAX_FILES:
                raise OutputTooLarge(f"output has more than {MAX_FILES} entries")
            rel = _relative(member.name, root)
            if rel is None:
                rejected.append(f"{member.name}: outside the output directory")
                continue
            if member.isdir():
                continue
            if not member.isreg():
                rejected.append(f"{rel}: not a regular file ({_kind(member)})")
                continue
            total += member.size
            if total > cap:
                raise OutputTooLarge(f"output files exceed {cap} bytes")
            fh = tar.extractfile(member)
            files[rel] = fh.read(member.size + 1) if fh else b""
    return files, rejected


def _relative(name: str, root: str) -> str | None:
    norm = posixpath.normpath(name)
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        return None
    if norm == root or norm == ".":
        return "."
    if root in ("", "."):
        return norm
    prefix = root.rstrip("/") + "/"
    return norm[len(prefix) :] if norm.startswith(prefix) else None


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hard link"
    if member.isfifo():
        return "fifo"
    if member.isdev():
        return "device"
    return "special"
