"""Filling /tmp until it is full: /tmp is a 256m tmpfs (in the container's memory cgroup,
never the host disk), so a write fails with ENOSPC long before the 512 MiB file-size
limit, the model dies with it and the host reports ``resource_limit``.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        chunk = b"\\xa5" * (1 << 20)
        i = 0
        while True:
            with open(f"/tmp/flood-{i}", "wb") as fh:
                for _ in range(64):
                    fh.write(chunk)
            i += 1

    def forward(self, x):
        return x
"""


def test_tmp_flood_is_a_resource_limit(hostile):
    run = hostile(SOURCE)
    assert run.status == "resource_limit", run.explain()
    assert "No space left on device" in run.message, run.explain()
