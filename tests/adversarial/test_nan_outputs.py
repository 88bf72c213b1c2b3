"""Logits that are all NaN: training runs (with a NaN loss), and softmax turns them into NaN
probabilities that the runner saves. The host refuses non-finite predictions:
``invalid_output``.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x) * float("nan")
"""


def test_nan_predictions_are_invalid_output(hostile):
    run = hostile(SOURCE)
    assert run.status == "invalid_output", run.explain()
    assert "NaN" in run.message, run.explain()
