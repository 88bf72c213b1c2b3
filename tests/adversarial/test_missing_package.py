"""``import sklearn``: a package the image does not have (it holds torch, torchvision, numpy, pillow and the stdlib).
Preflight reports the import as suspicious but does not reject it (it is not the
boundary); in the sandbox the import raises ModuleNotFoundError: ``crashed``, with the
error in the message.
"""

SOURCE = """
import sklearn  # noqa: F401
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_missing_package_is_a_crash(hostile):
    run = hostile(SOURCE)
    assert run.status == "crashed", run.explain()
    assert "ModuleNotFoundError" in run.message, run.explain()
    assert run.report["preflight"]["suspicious_imports"] == ["sklearn"]
