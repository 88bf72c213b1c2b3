"""Sandboxes: where generated models run. The only package that imports ``docker``."""

from ._base import BaseSandbox, ProgressFn, SandboxInterrupted, SandboxRequest
from ._controls import seccomp_sha256
from ._image import ImageInfo, image_tag
from ._status import ends_in_runner, status_rules_markdown

__all__ = [
    "BaseSandbox",
    "DockerSandbox",
    "ImageInfo",
    "ProgressFn",
    "SandboxInterrupted",
    "SandboxRequest",
    "build_base_image",
    "build_image",
    "ends_in_runner",
    "image_tag",
    "seccomp_sha256",
    "status_rules_markdown",
]


def __getattr__(name: str):
    # docker-py is imported only when a Docker sandbox is actually used.
    if name == "DockerSandbox":
        from ._docker import DockerSandbox

        return DockerSandbox
    if name == "build_image":
        from ._docker import connect
        from ._image import build

        return lambda variant="cpu", force=False, log=None: build(connect(), variant, force, log)
    if name == "build_base_image":
        from ._image import build_base

        return build_base
    raise AttributeError(name)
