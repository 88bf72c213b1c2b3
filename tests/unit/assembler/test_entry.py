"""The model entry: which class or factory a file's model is, and the arguments it gets."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from agent.assembler import dataset_args, preflight
from agent.assembler._entry import bind_args, find_entry

MODELS = Path(__file__).resolve().parents[2] / "integration" / "models"
DIGITS = dataset_args(10, [1, 8, 8])


def _entry(source: str, given: str | None = None, filename: str = "model.py"):
    return find_entry(ast.parse(textwrap.dedent(source)), filename, given)


def _file(name: str, given: str | None = None, args: dict | None = None, available: dict | None = None):
    return preflight((MODELS / name).read_text(), name, given, args or {}, DIGITS if available is None else available)


NET = """
import torch.nn as nn

class {name}(nn.Module):
    def __init__(self{params}):
        super().__init__()
        {body}

    def forward(self, x):
        return x
"""


def _net(name: str, params: str = "", body: str = "pass") -> str:
    return NET.format(name=name, params=params, body=body)


def test_the_class_named_model_comes_first():
    entry = _entry(_net("Helper") + _net("Model", body="self.h = Helper()") + _net("Other"))
    assert (entry.name, entry.kind, entry.how) == ("Model", "class", "the class named Model")


def test_a_factory_named_model_is_the_model():
    entry = _entry(_net("Net") + _net("Other") + "\ndef Model():\n    return Net()\n")
    assert (entry.name, entry.kind) == ("Model", "factory")


def test_the_only_module_class_of_any_name():
    entry = _entry(_net("Net"))
    assert (entry.name, entry.how) == ("Net", "the only nn.Module class in the file")


def test_the_root_is_the_class_no_other_class_uses():
    result = _file("mobilenet.py")
    assert result.ok, result.message
    assert result.entry.name == "MobileNet" and result.entry.blocks == ("Block",)


def test_a_subclass_of_a_local_module_is_a_module_and_uses_its_base():
    entry = _entry(_net("Base") + "\nclass Wide(Base):\n    pass\n")
    assert entry.name == "Wide"


def test_two_roots_list_both_and_the_file_entry_form():
    message = _file("two_nets.py").message
    assert message == ("two_nets.py defines 2 nn.Module classes that no other class uses (TinyMLP, TinyCNN); "
                       "name the model as two_nets.py:NAME, e.g. two_nets.py:TinyMLP")


def test_an_ambiguous_file_suggests_its_factories():
    message = _file("resnet.py").message
    assert message.endswith("e.g. resnet.py:ResNet8 (factories: ResNet8, ResNet14)")
    assert "(BasicBlock, Bottleneck, ResNet)" in message


def test_a_helper_that_only_prints_is_not_a_factory():
    source = _net("A") + _net("B") + "\ndef test():\n    net = A()\n    print(net)\n"
    assert "factories" not in _entry(source)


def test_no_class_lists_the_functions():
    result = _file("tv_resnet.py")
    assert result.message == ("tv_resnet.py defines no class; define class Model(nn.Module) "
                              "or name a factory as tv_resnet.py:NAME (functions: build)")


@pytest.mark.parametrize(("given", "kind"), [("ResNet8", "factory"), ("ResNet", "class"), ("BasicBlock", "class")])
def test_a_given_entry_is_taken_as_is(given, kind):
    entry = _entry((MODELS / "resnet.py").read_text(), given, "resnet.py")
    assert (entry.name, entry.kind, entry.how) == (given, kind, f"given as resnet.py:{given}")


def test_a_given_entry_the_file_lacks_lists_the_candidates():
    message = _entry((MODELS / "resnet.py").read_text(), "ResNet18", "resnet.py")
    assert message == ("resnet.py has no class or function named ResNet18; "
                       "candidates: BasicBlock, Bottleneck, ResNet, ResNet8, ResNet14; use resnet.py:NAME")


def test_a_given_plain_class_is_refused():
    assert "not an nn.Module subclass" in _entry("class Config:\n    pass\n", "Config")


def test_a_given_name_bound_by_import_is_left_to_the_runner():
    entry = _entry("from torchvision.models import resnet18\n", "resnet18")
    assert (entry.kind, entry.signature) == ("unknown", None)


def test_signatures_render_like_python():
    entry = _entry(_net("Net", ", a, b=2, *args, c, d=(1, 2), **kw"))
    assert entry.signature.text == "Net(a, b=2, *args, c, d=(1, 2), **kw)"
    assert entry.signature.required == ("a", "c")


def test_a_class_without_its_own_init_has_nn_module_s():
    entry = _entry("import torch.nn as nn\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n")
    assert entry.signature.text == "Net()"


def test_an_init_from_a_base_the_file_does_not_define_is_unknown():
    entry = _entry("import torch.nn as nn\n\nclass Net(nn.Sequential):\n    pass\n")
    assert entry.signature is None
    assert bind_args(entry, {"x": 1}, DIGITS) == ({"x": 1}, {})  # passed through; the runner binds


def test_dataset_values_fill_the_parameters_the_signature_names():
    result = _file("mobilenet.py", available=dataset_args(4, [3, 16, 16]))
    assert result.filled == {"num_classes": 4, "in_channels": 3}
    assert result.model_args == {"num_classes": 4, "in_channels": 3}


def test_a_user_argument_wins_over_the_dataset():
    result = _file("mobilenet.py", args={"num_classes": 7})
    assert result.model_args == {"num_classes": 7, "in_channels": 1} and result.filled == {"in_channels": 1}


def test_channels_are_filled_only_for_images():
    assert dataset_args(3, [4]) == {"num_classes": 3, "n_classes": 3}
    assert dataset_args(2, [3, 32, 32])["in_chans"] == 3


def test_var_keyword_accepts_any_name_but_fills_none():
    entry = _entry(_net("Net", ", **kwargs"))
    assert bind_args(entry, {"depth": 3}, DIGITS) == ({"depth": 3}, {})


def test_a_required_argument_missing():
    assert _file("vgg.py").message == "VGG requires vgg_name (signature VGG(vgg_name)); pass --model-arg vgg_name=VALUE"


def test_an_unknown_argument():
    message = _file("vgg.py", args={"vgg_name": "VGG11", "depht": 3}).message
    assert message == "VGG takes no parameter 'depht'; its signature is VGG(vgg_name)"


def test_a_positional_only_parameter_cannot_be_given_by_name():
    entry = _entry(_net("Net", ", width, /"))
    assert "positional-only" in bind_args(entry, {"width": 3}, {})
    assert "positional-only width" in bind_args(entry, {}, {})


def test_the_report_block_says_what_was_chosen_and_filled():
    result = _file("mobilenet.py")
    assert result.entry.record({}, result.filled) == {
        "name": "MobileNet", "kind": "class",
        "chosen": "the one nn.Module class no other class in the file uses (blocks: Block)",
        "signature": "MobileNet(num_classes=10, in_channels=3)", "args": {},
        "filled_from_dataset": {"num_classes": 10, "in_channels": 1}}
