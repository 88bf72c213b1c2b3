"""A fork bomb: ``while True: os.fork()``.

pids_limit 256 (threads count too) stops it inside the container: fork fails with EAGAIN
(BlockingIOError), the original process dies with that traceback and the host reports
``resource_limit``. The whole bomb dies with the container; the host checks that no
process of the sandbox's uid survives. (``resource_limit`` is deterministic: the tail
always holds an EAGAIN traceback, whichever process printed it last.)
"""

SOURCE = """
import os
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        while True:
            os.fork()

    def forward(self, x):
        return x
"""


def test_fork_bomb_hits_the_pids_limit(hostile):
    run = hostile(SOURCE, "--timeout", "30")
    assert run.status == "resource_limit", run.explain()
    assert "Resource temporarily unavailable" in run.sandbox["stderr_tail"], run.explain()
