"""Writing where it must not: the data and job mounts, the image, /etc, /proc and /sys
knobs; looking for the hidden test labels, the Docker socket and raw devices.

/data and /job are read-only mounts, the root filesystem is read-only, /proc/sys and the
sysrq trigger are read-only or masked, the test labels never leave the host, there is no
docker.sock, and /dev has no disks or memory devices. The model asserts all of it and
trains: ``ok``.
"""

SOURCE = """
import os
import torch.nn as nn

READ_ONLY = ("/data/train_x.npy", "/data/new", "/job/model.py", "/job/new", "/usr/lib/evil",
             "/etc/passwd", "/opt/runner/runner/train.py", "/opt/venv/evil.pth",
             "/proc/sysrq-trigger", "/proc/sys/kernel/core_pattern", "/sys/kernel/uevent_helper")
ABSENT_OR_LOCKED = ("/var/run/docker.sock", "/run/docker.sock", "/dev/mem", "/dev/kmem",
                    "/dev/kmsg", "/dev/sda", "/dev/vda")


def write(path):
    with open(path, "w") as fh:
        fh.write("x")


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        names = os.listdir("/data")
        assert not any("test_y" in n or "hidden" in n or "label" in n for n in names), names
        for path in READ_ONLY:
            try:
                write(path)
            except OSError:
                continue
            raise AssertionError(f"wrote {path}")
        for path in ABSENT_OR_LOCKED:
            assert not os.path.exists(path) or not os.access(path, os.R_OK | os.W_OK), path
        assert os.statvfs("/").f_flag & os.ST_RDONLY
        assert os.statvfs("/tmp").f_flag & os.ST_NOEXEC
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_filesystem_boundaries_hold(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
