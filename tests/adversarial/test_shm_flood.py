"""Filling /dev/shm with write(): it is a 64m tmpfs (shm_size), so the write fails with
ENOSPC and the host reports ``resource_limit``. (Filling it through a mapping instead ends
in SIGBUS: see test_shm_mmap_sigbus.py.)
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        chunk = b"\\x5a" * (1 << 20)
        with open("/dev/shm/flood", "wb") as fh:
            while True:
                fh.write(chunk)
                fh.flush()

    def forward(self, x):
        return x
"""


def test_shm_flood_is_a_resource_limit(hostile):
    run = hostile(SOURCE)
    assert run.status == "resource_limit", run.explain()
    assert "No space left on device" in run.message, run.explain()
