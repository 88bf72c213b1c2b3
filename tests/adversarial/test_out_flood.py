"""Writing 2 GB into /out (4 files of 512 MiB). /out is a 256m tmpfs held in the
container's memory, never the host's disk, so the write fails with ENOSPC and the host
reports ``resource_limit``; the host disk check confirms nothing landed outside.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        chunk = b"\\x00" * (1 << 20)
        for i in range(4):
            with open(f"/out/blob-{i}.bin", "wb") as fh:
                for _ in range(512):
                    fh.write(chunk)

    def forward(self, x):
        return x
"""


def test_two_gigabytes_into_out_is_a_resource_limit(hostile):
    run = hostile(SOURCE)
    assert run.status == "resource_limit", run.explain()
    assert "No space left on device" in run.message, run.explain()
