"""Growing one file past the 512 MiB file-size ulimit without writing it (a sparse
truncate, so the 256m tmpfs does not stop it first). CPython ignores SIGXFSZ, so the call
fails with EFBIG ("File too large") and the host reports ``resource_limit``.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        with open("/tmp/huge.bin", "wb") as fh:
            fh.truncate(1 << 30)

    def forward(self, x):
        return x
"""


def test_file_past_fsize_is_a_resource_limit(hostile):
    run = hostile(SOURCE)
    assert run.status == "resource_limit", run.explain()
    assert "File too large" in run.message, run.explain()
