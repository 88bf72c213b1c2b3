"""test_probs.npy as a pickled object array whose elements run a shell command when
unpickled (``__reduce__`` -> ``os.system("touch <host marker>")``). The host loads with
``allow_pickle=False``: it refuses the file (``invalid_output``) and the command never
runs on the host (the marker file must not exist).
"""

SOURCE = """
import os
import numpy
import torch.nn as nn

MARKER = {marker!r}


class Payload:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


_real_save = numpy.save


def save(path, arr, *args, **kwargs):
    if str(path).endswith("test_probs.npy"):
        payload = numpy.array([Payload() for _ in range(len(arr))], dtype=object)
        return _real_save(path, payload, allow_pickle=True)
    return _real_save(path, arr, *args, **kwargs)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        numpy.save = save
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_pickled_predictions_are_refused(hostile, tmp_path):
    marker = tmp_path / "pwned-by-pickle"
    run = hostile(SOURCE.format(marker=str(marker)))
    assert run.status == "invalid_output", run.explain()
    assert "pickle" in run.message.lower(), run.explain()
    assert not marker.exists(), "the host unpickled the model's payload"
