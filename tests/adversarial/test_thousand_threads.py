"""Starting 1,000 threads: pids_limit 256 counts threads, so ``threading`` raises
"can't start new thread" and the host reports ``resource_limit``.
"""

SOURCE = """
import threading
import time
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        for _ in range(1000):
            threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_thousand_threads_hit_the_pids_limit(hostile):
    run = hostile(SOURCE)
    assert run.status == "resource_limit", run.explain()
    assert "can't start new thread" in run.message, run.explain()
