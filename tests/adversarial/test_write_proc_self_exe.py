"""Overwriting the interpreter through /proc/self/exe (the runc CVE-2019-5736 pattern).

Every write is refused: the binaries are root-owned on a read-only root filesystem (the
kernel answers EACCES here; ETXTBSY or EROFS are the other honest refusals). The model
asserts the refusal and trains normally, so a correct sandbox gives ``ok``; if any write
went through, the model raises and the case fails as ``crashed``.
"""

SOURCE = """
import errno
import torch.nn as nn

TARGETS = ("/proc/self/exe", "/proc/1/exe", "/opt/venv/bin/python", "/usr/bin/python3",
           "/usr/local/bin/python3")
REFUSED = (errno.ETXTBSY, errno.EACCES, errno.EROFS, errno.EPERM, errno.ENOENT)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        for path in TARGETS:
            try:
                with open(path, "r+b") as fh:
                    fh.write(b"\\x7fELF-overwritten")
            except OSError as exc:
                assert exc.errno in REFUSED, exc
            else:
                raise AssertionError(f"wrote {path}")
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_writing_proc_self_exe_is_refused(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
