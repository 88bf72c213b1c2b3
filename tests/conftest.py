"""Shared fixtures. Docker tests need the real engine: in CI a missing engine is a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict:
        return json.loads(self.stdout)


def run_cli(*args: str, home: Path, timeout: float = 600, env: dict | None = None) -> CliResult:
    """Run ``python -m agent ARGS`` as a user would, in a subprocess."""
    full_env = os.environ | {"RESEARCH_AGENT_HOME": str(home)} | (env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env, cwd=REPO,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def agent_home(tmp_path_factory) -> Path:
    """One home (dataset cache) for the session so datasets are prepared once."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env(version="auto")
        client.ping()
    except docker.errors.DockerException as exc:
        message = f"Docker engine unreachable ({exc}); run `make engine`"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return client


@pytest.fixture(scope="session")
def sandbox_image(docker_client):
    """The current sandbox image; fails (never skips) when it is missing or stale."""
    from agent.sandbox import _image

    if not _image.is_current(docker_client):
        pytest.fail("sandbox image missing or stale; run `make image`", pytrace=False)
    return _image.resolve(docker_client)


@pytest.fixture
def eval_model(sandbox_image, agent_home, tmp_path):
    """Write model source to a file and ``research-agent eval`` it; returns the CliResult."""

    def _eval(source: str, *args: str, timeout: float = 600) -> CliResult:
        model = tmp_path / "model.py"
        model.write_text(textwrap.dedent(source))
        return run_cli("eval", str(model), "--json", *args, home=agent_home, timeout=timeout)

    return _eval


def pytest_collection_modifyitems(config, items):
    # Everything under tests/integration and tests/adversarial needs the engine.
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts or "adversarial" in parts:
            item.add_marker(pytest.mark.docker)
