"""Fixtures for the dataset tests. None of them may touch the network; modules opt in with
``pytestmark = pytest.mark.usefixtures(...)`` (nothing here is autouse)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


@pytest.fixture
def no_network(monkeypatch):
    """Every TCP/UDP connect fails (Unix sockets still work): a load that passes read local files only."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(real):
        def connect(self, address, *args):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise ConnectionRefusedError(f"test: no network (tried {address!r})")
            return real(self, address, *args)

        return connect

    monkeypatch.setattr(socket.socket, "connect", refuse(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse(real_connect_ex))


@pytest.fixture
def hf_offline(tmp_path, monkeypatch) -> Path:
    """Hugging Face libraries offline, their caches in a temp HF_HOME; returns that home.

    ``datasets`` and ``huggingface_hub`` read HF_HUB_OFFLINE/HF_DATASETS_OFFLINE/HF_HOME once, at
    import, into module globals they consult at call time. So: set the environment first (for an
    import that happens now or later), then import and patch the globals (for an earlier import).
    """
    home = tmp_path / "hf_home"
    env = {"HF_HOME": home, "HF_DATASETS_CACHE": home / "datasets", "HF_HUB_CACHE": home / "hub",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    for key in ("RESEARCH_AGENT_HF_MIRROR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    datasets = pytest.importorskip("datasets")
    from huggingface_hub import constants

    for module in (datasets.config, constants):
        monkeypatch.setattr(module, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_CACHE_HOME", str(home))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    return home
