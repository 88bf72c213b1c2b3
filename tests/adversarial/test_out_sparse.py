"""2 GB of output that fits in /out: four sparse 500 MiB files. They take no tmpfs blocks,
so nothing inside stops them, the runner finishes and signals done; but ``tar`` reads them
back as 2 GB of zeros. The host reads /out with a byte cap (MAX_OUTPUT_BYTES, 300 MiB),
stops at the cap and reports ``output_limit``, without holding 2 GB in memory.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        for i in range(4):
            with open(f"/out/sparse-{i}.bin", "wb") as fh:
                fh.truncate(500 * 1024 * 1024)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_sparse_output_past_the_read_cap_is_an_output_limit(hostile):
    run = hostile(SOURCE)
    assert run.status == "output_limit", run.explain()
