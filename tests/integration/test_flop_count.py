"""The runner's FLOP count, in the sandbox image's torch: equal to ``FlopCounterMode``'s, without
``torch._dynamo`` (whose import was 0.65 s of every trial's start)."""

from __future__ import annotations

import json

# Runs in the image (python, torch and the runner as the sandbox has them), one model file per
# argument: our count and whether dynamo was imported by then, then FlopCounterMode's count.
PROBE = r"""
import importlib.util, json, sys
import torch
from runner.summary import flops_per_example
from torch.utils.flop_counter import FlopCounterMode

out, built = [], []
for path in sys.argv[1:]:  # ours for every model first: FlopCounterMode imports dynamo
    spec = importlib.util.spec_from_file_location("m", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model, x = mod.build()
    ours = flops_per_example(model, x)
    out.append({"path": path, "ours": ours, "dynamo": "torch._dynamo" in sys.modules, "training": model.training})
    built.append((model, x))
for row, (model, x) in zip(out, built):
    ref = FlopCounterMode(display=False)
    model.eval()  # as ours counts: the encoder's eval-mode fast path is a different op
    with ref, torch.no_grad():
        model(x)
    row["ref"] = ref.get_total_flops()
print(json.dumps(out))
"""

# Small models shaped like the public ones: convolutions with batch norm and a residual add, a
# transformer encoder (its fused attention path), and functional matmuls with an einsum.
SOURCES = {
    "resnet_like.py": '''
import torch, torch.nn as nn
class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                               nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
    def forward(self, x):
        return torch.relu(x + self.a(x))
def build():
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), Block(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(16, 10))
    return model, torch.randn(1, 1, 8, 8)
''',
    "encoder.py": '''
import torch, torch.nn as nn
def build():
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
    model = nn.Sequential(nn.Linear(8, 32), nn.TransformerEncoder(layer, 2), nn.Flatten(), nn.Linear(8 * 32, 5))
    return model, torch.randn(1, 8, 8)
''',
    "functional.py": '''
import torch, torch.nn as nn
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(20, 30))
        self.v = nn.Parameter(torch.randn(30, 3))
    def forward(self, x):
        h = torch.nn.functional.gelu(x @ self.w)
        return torch.einsum("bi,io->bo", h, self.v)
def build():
    return Model(), torch.randn(1, 20)
''',
}


def test_the_runner_counts_flops_as_flop_counter_mode_does_without_dynamo(docker_client, sandbox_image, tmp_path):
    for name, source in SOURCES.items():
        (tmp_path / name).write_text(source)
        (tmp_path / name).chmod(0o644)
    tmp_path.chmod(0o755)  # the image's user reads them
    paths = [f"/models/{name}" for name in SOURCES]
    raw = docker_client.containers.run(
        sandbox_image.id, ["-c", PROBE, *paths], entrypoint="python", network_mode="none", remove=True,
        volumes={str(tmp_path): {"bind": "/models", "mode": "ro"}}, environment={"PYTHONPATH": "/opt/runner"},
    )
    results = json.loads(raw.decode().strip().splitlines()[-1])
    assert [r["path"] for r in results] == paths
    for r in results:
        assert r["ours"] is not None and r["ours"] > 0, r
        assert r["ours"] == r["ref"], r
        assert not r["dynamo"], r  # read before FlopCounterMode first ran
        assert r["training"], r  # the model is handed back in training mode
