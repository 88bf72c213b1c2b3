"""preflight(): each rejection (one line naming the fix) and each report (never a rejection)."""

from __future__ import annotations

import textwrap

import pytest

from agent.assembler import preflight

GOOD = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""


def _check(source: str):
    return preflight(textwrap.dedent(source), "model.py")


def _rejected(source: str) -> str:
    result = _check(source)
    assert not result.ok
    assert result.message and "\n" not in result.message
    return result.message


def test_a_plain_model_passes_with_nothing_to_report():
    result = _check(GOOD)
    assert result.ok and result.message == ""
    assert (result.class_names, result.suspicious_imports, result.suspicious_calls) == (["Model"], [], [])


def test_a_syntax_error_names_the_line():
    message = _rejected("import torch.nn as nn\n\nclass Model(nn.Module:\n    pass\n")
    assert message.startswith("syntax error in model.py at line 3")


def test_null_bytes_cannot_be_parsed():
    assert "null bytes" in _rejected("x = 1\0\n")


def test_no_class_at_all():
    assert _rejected("import torch\nx = torch.zeros(1)\n") == (
        "model.py defines no class; define class Model(nn.Module) or name a factory as model.py:NAME")


def test_classes_but_no_module():
    assert "no nn.Module subclass; write class Model(nn.Module)" in _rejected("class Helper:\n    pass\n")


def test_two_candidate_classes_without_a_model():
    source = GOOD.replace("class Model", "class Net") + GOOD.replace("class Model", "class Other")
    message = _rejected(source)
    assert message == ("model.py defines 2 nn.Module classes that no other class uses (Net, Other); "
                       "name the model as model.py:NAME, e.g. model.py:Net")


@pytest.mark.parametrize("base", ["nn.Module", "torch.nn.Module", "Module", "pl.LightningModule"])
def test_a_single_module_class_of_any_name_is_the_model(base):
    result = _check(GOOD.replace("class Model(nn.Module)", f"class Net({base})"))
    assert result.ok, result.message


def test_a_class_named_model_wins_over_helper_modules():
    helper = "\n\nclass _Block(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
    assert _check(GOOD + helper).ok


def test_missing_forward():
    message = _rejected(GOOD.replace("def forward", "def predict"))
    assert message == "Model defines no forward(); add forward(self, x) returning logits (batch, n_classes)"


def test_forward_from_a_base_in_the_file_counts():
    source = GOOD.replace("class Model(nn.Module)", "class Base(nn.Module)") + "\n\nclass Model(Base):\n    pass\n"
    assert _check(source).ok


def test_forward_from_a_base_the_file_does_not_define_is_given_the_benefit_of_the_doubt():
    assert _check("import torch.nn as nn\n\n\nclass Model(nn.Sequential):\n    pass\n").ok


@pytest.mark.parametrize(
    ("signature", "names"),
    [("self, depth", "depth"), ("self, a, b=1, *, c", "a, c"), ("self, /, width", "width")],
)
def test_required_constructor_arguments(signature, names):
    message = _rejected(GOOD.replace("self, width: int = 16", signature))
    flags = " ".join(f"--model-arg {n}=VALUE" for n in names.split(", "))
    assert message.startswith(f"Model requires {names} (signature Model(")
    assert message.endswith(f"; pass {flags}")


@pytest.mark.parametrize("signature", ["self", "self, *args, **kwargs", "self, *, width=3", "self, a=1, /"])
def test_constructors_callable_without_arguments_pass(signature):
    assert _check(GOOD.replace("self, width: int = 16", signature)).ok


def test_a_model_bound_by_assignment_is_left_to_the_runner():
    source = GOOD.replace("class Model", "class Net") + GOOD.replace("class Model", "class Other") + "\nModel = Net\n"
    assert _check(source).ok


def test_a_model_defined_under_a_module_level_if_is_found():
    source = "import torch.nn as nn\n\nif True:\n" + textwrap.indent(GOOD.replace("def forward", "def fwd"), "    ")
    assert "defines no forward()" in _rejected(source)


def test_imports_outside_the_allowed_roots_are_reported_not_rejected():
    result = _check("import os\nimport sklearn.svm\nfrom torch import nn\nfrom . import sibling\n" + GOOD)
    assert result.ok
    assert result.suspicious_imports == ["os", "sklearn"]


@pytest.mark.parametrize(
    ("code", "report"),
    [
        ("import os\nos.system('id')", "os.system at line 2"),
        ("import os as o\no.execv('/bin/sh', [])", "os.execv at line 2"),
        ("from os import system as run\nrun('id')", "os.system at line 2"),
        ("import subprocess\nsubprocess.run(['id'])", "subprocess.run at line 2"),
        ("import socket\nsocket.socket()", "socket.socket at line 2"),
        ("import ctypes\nctypes.CDLL(None)", "ctypes.CDLL at line 2"),
        ("eval('1')", "eval() at line 1"),
        ("exec('x = 1')", "exec() at line 1"),
        ("__import__('os')", "__import__() at line 1"),
        ("import importlib\nimportlib.import_module('os')", "importlib.import_module at line 2"),
        ("open('/etc/passwd')", "open('/etc/passwd') at line 1"),
        ("open('/tmp/../etc/shadow', 'w')", "open('/tmp/../etc/shadow') at line 1"),
        ("import pathlib\npathlib.Path('/out/x.npy')", "pathlib.Path('/out/x.npy') at line 2"),
    ],
)
def test_hostile_calls_are_reported_not_rejected(code, report):
    result = _check(code + "\n" + GOOD)
    assert result.ok, result.message
    assert result.suspicious_calls == [report]


@pytest.mark.parametrize(
    "code",
    ["open('/tmp/scratch.bin', 'wb')", "open('relative.txt')", "print(len([1]))", "import torch\ntorch.zeros(3)",
     "def eval(x):\n    return x\neval(1)"],
)
def test_ordinary_calls_are_not_reported(code):
    assert _check(code + "\n" + GOOD).suspicious_calls == []


def test_the_same_call_on_one_line_is_reported_once_and_in_source_order():
    code = "import os\nos.system('a'); os.system('b')\neval('2')\nos.system('c')"
    assert _check(code + "\n" + GOOD).suspicious_calls == [
        "os.system at line 2", "eval() at line 3", "os.system at line 4"]


def test_a_rejection_still_lists_the_classes_it_saw():
    result = _check(GOOD.replace("def forward", "def predict"))
    assert result.class_names == ["Model"]
