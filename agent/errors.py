"""The exception tree. Every error the agent raises on purpose is an ``AgentError``.

    AgentError                  exit 1: our side or the environment; one line, names the next step
    ├── UsageError              exit 2: the command line or its inputs are wrong
    │   └── ConfigError         a setting failed validation (names the field)
    ├── DatasetError            unknown or unpreparable dataset (close matches, or what to fetch)
    ├── SandboxError            Docker engine/API problems (mapped from docker.errors.* in
    │   │                       agent/sandbox/_docker.py only)
    │   └── ImageNotFoundError  the sandbox image is missing or stale
    ├── RegistryError           the run registry (sqlite3.Error is mapped in agent/registry)
    └── TrackingError           MLflow or TensorBoard: not installed, a bad URI, unreachable

A model that fails is not an error: it is a trial with a status (see ``records.TrialStatus``).
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "ConfigError",
    "DatasetError",
    "ImageNotFoundError",
    "RegistryError",
    "SandboxError",
    "TrackingError",
    "UsageError",
]


class AgentError(Exception):
    """Root of the agent's own errors. ``str(err)`` is the one line shown to the user."""

    exit_code = 1


class UsageError(AgentError):
    exit_code = 2


class ConfigError(UsageError):
    pass


class DatasetError(AgentError):
    """Unknown or unpreparable dataset (exit 1: one line with close matches or the fix)."""


class SandboxError(AgentError):
    pass


class ImageNotFoundError(SandboxError):
    pass


class RegistryError(AgentError):
    pass


class TrackingError(AgentError):
    """An experiment tracker cannot be written (exit 1). A run never fails because of one: the
    loop records the failure and goes on (``report._live``)."""
