"""Reading /out's tar stream: caps, and nothing but safe regular files."""

import io
import tarfile

import pytest

from agent.sandbox._collect import OutputTooLarge, read_capped, regular_files


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
