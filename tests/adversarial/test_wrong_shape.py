"""Predictions of the wrong shape: the model passes the runner's shape check (its forward
is honest) but patches ``numpy.save`` in the shared process so test_probs.npy holds 5
classes instead of 10. The host checks the shape itself: ``invalid_output``.
"""

SOURCE = """
import sys
import numpy
import torch.nn as nn

_real_save = numpy.save


def save(path, arr, *args, **kwargs):
    if str(path).endswith("test_probs.npy"):
        arr = arr[:, :5] / arr[:, :5].sum(1, keepdims=True)
    return _real_save(path, arr, *args, **kwargs)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        sys.modules["numpy"].save = save
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_wrong_shape_predictions_are_invalid_output(hostile):
    run = hostile(SOURCE)
    assert run.status == "invalid_output", run.explain()
    assert "shape" in run.message, run.explain()
