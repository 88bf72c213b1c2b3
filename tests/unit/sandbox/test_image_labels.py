"""The sandbox image's labels and staging: torch and torchvision versions, the source hash, the
CUDA stub for the CPU variant. No Docker: the client is a stand-in."""

from __future__ import annotations

import importlib.resources
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import docker.errors
import pytest

from agent.errors import SandboxError
from agent.sandbox import _files, _image

ROOT = Path(__file__).resolve().parents[3]

LABEL = _image.LABEL


class FakeImages:
    def __init__(self, labels: dict[str, str] | None):
        self.labels = labels

    def get(self, name: str):
        if self.labels is None:
            raise docker.errors.ImageNotFound(name)
        return SimpleNamespace(id="sha256:" + "ab" * 32, labels=self.labels)


def client_with(labels: dict[str, str] | None):
    return SimpleNamespace(images=FakeImages(labels))


@pytest.mark.parametrize(("variant", "torch", "torchvision"),
                         [("cpu", "2.13.0", "0.28.0"), ("cuda", "2.14.1", "0.29.1")])
def test_expected_labels_name_torch_and_torchvision(variant, torch, torchvision):
    labels = _image.expected_labels(variant)
    assert labels[LABEL + "torch"] == torch
    assert labels[LABEL + "torchvision"] == torchvision
    assert labels[LABEL + "variant"] == variant


def test_image_info_reads_the_versions():
    info = _image.ImageInfo("sha256:x", "t", {LABEL + "torch": "2.13.0", LABEL + "torchvision": "0.28.0"})
    assert (info.torch_version, info.torchvision_version) == ("2.13.0", "0.28.0")
    assert _image.ImageInfo("sha256:x", "t", {}).torchvision_version == ""


def test_is_current_needs_the_torchvision_label():
    labels = _image.expected_labels("cpu")
    assert _image.is_current(client_with(labels))
    assert not _image.is_current(client_with(labels | {LABEL + "torchvision": "0.29.1"}))
    older = {k: v for k, v in labels.items() if k != LABEL + "torchvision"}  # built before torchvision
    assert not _image.is_current(client_with(older))
    assert not _image.is_current(client_with(None))


@pytest.fixture
def image_copy(tmp_path, monkeypatch) -> Path:
    """The build context as the package ships it, written where the user's cache would hold it,
    and a copy of the package data that _files reads instead (so a test may change a file)."""
    package = tmp_path / "pkgdata"
    shutil.copytree(ROOT / "sandbox_image", package / "sandbox_image",
                    ignore=shutil.ignore_patterns("wheels", "__pycache__"))
    real = importlib.resources.files
    monkeypatch.setattr(importlib.resources, "files",
                        lambda name: package / "sandbox_image" if name == _files.IMAGE_PACKAGE else real(name))
    monkeypatch.setenv(_files.CACHE_ENV, str(tmp_path / "cache"))
    return _files.write_context(_image.context_dir("cpu"))


def test_source_hash_covers_the_stub_and_patch_but_not_wheels(image_copy, tmp_path):
    before = _image.source_sha256()
    (image_copy / "wheels" / "cpu").mkdir(parents=True)
    (image_copy / "wheels" / "cpu" / "x.whl").write_bytes(b"staged")
    assert _image.source_sha256() == before
    for name in ("nocuda.c", "nocuda.map", "patch_torchvision.py", "check_torchvision.py"):
        path = tmp_path / "pkgdata" / "sandbox_image" / "nocuda" / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert _image.source_sha256() != before, name
        path.write_bytes(original)
    assert _image.source_sha256() == before


@pytest.mark.parametrize(("variant", "torchvision", "nocuda"),
                         [("cpu", "0.28.0", True), ("cuda", "0.29.1", False)])
def test_staging_pins_torchvision_and_adds_the_stub_for_cpu(image_copy, monkeypatch, variant,
                                                            torchvision, nocuda):
    downloads, stubs = [], []
    monkeypatch.setattr(_image, "_pip_download", lambda dest, reqs, what: downloads.append(reqs))
    monkeypatch.setattr(_image, "_stage_nocuda", lambda dest, source, log: stubs.append(dest))
    _image._stage_wheels(variant, image_copy, log=lambda msg: None)
    reqs = (image_copy / "wheels" / variant / "requirements.txt").read_text().split()
    assert reqs == [f"torch=={_image.TORCH_VERSIONS[variant]}", f"torchvision=={torchvision}",
                    "numpy", "pillow"]
    assert downloads == [reqs]
    assert bool(stubs) is nocuda


def test_missing_compiler_is_one_line_naming_what_to_install(image_copy, monkeypatch, tmp_path):
    monkeypatch.setattr(_image, "_pip_download", lambda dest, reqs, what: None)
    monkeypatch.setattr(_image.shutil, "which", lambda name: None)
    with pytest.raises(SandboxError, match=r"install a C compiler \(e\.g\. `apt-get install gcc`\)") as exc:
        _image._stage_nocuda(tmp_path / "nocuda", image_copy / "nocuda", log=lambda msg: None)
    assert "\n" not in str(exc.value)


def test_build_passes_variant_and_torchvision(monkeypatch, tmp_path):
    calls = []

    def fake_build(**kwargs):
        calls.append(kwargs)
        return iter([{"stream": "Step 1/2 : FROM base\n[nocuda] patched\n"}])

    client = SimpleNamespace(api=SimpleNamespace(build=fake_build))
    monkeypatch.setattr(_image, "_base_image", lambda client, log: "base:1")
    monkeypatch.setattr(_image, "_stage_wheels", lambda variant, context, log: None)
    monkeypatch.setenv(_files.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(_image, "resolve", lambda client, variant: _image.ImageInfo("sha256:x", "t", {}))
    lines = []
    _image.build(client, "cpu", force=True, log=lines.append)
    (kwargs,) = calls
    assert kwargs["buildargs"] == {"BASE_IMAGE": "base:1", "WHEELS": "wheels/cpu",
                                  "VARIANT": "cpu", "TORCHVISION": "0.28.0"}
    assert kwargs["labels"][LABEL + "torchvision"] == "0.28.0"
    assert "[image] [nocuda] patched" in lines
    # The context is a copy in the user's cache, never the package's own folder.
    context = Path(kwargs["path"])
    assert context == tmp_path / "cache" / "image" / "cpu"
    assert sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file()) == \
        [rel for rel, _ in _files.context_files()]


@pytest.mark.skipif(not (shutil.which("cc") and shutil.which("nm")), reason="needs cc and nm")
def test_stub_compiles_with_the_versions_torchvision_asks_for(image_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(_image, "_pip_download", lambda dest, reqs, what: None)
    _image._stage_nocuda(tmp_path / "stub", image_copy / "nocuda", log=lambda msg: None)
    out = subprocess.run(["nm", "-D", str(tmp_path / "stub" / _image.NOCUDA_LIB)], check=True,
                         capture_output=True, text=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if " T " in line or " B " in line}
    assert "__cudaRegisterFatBinary@@libcudart.so.13" in defined
    assert "nvjpegCreateSimple@@libnvjpeg.so.13" in defined
    assert "_ZN3c104cuda12device_countEv" in defined  # c10::cuda: unversioned
    assert "_ZN3c104cuda20CUDACachingAllocator9allocatorE" in defined
    undefined = {line.split()[-1] for line in out.splitlines() if line.split()[0] == "U"}
    assert undefined == {"_ZN3c106detail14torchCheckFailEPKcS2_jS2_"}  # libc10 only, no libc
