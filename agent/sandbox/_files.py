"""The files the sandbox needs that ship with the package, and how the package was installed.

pyproject.toml maps ``seccomp/`` and ``sandbox_image/`` into the wheel as ``agent._bundle.*``; they
are read here through importlib.resources, so a checkout (an editable install) and an installed
wheel give the same bytes, and the image's source hash agrees between them. The image is built
from a copy of its context in the user's cache: nothing is ever written inside site-packages.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
from contextlib import contextmanager
from importlib.resources.abc import Traversable
from pathlib import Path

from ..errors import SandboxError

SECCOMP_PACKAGE = "agent._bundle.seccomp"
IMAGE_PACKAGE = "agent._bundle.sandbox_image"
PROFILE_NAME = "profile.json"
BASE_SCRIPT = "build_base.sh"  # the offline base image: debootstrap + docker import (needs root)
CACHE_ENV = "RESEARCH_AGENT_CACHE"  # where staged wheels and the build context live
# What enters the image's build context (and its source hash): the top-level files, then the
# runner package and the CPU variant's CUDA stub, by suffix. __pycache__ never does.
CONTEXT_TOP = ("Dockerfile", ".dockerignore")
CONTEXT_DIRS = {"runner": (".py",), "nocuda": (".c", ".map", ".py")}
CONTEXT_KEEP = "wheels"  # the only thing in a context folder that survives a refresh


def _root(package: str) -> Traversable:
    try:
        return importlib.resources.files(package)
    except (ModuleNotFoundError, TypeError) as exc:
        raise SandboxError(f"the installed research-agent lacks its package data ({package}); "
                           "reinstall it (pip install --force-reinstall research-agent)") from exc


def _read(node: Traversable, what: str) -> bytes:
    try:
        return node.read_bytes()
    except OSError as exc:
        raise SandboxError(f"cannot read {what} from the installed package ({exc.strerror or exc}); "
                           "reinstall research-agent (pip install --force-reinstall research-agent)") from exc


def seccomp_profile_text() -> str:
    """The seccomp profile's JSON text, exactly as it ships."""
    return _read(_root(SECCOMP_PACKAGE) / PROFILE_NAME, f"the seccomp profile {PROFILE_NAME}").decode()


def context_files() -> list[tuple[str, bytes]]:
    """Every file of the image's build context as (path relative to the context, bytes), sorted."""
    root = _root(IMAGE_PACKAGE)
    files = [(name, _read(root / name, f"sandbox_image/{name}")) for name in CONTEXT_TOP]
    for folder, suffixes in CONTEXT_DIRS.items():
        node = root / folder
        try:
            children = sorted((c for c in node.iterdir() if c.is_file()), key=lambda c: c.name)
        except OSError as exc:
            raise SandboxError(f"the installed package lacks sandbox_image/{folder}/ ({exc.strerror or exc}); "
                               "reinstall research-agent") from exc
        files += [(f"{folder}/{c.name}", _read(c, f"sandbox_image/{folder}/{c.name}"))
                  for c in children if Path(c.name).suffix in suffixes]
    return sorted(files)


def cache_dir() -> Path:
    """The user's cache for research-agent: $RESEARCH_AGENT_CACHE, else $XDG_CACHE_HOME or ~/.cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "research-agent"


def write_context(dest: Path) -> Path:
    """Refresh ``dest`` to hold exactly the build context (staged wheels under wheels/ are kept)."""
    files = context_files()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for child in dest.iterdir():
            if child.name == CONTEXT_KEEP:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for rel, data in files:
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    except OSError as exc:
        raise SandboxError(f"cannot write the image's build context in {dest} ({exc.strerror or exc}); "
                           f"make it writable or set {CACHE_ENV} to another folder") from exc
    return dest


@contextmanager
def base_script():
    """A real path to the base-image script for the duration of the block (run it with bash)."""
    node = _root(IMAGE_PACKAGE) / BASE_SCRIPT
    if not node.is_file():
        raise SandboxError(f"the installed package lacks sandbox_image/{BASE_SCRIPT}; reinstall research-agent")
    with importlib.resources.as_file(node) as path:
        yield path


def checkout_root() -> Path | None:
    """The source checkout this package runs from (an editable install with its Makefile), if any."""
    root = Path(__file__).resolve().parents[2]
    if (root / "Makefile").is_file() and (root / "pyproject.toml").is_file() and (root / "sandbox_image").is_dir():
        return root
    return None


def next_step(make_target: str, command: str) -> str:
    """How to do it, in the form that fits this install: `make TARGET` in a checkout, else the CLI."""
    return f"`make {make_target}`" if checkout_root() is not None else f"`{command}`"


def engine_next_step(detail: str) -> str:
    """What to do when the Docker engine cannot be reached, given docker-py's first line."""
    if "Permission denied" in detail or "PermissionError" in detail:
        return ("your user may not use the Docker socket: ask an administrator to add you to the docker "
                "group (`sudo usermod -aG docker $USER`), then log in again")
    if checkout_root() is not None:
        return "start it: `make engine` (root, Debian) or `sudo systemctl start docker`, or set DOCKER_HOST"
    return "ask an administrator to start it (`sudo systemctl start docker`), or set DOCKER_HOST"
