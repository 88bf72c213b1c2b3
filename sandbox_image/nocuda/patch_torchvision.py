"""Make the installed torchvision load beside a torch without CUDA (the CPU image's build stage).

Usage: python patch_torchvision.py PATCHELF STUB

torchvision 0.28.0 is the release built against torch 2.13, and it is a CUDA build: its two
extension modules list libc10_cuda, libtorch_cuda, libcudart and libnvjpeg as DT_NEEDED. This
script renames those entries (and their symbol-version files) to STUB, the CUDA entry points
compiled from nocuda.c, copies STUB into torchvision.libs/, points _C.so's run path at torch's
libraries, deletes the bundled libcudart and libnvjpeg, and rewrites the RECORD lines of the
files it changed. It stops (exit 1) on anything it did not expect, so a different wheel fails
the image build here instead of at a trial. check_torchvision.py then loads both modules.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

MODULES = ("_C.so", "image.so")
CUDA_LIB = re.compile(r"^lib(c10_cuda|torch_cuda)\.so$|^lib(cudart|nvjpeg)[.-]")
# $ORIGIN/../torch/lib: _C.so ships with a run path from the wheel's CI machine.
RUN_PATH = "$ORIGIN:$ORIGIN/../torchvision.libs:$ORIGIN/../torch/lib"


def main(patchelf: str, stub: Path) -> None:
    spec = importlib.util.find_spec("torchvision")  # finds it without importing it
    package = Path(spec.origin).parent
    libs = package.parent / "torchvision.libs"
    shutil.copy2(stub, libs / stub.name)
    changed = [libs / stub.name]
    for name in MODULES:
        changed.append(_patch_module(patchelf, package / name, stub.name))
    for path in sorted(libs.iterdir()):
        if CUDA_LIB.match(path.name):
            path.unlink()
            print(f"[nocuda] removed torchvision.libs/{path.name}")
    leftovers = [f"{p.name}: {n}" for p in [*package.rglob("*.so"), *libs.iterdir()]
                 for n in _needed(patchelf, p) if CUDA_LIB.match(n)]
    if leftovers:
        sys.exit(f"[nocuda] still linked to CUDA libraries: {leftovers}")
    _rewrite_record(package.parent, changed)


def _patch_module(patchelf: str, path: Path, stub_name: str) -> Path:
    cuda = [n for n in _needed(patchelf, path) if CUDA_LIB.match(n)]
    if not cuda:
        sys.exit(f"[nocuda] {path.name} links no CUDA library: not the wheel this patch is for")
    args = [arg for n in cuda for arg in ("--replace-needed", n, stub_name)]
    subprocess.run([patchelf, *args, str(path)], check=True)
    subprocess.run([patchelf, "--remove-rpath", str(path)], check=True)
    subprocess.run([patchelf, "--set-rpath", RUN_PATH, str(path)], check=True)
    print(f"[nocuda] {path.name}: {', '.join(cuda)} -> {stub_name}")
    return path


def _needed(patchelf: str, path: Path) -> list[str]:
    out = subprocess.run([patchelf, "--print-needed", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def _rewrite_record(site: Path, changed: list[Path]) -> None:
    """Keep the wheel's RECORD true: new hashes for changed files, no lines for deleted ones."""
    record = next(site.glob("torchvision-*.dist-info")) / "RECORD"
    rows = {row[0]: row for row in csv.reader(record.read_text().splitlines())}
    for path in changed:
        data = path.read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rel = path.relative_to(site).as_posix()
        rows[rel] = [rel, f"sha256={digest}", str(len(data))]
    rows = {k: v for k, v in rows.items() if (site / k).exists() or not v[1]}
    with record.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows.values())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
