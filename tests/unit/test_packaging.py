"""The wheel carries everything the sandbox needs, read through importlib.resources.

The wheel is really built (``pip wheel --no-build-isolation``, a few seconds, no network) and its
files are read through ``zipfile.Path``, the Traversable an installed package would give.
"""

from __future__ import annotations

import importlib.resources
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from agent.errors import SandboxError
from agent.sandbox import _controls, _files, _image

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--quiet", "-w", str(out), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (built,) = out.glob("research_agent-*.whl")
    with zipfile.ZipFile(built) as zf:
        yield zf


def _in_wheel(zf: zipfile.ZipFile, package: str) -> zipfile.Path:
    return zipfile.Path(zf, package.replace(".", "/") + "/")


def test_every_host_package_is_listed():
    folders = [ROOT / "agent", *(ROOT / "agent").rglob("*")]
    found = {".".join(p.relative_to(ROOT).parts) for p in folders
             if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))}
    listed = {p for p in SETUPTOOLS["packages"] if not p.startswith("agent._bundle.")}
    assert listed == found


def test_the_bundle_maps_the_top_level_folders():
    assert SETUPTOOLS["package-dir"] == {_files.SECCOMP_PACKAGE: "seccomp", _files.IMAGE_PACKAGE: "sandbox_image"}
    bundled = {p for p in SETUPTOOLS["packages"] if p.startswith("agent._bundle.")}
    assert bundled == {_files.SECCOMP_PACKAGE, _files.IMAGE_PACKAGE,
                       *(f"{_files.IMAGE_PACKAGE}.{d}" for d in _files.CONTEXT_DIRS)}
    for folder in ("seccomp", "sandbox_image"):
        assert (ROOT / folder / "__init__.py").is_file(), folder  # importable in an editable install


def test_the_wheel_holds_the_profile_the_context_and_the_base_script(wheel):
    image = _in_wheel(wheel, _files.IMAGE_PACKAGE)
    for rel, data in _files.context_files():
        assert (image / rel).read_bytes() == (ROOT / "sandbox_image" / rel).read_bytes() == data, rel
    assert (image / _files.BASE_SCRIPT).read_bytes() == (ROOT / "sandbox_image" / _files.BASE_SCRIPT).read_bytes()
    assert (image / "PROTOCOL.md").is_file()
    profile = _in_wheel(wheel, _files.SECCOMP_PACKAGE) / _files.PROFILE_NAME
    assert profile.read_text() == (ROOT / "seccomp" / "profile.json").read_text()
    names = wheel.namelist()
    assert not any("/wheels/" in n or "__pycache__" in n or n.endswith(".whl") for n in names)


def test_a_wheel_and_the_checkout_give_the_same_source_hash(wheel, monkeypatch):
    checkout = _image.source_sha256()
    real = importlib.resources.files
    bundle = ("agent._bundle.",)
    monkeypatch.setattr(importlib.resources, "files",
                        lambda name: _in_wheel(wheel, name) if name.startswith(bundle) else real(name))
    assert isinstance(_files._root(_files.IMAGE_PACKAGE), zipfile.Path)  # really read from the wheel
    assert _image.source_sha256() == checkout
    assert _controls.seccomp_sha256() == _image.expected_labels("cpu")[_image.LABEL + "seccomp-sha256"]


def test_packaging_metadata_uses_an_spdx_license(wheel):
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text
    assert "License: " not in text  # the deprecated TOML-table form wrote this field
    assert PYPROJECT["project"]["license"] == "Apache-2.0"


def test_building_the_wheel_prints_no_deprecation(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    assert "Deprecat" not in output and "SetuptoolsWarning" not in output, [
        line for line in output.splitlines() if "eprecat" in line or "Warning" in line]


# --- missing package files: one line, never a traceback ---------------------------------------

def test_a_missing_profile_is_one_line_naming_the_fix(monkeypatch):
    monkeypatch.setattr(_files, "PROFILE_NAME", "absent.json")
    with pytest.raises(SandboxError) as err:
        _controls.seccomp_sha256()
    line = str(err.value)
    assert "\n" not in line and "absent.json" in line and "reinstall research-agent" in line


def test_a_missing_data_package_is_one_line(monkeypatch):
    monkeypatch.setattr(_files, "IMAGE_PACKAGE", "agent._bundle.absent")
    with pytest.raises(SandboxError) as err:
        _image.source_sha256()
    assert "\n" not in str(err.value) and "agent._bundle.absent" in str(err.value)


def test_an_unreadable_context_folder_is_one_line(monkeypatch, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    (tmp_path / ".dockerignore").write_text("")
    real = importlib.resources.files
    monkeypatch.setattr(importlib.resources, "files",
                        lambda name: tmp_path if name == _files.IMAGE_PACKAGE else real(name))
    with pytest.raises(SandboxError, match=r"lacks sandbox_image/runner/") as err:
        _files.context_files()
    assert "\n" not in str(err.value)


def test_an_unwritable_cache_is_one_line_naming_the_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SandboxError, match=_files.CACHE_ENV) as err:
        _files.write_context(blocker / "image" / "cpu")
    assert "\n" not in str(err.value)


def test_refreshing_the_context_keeps_staged_wheels_and_drops_stale_files(tmp_path):
    context = tmp_path / "ctx"
    (context / "wheels" / "cpu").mkdir(parents=True)
    (context / "wheels" / "cpu" / "torch.whl").write_bytes(b"w")
    (context / "runner").mkdir()
    (context / "runner" / "removed_module.py").write_text("stale")
    _files.write_context(context)
    files = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert files == sorted([rel for rel, _ in _files.context_files()] + ["wheels/cpu/torch.whl"])


def test_the_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(_files.CACHE_ENV, str(tmp_path / "mine"))
    assert _image.context_dir("cuda") == tmp_path / "mine" / "image" / "cuda"
    monkeypatch.delenv(_files.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _files.cache_dir() == tmp_path / "xdg" / "research-agent"


def test_the_base_script_is_a_real_file():
    with _files.base_script() as path:
        assert path.is_file() and path.read_text().startswith("#!/usr/bin/env bash")


# --- next steps that fit how the package was installed ----------------------------------------

def test_hints_name_make_in_a_checkout_and_the_cli_elsewhere(monkeypatch):
    assert _files.checkout_root() == ROOT  # these tests run from the checkout
    assert _image.build_hint() == "`make image`"
    monkeypatch.setattr(_files, "checkout_root", lambda: None)  # as from site-packages
    assert _image.build_hint() == "`research-agent image build`"
    assert "make" not in _files.engine_next_step("Connection refused")
    assert "sudo systemctl start docker" in _files.engine_next_step("Connection refused")


def test_a_socket_permission_error_names_the_docker_group():
    hint = _files.engine_next_step("('Connection aborted.', PermissionError(13, 'Permission denied'))")
    assert "sudo usermod -aG docker $USER" in hint


class _NoImages:
    def get(self, name):
        import docker.errors

        raise docker.errors.ImageNotFound(name)


def test_no_base_image_as_a_user_is_one_line_with_the_administrators_command(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.delenv("RESEARCH_AGENT_BASE_IMAGE", raising=False)
    monkeypatch.setattr(_image, "_try_pull", lambda client, name, log: False)
    monkeypatch.setattr(_image.os, "geteuid", lambda: 1000)
    ran = []
    monkeypatch.setattr(_image.subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(SandboxError) as err:
        _image._base_image(SimpleNamespace(images=_NoImages()), log=lambda msg: None)
    line = str(err.value)
    assert "\n" not in line and "needs root" in line and "image base`" in line and "`sudo " in line
    assert ran == []  # debootstrap was never attempted
    with pytest.raises(SandboxError, match=r"needs root; run `sudo .*research-agent image base`"):
        _image.build_base(log=lambda msg: None)


def test_the_base_image_as_root_runs_the_packaged_script(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(_image.os, "geteuid", lambda: 0)
    calls = []
    monkeypatch.setattr(_image.subprocess, "run", lambda cmd, **k: calls.append(cmd) or SimpleNamespace(returncode=0))
    assert _image.build_base(log=lambda msg: None) == _image.LOCAL_BASE
    ((bash, script, tag),) = calls
    assert bash == "bash" and Path(script).name == _files.BASE_SCRIPT and tag == _image.LOCAL_BASE
