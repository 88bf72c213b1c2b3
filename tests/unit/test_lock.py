"""requirements.lock agrees with pyproject.toml, is closed under its own requirements, and is
what this venv holds (``make`` installs it hash-checked). After a dependency change: ``make lock``."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
EXTRAS = ("dev", "vision", "text", "mlflow", "tensorboard")  # what `make` installs
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes), from pip-compile's format."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), [])
        for digest in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            assert current is not None, line
            pins[current][1].append(digest)
    return pins


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"] + [r for e in EXTRAS for r in extras[e]]]


@pytest.fixture(scope="module")
def pins() -> dict[str, tuple[str, list[str]]]:
    return parse_lock(LOCK.read_text())


def test_every_project_requirement_is_pinned_within_its_range(pins):
    problems = []
    for req in project_requirements():
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is not in requirements.lock")
        elif not req.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{req} but the lock pins {pins[name][0]}")
    assert problems == [], "; ".join(problems) + " (run `make lock`)"


def test_every_pin_carries_a_hash(pins):
    assert pins and all(hashes for _, hashes in pins.values()), [n for n, (_, h) in pins.items() if not h]


def test_the_lock_is_closed_under_its_own_requirements(pins):
    env = default_environment()
    problems = []
    for name, (version, _) in pins.items():
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name} is locked but not installed")
            continue
        for raw in requires:
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate(env | {"extra": ""}):
                continue
            dep = canonicalize_name(req.name)
            if dep not in pins:
                problems.append(f"{name} {version} needs {req}, which is not locked")
            elif not req.specifier.contains(pins[dep][0], prereleases=True):
                problems.append(f"{name} {version} needs {req}, the lock pins {pins[dep][0]}")
    assert problems == [], problems


def test_this_venv_holds_exactly_the_locked_versions(pins):
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    wrong = {n: (v, installed.get(n)) for n, (v, _) in pins.items() if installed.get(n) != v}
    assert wrong == {}, f"{wrong} (locked, installed): run `make venv`"


def test_the_lock_names_no_index_or_host(pins):
    text = LOCK.read_text()
    assert "://" not in text and "--index-url" not in text and "--find-links" not in text


def test_the_parser_reads_pip_compile_output():
    sample = ("torch==2.14.1 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64 +
              "\n    # via research-agent (pyproject.toml)\nPyYAML==6.0.4 \\\n    --hash=sha256:" + "c" * 64 + "\n")
    assert parse_lock(sample) == {"torch": ("2.14.1", ["a" * 64, "b" * 64]), "pyyaml": ("6.0.4", ["c" * 64])}
