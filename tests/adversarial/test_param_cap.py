"""A model that fits in memory but is over the runner's parameter cap (50M): 64M params.

The runner builds it once, counts, and rejects it with its "model rejected" exit code (65)
before any training: the host reports ``invalid_submission``.
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 8000), nn.Linear(8000, 8000),
                                 nn.Linear(8000, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_model_over_the_parameter_cap_is_rejected(hostile):
    run = hostile(SOURCE)
    assert run.status == "invalid_submission", run.explain()
    assert run.sandbox["exit_code"] == 65, run.explain()
    assert "parameters" in run.message
