"""Symlinks in /out: test_probs.npy points at a file on the *host* that holds perfectly
valid predictions, and /out also links to / and /etc/passwd. The container cannot see the
host path, so only a host that followed links while reading would find a valid file and
say ``ok``. The host reads /out as a tar stream in memory and keeps regular files only:
the links are dropped, the predictions are missing, status ``invalid_output``.
"""

import numpy as np

SOURCE = """
import os
import numpy
import torch.nn as nn

HOST_FILE = {host_file!r}
_real_save = numpy.save


def save(path, arr, *args, **kwargs):
    if str(path).endswith("test_probs.npy"):
        _real_save("/tmp/real_probs.npy", arr)
        os.symlink(HOST_FILE, path)
        return None
    return _real_save(path, arr, *args, **kwargs)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        numpy.save = save
        if not os.path.islink("/out/root"):  # the constructor runs once per seed and once more
            os.symlink("/", "/out/root")
            os.symlink("/etc/passwd", "/out/passwd")
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_symlinked_predictions_are_never_followed(hostile, tmp_path):
    host_file = tmp_path / "valid_probs.npy"
    # digits' test split has 450 rows of 10 classes; the shape is what would make it "valid".
    np.save(host_file, np.full((450, 10), 0.1, dtype=np.float32))
    run = hostile(SOURCE.format(host_file=str(host_file)))
    assert run.status == "invalid_output", run.explain()
    assert "missing" in run.message, run.explain()
