"""Reading /out's tar stream: caps, and nothing but safe regular files."""

import io
import struct
import tarfile

import pytest

from agent.sandbox._collect import READ_CHUNK, OutputTooLarge, StreamCut, read_capped, regular_files, stdout_frames


def make_tar(entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, payload
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
    return buf.getvalue()


def test_regular_files_are_kept_with_relative_names():
    data = make_tar([(".", "dir", b""), ("./seed_0", "dir", b""),
                     ("./seed_0/test_probs.npy", "file", b"abc"), ("./.done", "file", b"done")])
    files, rejected = regular_files(data, ".", cap=1000)
    assert files == {"seed_0/test_probs.npy": b"abc", ".done": b"done"}
    assert rejected == []


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (("./report.json", "symlink", "/etc/passwd"), "symlink"),
        (("./x", "hardlink", "/etc/shadow"), "hard link"),
        (("./pipe", "fifo", b""), "fifo"),
        (("../../etc/cron.d/evil", "file", b"x"), "outside"),
        (("/etc/passwd", "file", b"x"), "outside"),
    ],
)
def test_links_devices_and_escapes_are_rejected(entry, why):
    files, rejected = regular_files(make_tar([entry]), ".", cap=1000)
    assert files == {}
    assert len(rejected) == 1 and why in rejected[0]


def test_content_over_cap_raises():
    data = make_tar([("./a", "file", b"x" * 600), ("./b", "file", b"x" * 600)])
    with pytest.raises(OutputTooLarge):
        regular_files(data, ".", cap=1000)


def test_stream_over_cap_stops_reading():
    consumed = []

    def chunks():
        for i in range(100):
            consumed.append(i)
            yield b"x" * 100

    with pytest.raises(OutputTooLarge):
        read_capped(chunks(), cap=1000)
    assert len(consumed) == 11  # stops at the first chunk past the cap, not at the end
    assert read_capped([b"ab", b"cd"], cap=4) == b"abcd"


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_stdout_frames_keep_stdout_and_drop_other_streams():
    body = frame(1, b"ab") + frame(2, b"warning") + frame(1, b"") + frame(1, b"cd")
    assert b"".join(stdout_frames(io.BytesIO(body).read)) == b"abcd"
    assert list(stdout_frames(io.BytesIO(b"").read)) == []


@pytest.mark.parametrize("cut", [3, 8 + 1])  # inside a header; inside a payload
def test_a_stream_cut_inside_a_frame_is_an_error_not_a_short_archive(cut):
    body = frame(1, b"abcdef")
    with pytest.raises(StreamCut):
        list(stdout_frames(io.BytesIO(body[:cut]).read))


def test_a_frame_that_claims_gigabytes_is_read_piece_by_piece_under_the_cap():
    reads: list[int] = []
    huge = struct.pack(">BxxxL", 1, 2**32 - 1)

    def read(n: int) -> bytes:
        reads.append(n)
        return huge[:n] if len(reads) == 1 else b"x" * n

    with pytest.raises(OutputTooLarge):
        read_capped(stdout_frames(read), cap=3 * READ_CHUNK)
    assert max(reads) <= READ_CHUNK and len(reads) <= 6
