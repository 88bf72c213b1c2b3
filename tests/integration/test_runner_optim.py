"""The runner's optimizer step, in the sandbox image's torch: the same parameters, learning rates
and curves as torch's own ``opt.step()``, without importing ``torch._dynamo`` (0.9 s of every
container's start on 2 cores)."""

from __future__ import annotations

import json

# Runs in the image: every optimizer and schedule the job allows, trained by the runner's own
# train_seed twice per combination (its stepper, then torch's opt.step); dynamo is read before the
# first opt.step() runs, since that imports it.
PROBE = r"""
import json, sys, warnings
warnings.simplefilter("error")  # the LR schedule warns when it thinks opt.step() was skipped
import torch, torch.nn as nn
from runner import train
from runner.protocol import PROTOCOL_VERSION, JobSpec

def one(optimizer, schedule, patience):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(96, 12), torch.arange(96) % 3
    data = {"train_x": x[:64], "train_y": y[:64], "val_x": x[64:], "val_y": y[64:]}
    model = nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    job = JobSpec(protocol_version=PROTOCOL_VERSION, seeds=[0], epochs=4, batch_size=16, optimizer=optimizer,
                  lr=0.05, n_classes=3, input_shape=[12], deadline_s=60, threads=1, device="cpu",
                  weight_decay=1e-3, schedule=schedule, step_size=1, grad_clip=1.0,
                  early_stopping_patience=patience)
    result = train.train_seed(model, job, data, gen, torch.device("cpu"))
    return {"state": {k: v.tolist() for k, v in model.state_dict().items()},
            "lr": result.curves.lr, "train_loss": result.curves.train_loss, "val_loss": result.curves.val_loss}

combos = [(o, s, p) for o in ("adam", "adamw", "sgd") for s in ("none", "cosine", "step") for p in (None, 2)]
ours = {repr(c): one(*c) for c in combos}
dynamo = "torch._dynamo" in sys.modules
train.stepper = lambda opt: opt.step  # torch's own step, with its guard
torchs = {repr(c): one(*c) for c in combos}
print(json.dumps({"dynamo": dynamo, "after_torch_step": "torch._dynamo" in sys.modules,
                  "ours": ours, "torchs": torchs}))
"""


def test_the_runner_steps_as_torch_does_without_dynamo(docker_client, sandbox_image):
    raw = docker_client.containers.run(
        sandbox_image.id, ["-c", PROBE], entrypoint="python", network_mode="none", remove=True,
        environment={"PYTHONPATH": "/opt/runner"},
    )
    out = json.loads(raw.decode().strip().splitlines()[-1])
    assert not out["dynamo"]
    assert out["after_torch_step"]  # the probe can tell: torch's own step does import it
    assert len(out["ours"]) == 18
    for combo, ours in out["ours"].items():
        torchs = out["torchs"][combo]
        assert ours == torchs, combo  # bit for bit: parameters, buffers, learning rates, losses
        assert len(set(ours["lr"])) > 1 or "'none'" in combo, combo  # the schedules did step
