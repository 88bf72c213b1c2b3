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
