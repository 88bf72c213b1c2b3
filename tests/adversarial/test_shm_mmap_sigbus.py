"""Filling /dev/shm through a shared mapping: a sparse 256 MiB file (under the 512 MiB
file-size limit) mapped and written page by page on a 64m tmpfs. Past 64 MiB the kernel
has no page to give and sends SIGBUS (exit 135): the host reports ``resource_limit``.
"""

SOURCE = """
import mmap
import os
import torch.nn as nn

SIZE = 256 * 1024 * 1024


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        fd = os.open("/dev/shm/bus", os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, SIZE)
        buf = mmap.mmap(fd, SIZE)
        page = b"\\x01" * mmap.PAGESIZE
        for off in range(0, SIZE, mmap.PAGESIZE):
            buf[off : off + mmap.PAGESIZE] = page

    def forward(self, x):
        return x
"""


def test_shm_mapping_flood_ends_in_sigbus(hostile):
    run = hostile(SOURCE)
    assert run.status == "resource_limit", run.explain()
    assert run.sandbox["exit_code"] == 135, run.explain()
