"""Opening 100,000 file descriptors: the nofile ulimit (1024) stops it with EMFILE
("Too many open files") and the host reports ``resource_limit``.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self._held = [open("/dev/null") for _ in range(100_000)]
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_fd_flood_hits_nofile(hostile):
    run = hostile(SOURCE)
    assert run.status == "resource_limit", run.explain()
    assert "Too many open files" in run.message, run.explain()
