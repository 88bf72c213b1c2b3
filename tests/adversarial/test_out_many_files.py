"""5,000 prediction directories in /out (``seed_N/test_probs.npy``, empty): tiny in bytes,
but a tree of thousands of entries is a denial of service on the host's reader. The host's
tar reader stops past 4096 entries (MAX_FILES) and reports ``output_limit``.
"""

SOURCE = """
import os
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        for seed in range(5000):
            os.makedirs(f"/out/seed_{seed}", exist_ok=True)
            open(f"/out/seed_{seed}/test_probs.npy", "wb").close()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_many_output_files_are_an_output_limit(hostile):
    run = hostile(SOURCE)
    assert run.status == "output_limit", run.explain()
