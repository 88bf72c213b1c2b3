"""A 10-billion-parameter model (nn.Linear(100_000, 100_000)): 40 GB of float32 weights.

The constructor dies before the runner can count parameters (its 50M cap): on a host whose
overcommit policy refuses the 40 GB mapping, torch's allocator raises ("can't allocate
memory"); on a host that grants it lazily, initialising the weights hits the 2 GiB cgroup
and the kernel OOM-kills it. The host reports both as ``oom`` (the status must not depend
on the host's RAM), and quickly: nothing waits for a deadline.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 100_000),
            nn.Linear(100_000, 100_000),
            nn.Linear(100_000, 10),
        )

    def forward(self, x):
        return self.net(x)
"""


def test_ten_billion_parameters_is_oom_and_fast(hostile):
    run = hostile(SOURCE)
    assert run.status == "oom", run.explain()
    assert run.wall_s < 45, run.explain()
