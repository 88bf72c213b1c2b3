"""Trial limits: one set of defaults, the same for the Python API and the CLI."""

from __future__ import annotations

import pytest

from agent import records
from agent.records import SandboxLimits


@pytest.mark.parametrize(("cores", "expected"), [(16, 2.0), (2, 2.0), (1, 1.0), (None, 1.0)])
def test_the_cpu_default_is_two_cores_or_fewer_on_a_smaller_host(monkeypatch, cores, expected):
    monkeypatch.setattr(records.os, "cpu_count", lambda: cores)
    assert records.default_cpus() == expected
    assert SandboxLimits().cpus == expected  # the Python API's default is the CLI's


def test_the_other_defaults_are_the_named_constants():
    limits = SandboxLimits()
    assert limits.timeout_s == records.DEFAULT_TIMEOUT_S == 600.0
    assert limits.memory_bytes == records.DEFAULT_MEMORY_BYTES == 2 * 1024**3
    assert records.DEFAULT_MEMORY == "2g"  # the CLI's spelling of the same size


@pytest.mark.parametrize(
    "field", [{"timeout_s": records.MAX_TIMEOUT_S + 1}, {"memory_bytes": records.MIN_MEMORY_BYTES - 1}, {"cpus": 0}]
)
def test_limits_outside_the_bounds_are_refused(field):
    with pytest.raises(ValueError):
        SandboxLimits(**field)
