"""Rendered models train in the real sandbox: one spec per image family on digits (1x8x8, 10
classes), through `research-agent eval` like any submitted file."""

from __future__ import annotations

import json

import pytest

from agent.assembler import preflight, render
from agent.specs import CNNSpec, DataShape, MLPSpec, ResNetSpec

DIGITS = DataShape(modality="image", input_shape=(1, 8, 8), n_classes=10)
SPECS = [MLPSpec(), CNNSpec(), ResNetSpec(stages=3)]  # resnet: 8x8 -> 4x4 -> 2x2


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.family)
def test_a_rendered_image_model_trains_in_the_sandbox(eval_model, spec):
    source = render(spec, DIGITS)
    assert preflight(source).ok
    result = eval_model(source, "--seeds", "1", "--epochs", "1", timeout=300)
    report = json.loads(result.stdout)
    assert report["status"] == "ok", report["message"]
    assert result.code == 0, result.stderr
    assert report["dataset"]["name"] == "digits" and report["dataset"]["n_classes"] == 10
    assert [s["status"] for s in report["seeds"]] == ["ok"]
