"""Model files in the shapes public projects write them, evaluated end to end in the real sandbox.

The files live in ``tests/integration/models/``: a network with its building blocks and no
``Model`` class, factories, a constructor that needs an argument, ``num_classes`` filled from
the dataset, torchvision's ResNet-18, a torchvision import at the top, ``nn.LazyLinear`` and a
``log_softmax`` head.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

MODELS = Path(__file__).resolve().parent / "models"
EXIT_OK, EXIT_USAGE, EXIT_MODEL_FAILED = 0, 2, 3
QUICK = ("--seeds", "1", "--epochs", "2", "--lr", "0.01")
# Small 3-channel images: the offline image sets are 1-channel.
RGB_4_CLASSES = "synthetic:samples=240,classes=4,image=3x16x16"


@pytest.fixture
def eval_file(sandbox_image, agent_home):
    def _eval(ref: str, *args: str, timeout: float = 600):
        return run_cli("eval", str(MODELS / ref), "--json", *args, home=agent_home, timeout=timeout)

    return _eval


def _ok(result) -> dict:
    assert result.code == EXIT_OK, result.stderr[-2000:]
    report = result.report
    assert report["status"] == "ok", report["message"]
    return report


def test_a_network_with_its_building_blocks_and_no_model_class(eval_file):
    report = _ok(eval_file("mobilenet.py", *QUICK))
    entry = report["model"]["entry"]
    assert entry["name"] == "MobileNet" and entry["kind"] == "class"
    assert "no other class in the file uses" in entry["chosen"] and "Block" in entry["chosen"]
    # digits is 1-channel; the file's default is 3: only the filled value lets it run at all.
    assert entry["filled_from_dataset"] == {"num_classes": 10, "in_channels": 1}


def test_num_classes_is_filled_from_the_dataset(eval_file):
    report = _ok(eval_file("mobilenet.py", "--dataset", RGB_4_CLASSES, *QUICK))
    assert report["model"]["entry"]["filled_from_dataset"] == {"num_classes": 4, "in_channels": 3}
    assert report["model_summary"]["output_shape"] == [2, 4]


def test_an_argument_the_user_gives_is_not_overridden_by_the_dataset(eval_file):
    result = eval_file("mobilenet.py", "--model-arg", "num_classes=7", *QUICK)
    assert result.code == EXIT_MODEL_FAILED
    assert result.report["status"] == "invalid_submission"
    assert "expected (2, 10)" in result.report["message"]
    assert result.report["model"]["entry"]["args"] == {"num_classes": 7}


def test_a_factory_named_with_entry(eval_file):
    report = _ok(eval_file("resnet.py:ResNet8", *QUICK))
    entry = report["model"]["entry"]
    assert (entry["name"], entry["kind"], entry["chosen"]) == ("ResNet8", "factory", "given as resnet.py:ResNet8")


def test_a_class_that_needs_a_constructor_argument(eval_file):
    report = _ok(eval_file("vgg.py", "--model-arg", "vgg_name=VGG11", *QUICK))
    assert report["model"]["entry"]["args"] == {"vgg_name": "VGG11"}
    assert report["model"]["entry"]["signature"] == "VGG(vgg_name)"


def test_a_missing_constructor_argument_is_one_line_before_any_container(eval_file):
    result = eval_file("vgg.py", *QUICK)
    assert result.code == EXIT_MODEL_FAILED
    assert result.report["status"] == "invalid_submission"
    assert result.report["message"] == ("VGG requires vgg_name (signature VGG(vgg_name)); "
                                        "pass --model-arg vgg_name=VALUE")
    assert "sandbox" not in result.report or not result.report["sandbox"].get("runs")


def test_an_unknown_argument_names_the_parameter_and_the_signature(eval_file):
    result = eval_file("vgg.py", "--model-args", '{"vgg_name": "VGG11", "depth": 3}', *QUICK)
    assert result.code == EXIT_MODEL_FAILED
    assert result.report["message"] == "VGG takes no parameter 'depth'; its signature is VGG(vgg_name)"


def test_a_bad_variant_name_fails_inside_the_sandbox_as_the_model_s_crash(eval_file):
    result = eval_file("vgg.py", "--model-arg", "vgg_name=VGG99", *QUICK)
    assert result.code == EXIT_MODEL_FAILED
    assert result.report["status"] == "crashed"
    assert "KeyError: 'VGG99'" in result.report["message"]
    assert "runner_error" not in result.report["flags"]


def test_torchvision_resnet18_from_a_factory_on_three_channel_images(eval_file):
    report = _ok(eval_file("tv_resnet.py:build", "--dataset", RGB_4_CLASSES, "--seeds", "1", "--epochs", "1",
                           "--batch-size", "32", timeout=900))
    assert report["model"]["entry"]["filled_from_dataset"] == {"num_classes": 4}
    assert report["model_summary"]["params_total"] > 11_000_000  # the real ResNet-18, 4-way head


def test_the_pytorch_examples_mnist_script_with_torchvision_at_the_top_and_a_log_softmax_head(eval_file):
    report = _ok(eval_file("mnist_example.py", "--seeds", "1", "--epochs", "4", "--lr", "0.005"))
    assert report["model"]["entry"]["name"] == "Net"
    # log-probabilities give the same softmax as logits: the scores are a trained model's
    assert report["aggregate"]["accuracy"]["mean"] > 0.8


def test_lazy_linear_is_materialized_before_parameters_are_counted(eval_file):
    report = _ok(eval_file("lazy.py", *QUICK))
    # Flatten(1x8x8) -> LazyLinear(64) -> LazyLinear(10): counted after the first forward
    assert report["model_summary"]["params_total"] == (64 * 64 + 64) + (64 * 10 + 10)
    assert report["aggregate"]["accuracy"]["mean"] > 0.5


def test_two_unrelated_roots_get_one_line_naming_both(eval_file):
    result = eval_file("two_nets.py", *QUICK)
    assert result.code == EXIT_MODEL_FAILED
    assert result.report["status"] == "invalid_submission"
    assert result.report["message"] == (
        "two_nets.py defines 2 nn.Module classes that no other class uses (TinyMLP, TinyCNN); "
        "name the model as two_nets.py:NAME, e.g. two_nets.py:TinyMLP")
    named = _ok(eval_file("two_nets.py:TinyCNN", *QUICK))
    assert named["model"]["entry"]["name"] == "TinyCNN"


def test_an_entry_the_file_lacks_lists_the_candidates(eval_file):
    result = eval_file("resnet.py:ResNet18", *QUICK)
    assert result.code == EXIT_MODEL_FAILED
    assert result.report["message"] == ("resnet.py has no class or function named ResNet18; candidates: "
                                        "BasicBlock, Bottleneck, ResNet, ResNet8, ResNet14; use resnet.py:NAME")


def test_a_missing_model_file_is_a_usage_error(sandbox_image, agent_home, tmp_path):
    result = run_cli("eval", str(tmp_path / "nope.py:Net"), home=agent_home)
    assert result.code == EXIT_USAGE
    assert "no such model file" in result.stderr and "Traceback" not in result.stderr


def test_quick_evaluator_takes_the_entry_form_too(sandbox_image, agent_home):
    quick = Path(sys.executable).parent / "quick-evaluator"
    proc = subprocess.run([str(quick), str(MODELS / "resnet.py:ResNet8"), "--dataset", "digits",
                           "--num-seeds", "1", "--epochs", "1", "--json"],
                          capture_output=True, text=True, timeout=600, cwd=REPO,
                          env=os.environ | {"RESEARCH_AGENT_HOME": str(agent_home)})
    assert proc.returncode == EXIT_OK, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["model"]["entry"]["name"] == "ResNet8"


def test_the_python_api_takes_a_class_object(sandbox_image, agent_home):
    import agent
    from tests.integration.models.resnet import ResNet8

    report = agent.evaluate(ResNet8, agent.EvalConfig(seeds=1, epochs=1), home=agent_home)
    assert report.ok, report.message
    assert report.model.entry["name"] == "ResNet8"
    assert report.model.path.endswith("resnet.py")
