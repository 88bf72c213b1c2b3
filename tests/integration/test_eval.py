"""`research-agent eval` end to end on the real engine: the report, exit codes, failure statuses."""

from __future__ import annotations

import json
import textwrap

from tests.conftest import run_cli

EXIT_OK, EXIT_MODEL_FAILED = 0, 3

MLP = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def _with_forward(body: str, imports: str = "") -> str:
    """A tiny linear model whose forward runs ``body`` (indented 8) before returning logits."""
    return f"""
import torch.nn as nn
{imports}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
{textwrap.indent(textwrap.dedent(body), " " * 8)}
        return self.fc(x.flatten(1))
"""


def _one_json_document(stdout: str) -> dict:
    doc, end = json.JSONDecoder().raw_decode(stdout)
    assert stdout[end:].strip() == "", "stdout holds more than one JSON document"
    return doc


def test_mlp_on_digits_is_ok_with_two_seeds(eval_model):
    result = eval_model(MLP, "--seeds", "2", "--epochs", "3", "--lr", "0.01", timeout=300)
    assert result.code == EXIT_OK, result.stderr
    report = _one_json_document(result.stdout)
    assert report["schema_version"] == 1
    assert report["status"] == "ok", report["message"]
    # Learning-dynamics flags (overfitting, not_converged) are advisory; a healthy run has no NaN.
    assert not {"nan_loss", "diverged", "constant_loss"} & set(report["flags"])
    assert [s["seed"] for s in report["seeds"]] == [0, 1]
    for seed in report["seeds"]:
        assert seed["status"] == "ok"
        assert 0.0 <= seed["metrics"]["accuracy"] <= 1.0
        assert len(seed["curves"]["train_loss"]) == 3
    acc = report["aggregate"]["accuracy"]
    assert acc["n"] == 2
    assert acc["mean"] > 0.85
    assert acc["ci_low"] < acc["mean"] < acc["ci_high"]
    ds = report["dataset"]
    assert ds["name"] == "digits" and ds["n_classes"] == 10
    assert ds["n_train"] > 0 and ds["n_test"] > 0
    box = report["sandbox"]
    assert box["exit_code"] == 0 and not box["oom_killed"] and not box["we_killed"]


def test_human_output_mentions_status_and_accuracy(sandbox_image, agent_home, tmp_path):
    model = tmp_path / "model.py"
    model.write_text(textwrap.dedent(MLP))
    result = run_cli("eval", str(model), "--seeds", "1", "--epochs", "2", "--lr", "0.01",
                     home=agent_home, timeout=300)
    assert result.code == EXIT_OK, result.stderr
    first = result.stdout.lstrip().splitlines()[0]
    assert first.startswith("ok:"), result.stdout
    assert "accuracy" in result.stdout


def test_wrong_output_shape_is_invalid_submission(eval_model):
    source = """
    import torch.nn as nn


    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(64, 5)  # digits has 10 classes

        def forward(self, x):
            return self.fc(x.flatten(1))
    """
    result = eval_model(source, "--seeds", "1", "--epochs", "1", timeout=300)
    assert result.code == EXIT_MODEL_FAILED, result.stderr
    report = result.report
    assert report["status"] == "invalid_submission"
    assert "shape" in report["message"]


def test_exception_in_training_forward_is_crashed(eval_model):
    # The summary pass uses a batch of 2; training batches are larger.
    body = """
    if x.shape[0] > 2:
        raise ValueError("boom in the training forward")
    """
    result = eval_model(_with_forward(body), "--seeds", "1", "--epochs", "1", timeout=300)
    assert result.code == EXIT_MODEL_FAILED, result.stderr
    report = result.report
    assert report["status"] == "crashed"
    assert "boom in the training forward" in report["message"]
    assert "ValueError" in report["sandbox"]["stderr_tail"]
    assert report["aggregate"] == {}


def test_os_exit_zero_in_training_is_invalid_output(eval_model):
    body = """
    if x.shape[0] > 2:
        os._exit(0)
    """
    result = eval_model(_with_forward(body, "import os"), "--seeds", "1", "--epochs", "1",
                        timeout=300)
    assert result.code == EXIT_MODEL_FAILED, result.stderr
    report = result.report
    assert report["status"] == "invalid_output"
    assert report["sandbox"]["exit_code"] == 0
    assert report["aggregate"] == {}


def test_system_exit_zero_is_not_ok(eval_model):
    body = """
    if x.shape[0] > 2:
        raise SystemExit(0)
    """
    result = eval_model(_with_forward(body), "--seeds", "1", "--epochs", "1", timeout=300)
    assert result.code == EXIT_MODEL_FAILED, result.stderr
    report = result.report
    assert report["status"] not in ("ok", "infra_error")
    assert all(s["metrics"] == {} for s in report["seeds"])
