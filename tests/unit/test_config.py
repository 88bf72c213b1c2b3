"""Settings are validated at the edge and errors name the flag."""

import pytest

from agent.config import EvalConfig, parse_gpus, parse_memory, validated
from agent.errors import ConfigError
from agent.records import SandboxLimits


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1g", 1024**3), ("512m", 512 * 1024**2), ("1.5GiB", int(1.5 * 1024**3)),
     ("2048M", 2048 * 1024**2), ("134217728", 134217728), (" 2 g ", 2 * 1024**3)],
)
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "", "1x", "-1g", "1 gigabyte", "g1"])
def test_parse_memory_rejects_with_flag_name(text):
    with pytest.raises(ConfigError, match="--memory"):
        parse_memory(text)


def test_parse_memory_rejects_tiny_limits():
    with pytest.raises(ConfigError, match="64m"):
        parse_memory("1m")


def test_parse_gpus():
    assert parse_gpus(None) == []
    assert parse_gpus("all") == ["all"]
    assert parse_gpus("0, 1") == ["0", "1"]
    with pytest.raises(ConfigError, match="--gpus"):
        parse_gpus("0;rm -rf /")


def test_validated_names_the_field():
    with pytest.raises(ConfigError, match="--timeout-s"):
        validated(SandboxLimits, timeout_s=-1)
    with pytest.raises(ConfigError, match="--bogus"):
        validated(EvalConfig, bogus=1)  # extra="forbid"


def test_model_ref_splits_an_entry_off_an_existing_file(tmp_path):
    from agent.config import parse_model_ref

    model = tmp_path / "resnet.py"
    model.write_text("")
    assert parse_model_ref(str(model)) == (model, None)
    assert parse_model_ref(f"{model}:ResNet18") == (model, "ResNet18")
    odd = tmp_path / "a:b.py"  # a file whose own name has a colon is that file
    odd.write_text("")
    assert parse_model_ref(str(odd)) == (odd, None)


@pytest.mark.parametrize(("ref", "needle"), [("missing.py", "no such model file: "),
                                             ("missing.py:Net", "no such model file: "),
                                             ("{model}:1bad", "is not a class or function name")])
def test_model_ref_errors_are_one_line(tmp_path, ref, needle):
    from agent.config import parse_model_ref

    model = tmp_path / "m.py"
    model.write_text("")
    with pytest.raises(ConfigError, match=needle):
        parse_model_ref(str(tmp_path / ref.format(model=model.name)) if "{" not in ref else ref.format(model=model))


def test_model_args_read_json_values_else_strings():
    from agent.config import parse_model_args

    assert parse_model_args(["vgg_name=VGG11", "depth=18", "widths=[1, 2]", "drop=0.1", "flag=true", "s=\"x\""],
                            '{"depth": 3, "extra": null}') == {
        "depth": 18, "extra": None, "vgg_name": "VGG11", "widths": [1, 2], "drop": 0.1, "flag": True, "s": "x"}


@pytest.mark.parametrize(("pairs", "as_json", "needle"),
                         [(["novalue"], None, "KEY=VALUE"), (["1x=2"], None, "KEY=VALUE"),
                          ([], "{bad", "not JSON"), ([], "[1]", "JSON object")])
def test_bad_model_args_name_the_flag(pairs, as_json, needle):
    from agent.config import parse_model_args

    with pytest.raises(ConfigError, match=needle):
        parse_model_args(pairs, as_json)
