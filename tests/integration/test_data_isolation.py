"""Datasets in the sandbox: test labels are unreachable; a real CNN learns Fashion-MNIST."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from agent.data import prepare
from tests.conftest import IN_CI

SEARCHER = """
import hashlib
from pathlib import Path
import os

import numpy as np
import torch.nn as nn

SECRET = "{digest}"  # sha256 of the hidden test labels (int64 bytes)
N_TEST = {n_test}


def _found():
    hits = []
    for root in ("/data", "/job", "/tmp", "/out", "/opt", "/etc", "/"):
        for base, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not (base == "/" and d in ("proc", "sys", "dev"))]
            for name in files:
                path = os.path.join(base, name)
                try:
                    if os.path.getsize(path) > 50_000_000 or not os.path.isfile(path):
                        continue
                    raw = open(path, "rb").read()
                except OSError:
                    continue
                if hashlib.sha256(raw).hexdigest() == SECRET:
                    hits.append(path)
                if name.endswith(".npy"):
                    try:
                        arr = np.load(path, allow_pickle=False)
                    except Exception:
                        continue
                    if arr.ndim == 1 and len(arr) == N_TEST and arr.dtype.kind in "iu":
                        if hashlib.sha256(arr.astype(np.int64).tobytes()).hexdigest() == SECRET:
                            hits.append(path)
    return hits


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        hits = _found()
        if hits:
            raise RuntimeError(f"test labels reachable at {{hits}}")
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""

CNN = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.net(x)
"""


def test_test_labels_are_not_reachable_from_the_container(eval_model, agent_home):
    data = prepare("digits", agent_home / "cache" / "datasets")
    labels = data.test_labels().astype(np.int64)
    assert not (data.public_dir / "test_y.npy").exists()
    digest = hashlib.sha256(labels.tobytes()).hexdigest()
    # The searcher must really be able to spot labels: its own hash of the public val labels works.
    result = eval_model(SEARCHER.format(digest=digest, n_test=len(labels)), "--seeds", "1", "--epochs", "1")
    assert result.code == 0, result.report["message"]
    val = data.val_labels().astype(np.int64)
    control = eval_model(SEARCHER.format(digest=hashlib.sha256(val.tobytes()).hexdigest(), n_test=len(val)),
                         "--seeds", "1", "--epochs", "1")
    assert control.report["status"] == "crashed" and "/data/val_y.npy" in control.report["message"]


def test_cnn_on_a_fashion_mnist_subset_learns(eval_model):
    if not Path("/usr/share/datasets/fashion-mnist").is_dir() and not IN_CI:
        pytest.skip("dataset-fashion-mnist is not installed (make test installs it)")
    result = eval_model(CNN, "--dataset", "fashion-mnist", "--subset-size", "3000", "--epochs", "2",
                        "--seeds", "1", "--lr", "0.002", timeout=900)
    assert result.code == 0, result.stderr[-2000:]
    report = result.report
    assert report["dataset"]["n_test"] == 10_000  # the full test set, not a subset
    assert report["dataset"]["n_train"] + report["dataset"]["n_val"] == 3000
    assert report["aggregate"]["accuracy"]["mean"] > 0.70
