"""Allocating 20 GiB, 100 MiB at a time with every page touched, under ``--memory 1g``.

Each chunk is small enough for any overcommit policy, so the only thing that stops it is the
memory cgroup (memory == memory+swap: no swap to hide in): the kernel OOM-kills it and
Docker records OOMKilled. Status ``oom``; the host's own memory comes back afterwards.
"""

SOURCE = """
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        hoard = []
        for _ in range(200):
            hoard.append(torch.ones(25 * 1024 * 1024))  # 100 MiB of float32, written
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_twenty_gigabytes_is_oom(hostile):
    run = hostile(SOURCE, "--memory", "1g")
    assert run.status == "oom", run.explain()
    assert run.sandbox["oom_killed"] is True, run.explain()
