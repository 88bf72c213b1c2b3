"""Image datasets read through torchvision: Fashion-MNIST, MNIST, CIFAR-10/100, SVHN, and a
local image folder (``--dataset path/to/folder``, one sub-folder per class).

Files live under the ``raw`` directory of the cache in torchvision's own layout, so a user can
drop downloaded files there by hand. Fashion-MNIST is also read from the Debian package
``dataset-fashion-mnist`` when it is installed (the project's one fully offline image set).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ._base import DatasetSource, RawSplits
from ._sklearn import fixed_split

__all__ = ["CIFAR10", "CIFAR100", "SVHN", "FashionMNIST", "ImageFolderSource", "MNIST"]

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
DEBIAN_FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
# A folder with Fashion-MNIST's four IDX .gz files, for a user who cannot install the Debian package.
FASHION_MNIST_ENV = "RESEARCH_AGENT_FASHION_MNIST"
DOWNLOAD_SOCKET_TIMEOUT_S = 60  # torchvision sets none: a stalled connection would hang the run forever
FOLDER_SIZE = (64, 64)  # image folders with mixed sizes are resized to this (width, height)
MAX_KEPT_SIDE = 256  # a shared size above this is resized too: N full-size photos would not fit in memory
MIN_IMAGES_PER_CLASS = 4  # the fixed 25% test split and the 10% val split each need one per class
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def _note(line: str) -> None:
    # sys.stderr is looked up per call: the CLI's spinner redirects it while it runs.
    print(f"[data] {line}", file=sys.stderr, flush=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0].rstrip(":") if text else type(exc).__name__)[:120]


def _torchvision_datasets():
    try:
        import torchvision.datasets as tvd
    except ImportError as exc:
        raise DatasetError("image datasets need torchvision: pip install 'research-agent[vision]'") from exc
    return tvd


class _Torchvision(DatasetSource):
    """A torchvision dataset with an official train/test split, read from ``_files`` under the
    raw cache (``cache_root``) or downloaded there by torchvision."""

    modality = "image"
    needs_network = True
    _tv_name: str  # the class in torchvision.datasets
    _files: tuple[str, ...]  # relative to cache_root; their presence means "no download needed"
    _archive: str | None = None  # torchvision extracts it without the network when it is in cache_root

    def _root(self, cache_root: Path) -> Path:
        """The root torchvision is given."""
        return cache_root

    def _where(self, cache_root: Path) -> str:
        return f"{cache_root / Path(self._files[0]).parent}/"

    def available_offline(self, cache_root: Path) -> bool:
        placed = self._stage(Path(cache_root), dry_run=True)
        archive = self._archive is not None and (Path(cache_root) / self._archive).is_file()
        return importlib.util.find_spec("torchvision") is not None and (placed or archive)

    def load(self, cache_root: Path) -> RawSplits:
        cache_root = Path(cache_root)
        offline = self._stage(cache_root)
        tvd = _torchvision_datasets()
        if offline or self.available_offline(cache_root):
            _note(f"{self.name}: reading the official train/test split from {self._where(cache_root)}")
        # else nothing: torchvision's bar shows a download, and a failed one is one error line
        started = time.monotonic()
        train, test = self._open(getattr(tvd, self._tv_name), cache_root, download=not offline)
        (train_x, train_y), (test_x, test_y) = self._arrays(train), self._arrays(test)
        _note(f"{self.name}: read {len(train_y) + len(test_y):,} images "
              f"({len(train_y):,} train / {len(test_y):,} test) in {time.monotonic() - started:.1f}s")
        return RawSplits(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
                         class_names=self._class_names(train))

    def _stage(self, cache_root: Path, dry_run: bool = False) -> bool:
        """Put the files in place if they are somewhere local; True when no download is needed."""
        return all((cache_root / f).is_file() for f in self._files)

    def _open(self, cls, cache_root: Path, download: bool):
        old_timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT_S)
        try:
            # torchvision prints "Downloading ..." on stdout, which `--json` output owns.
            with contextlib.redirect_stdout(sys.stderr):
                root = self._root(cache_root)
                return self._construct(cls, root, True, download), self._construct(cls, root, False, download)
        except (OSError, RuntimeError, http.client.HTTPException, EOFError) as exc:
            raise DatasetError(self._failure(cache_root, download, exc)) from exc
        finally:
            socket.setdefaulttimeout(old_timeout)

    def _failure(self, cache_root: Path, download: bool, exc: BaseException) -> str:
        if download:
            archive = f" (or {self._archive} in {cache_root}/)" if self._archive else ""
            return (f"{self.name} needs the network to download ({_first_line(exc)}), "
                    f"or its files under {self._where(cache_root)}{archive}")
        return (f"{self.name}: the files under {self._where(cache_root)} are incomplete or corrupted "
                f"({_first_line(exc)}); delete them to download again, or replace them")

    def _construct(self, cls, root: Path, train: bool, download: bool):
        return cls(str(root), train=train, download=download)

    def _arrays(self, ds) -> tuple[np.ndarray, np.ndarray]:
        x = ds.data.numpy() if hasattr(ds.data, "numpy") else np.asarray(ds.data)
        y = ds.targets.numpy() if hasattr(ds.targets, "numpy") else np.asarray(ds.targets)
        return x, y.astype(np.int64)

    def _class_names(self, ds) -> list[str]:
        return [str(c) for c in ds.classes]


class _Idx(_Torchvision):
    """MNIST-format data: four uncompressed IDX files under ``<cache_root>/<Class>/raw/``. Gzipped
    copies there or in ``_system_dirs`` are decompressed into place (atomically) first."""

    input_shape = (1, 28, 28)
    n_classes = 10
    _system_dirs: tuple[Path, ...] = ()
    _idx = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

    @property
    def _files(self) -> tuple[str, ...]:
        return tuple(f"{self._tv_name}/raw/{f}" for f in self._idx)

    def _arrays(self, ds) -> tuple[np.ndarray, np.ndarray]:
        x, y = super()._arrays(ds)
        return x[:, None], y  # (N, 28, 28) -> (N, 1, 28, 28)

    def _gz(self, cache_root: Path, name: str) -> Path | None:
        for folder in (cache_root / self._tv_name / "raw", *self._system_dirs):
            if (folder / f"{name}.gz").is_file():
                return folder / f"{name}.gz"
        return None

    def _stage(self, cache_root: Path, dry_run: bool = False) -> bool:
        raw = cache_root / self._tv_name / "raw"
        missing = {f: self._gz(cache_root, f) for f in self._idx if not (raw / f).is_file()}
        if not all(missing.values()):
            return False  # torchvision downloads what is missing (and reuses good .gz files)
        if missing and not dry_run:
            folders = sorted({str(gz.parent) for gz in missing.values()})
            _note(f"{self.name}: decompressing IDX files from {', '.join(folders)}")
            raw.mkdir(parents=True, exist_ok=True)
            for name, gz in missing.items():
                _gunzip(gz, raw / name)
        return True


def _gunzip(src: Path, dest: Path) -> None:
    """Decompress ``src`` to ``dest`` atomically: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, length=1 << 20)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would differ from a plain copy for no reason
        os.replace(tmp, dest)
    except (OSError, EOFError) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise DatasetError(f"{src} is not a readable gzip file ({_first_line(exc)}); "
                           "reinstall or replace it") from exc


class FashionMNIST(_Idx):
    name = "fashion-mnist"
    aliases = ("fashion_mnist", "fashionmnist")
    source = "Zalando Research Fashion-MNIST via torchvision (offline: Debian dataset-fashion-mnist)"
    license = "MIT"
    _tv_name = "FashionMNIST"

    @property
    def _system_dirs(self) -> tuple[Path, ...]:
        folder = os.environ.get(FASHION_MNIST_ENV)
        return ((Path(folder).expanduser(),) if folder else ()) + (DEBIAN_FASHION_MNIST,)

    def _failure(self, cache_root: Path, download: bool, exc: BaseException) -> str:
        if not download:
            return super()._failure(cache_root, download, exc)
        folder = os.environ.get(FASHION_MNIST_ENV)
        if folder:
            lacking = [f"{f}.gz" for f in self._idx if not (Path(folder).expanduser() / f"{f}.gz").is_file()]
            return (f"{self.name}: {FASHION_MNIST_ENV}={folder} lacks {', '.join(lacking)}; put the four "
                    f"IDX .gz files there, or ask an administrator to "
                    f"`sudo apt-get install {DEBIAN_FASHION_MNIST_PACKAGE}`")
        return (f"{self.name} is not installed for offline use and needs the network to download: ask an "
                f"administrator to `sudo apt-get install {DEBIAN_FASHION_MNIST_PACKAGE}`, or set "
                f"{FASHION_MNIST_ENV} to a folder with its four IDX .gz files, or put them in "
                f"{self._where(cache_root)}")


class MNIST(_Idx):
    name = "mnist"
    source = "MNIST (LeCun, Cortes, Burges) via torchvision"
    license = "CC BY-SA 3.0"
    _tv_name = "MNIST"


class CIFAR10(_Torchvision):
    name = "cifar10"
    aliases = ("cifar-10",)
    n_classes = 10
    input_shape = (3, 32, 32)
    source = "CIFAR-10 (Krizhevsky 2009) via torchvision"
    license = "no explicit license; cite Krizhevsky 2009"
    _tv_name = "CIFAR10"
    _files = tuple(f"cifar-10-batches-py/{f}" for f in (
        "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
        "test_batch", "batches.meta"))
    _archive = "cifar-10-python.tar.gz"

    def _arrays(self, ds) -> tuple[np.ndarray, np.ndarray]:
        x, y = super()._arrays(ds)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y  # torchvision keeps NHWC


class CIFAR100(CIFAR10):
    name = "cifar100"
    aliases = ("cifar-100",)
    n_classes = 100
    source = "CIFAR-100 (Krizhevsky 2009, 100 fine labels) via torchvision"
    _tv_name = "CIFAR100"
    _files = ("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta")
    _archive = "cifar-100-python.tar.gz"


class SVHN(_Torchvision):
    name = "svhn"
    n_classes = 10
    input_shape = (3, 32, 32)
    source = "SVHN cropped digits (Netzer et al. 2011) via torchvision; train/test, not extra"
    license = "non-commercial use only"
    _tv_name = "SVHN"
    _files = ("SVHN/train_32x32.mat", "SVHN/test_32x32.mat")

    def _root(self, cache_root: Path) -> Path:
        return cache_root / "SVHN"  # torchvision puts the .mat files directly in its root

    def _construct(self, cls, root: Path, train: bool, download: bool):
        return cls(str(root), split="train" if train else "test", download=download)

    def _arrays(self, ds) -> tuple[np.ndarray, np.ndarray]:
        return np.ascontiguousarray(ds.data), ds.labels.astype(np.int64)  # already NCHW, 10 -> 0

    def _class_names(self, ds) -> list[str]:
        return [str(d) for d in range(10)]


class ImageFolderSource(DatasetSource):
    """``--dataset path/to/folder``: one sub-folder per class (torchvision ``ImageFolder``).

    Images become RGB, or L when every image is grayscale. They keep their size when all share
    one (up to ``MAX_KEPT_SIDE`` a side); otherwise every image is resized to ``FOLDER_SIZE``
    (64x64, bilinear, aspect ratio not kept). The test split is the fixed stratified one.
    """

    modality = "image"
    license = "the files' own"
    version = "1"

    def __init__(self, path: str):
        self.path = Path(path).expanduser()
        self.name = f"folder:{self.path.resolve().name}"
        self.source = f"local image folder {self.path}"

    def identity(self) -> dict:
        digest = hashlib.sha256()
        for path in sorted(p for p in self.path.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(f"{path.relative_to(self.path)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
        return super().identity() | {"path": str(self.path.resolve()), "files": digest.hexdigest(),
                                     "size": list(FOLDER_SIZE), "max_kept_side": MAX_KEPT_SIDE}

    def load(self, cache_root: Path) -> RawSplits:
        paths, labels = self._samples()
        _note(f"{self.name}: reading {len(paths):,} images in {len(set(labels))} classes")
        modes, sizes = zip(*(self._header(p) for p in paths), strict=True)
        mode = "L" if set(modes) <= _GRAY_MODES else "RGB"
        size = sizes[0] if len(set(sizes)) == 1 and max(sizes[0]) <= MAX_KEPT_SIDE else FOLDER_SIZE
        x = np.stack([self._pixels(p, mode, size) for p in paths])
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        return fixed_split(np.ascontiguousarray(x), np.array(labels), sorted(set(labels)))

    def _samples(self) -> tuple[list[str], list[str]]:
        tvd = _torchvision_datasets()
        if not self.path.is_dir():
            raise DatasetError(f"{self.path}: no such folder")
        try:
            folder = tvd.ImageFolder(str(self.path), allow_empty=True)
        except FileNotFoundError as exc:
            raise DatasetError(f"{self.path} has no class sub-folders; put each class's images "
                               "in its own sub-folder (folder/cat/1.png, folder/dog/2.png)") from exc
        labels = [folder.classes[i] for _, i in folder.samples]
        found = Counter(labels)
        counts = {c: found[c] for c in folder.classes}
        empty = [c for c, n in counts.items() if n == 0]
        if empty and len(empty) < len(counts):
            _note(f"{self.name}: skipping class folders with no images: {', '.join(empty[:10])}")
        self._check_counts({c: n for c, n in counts.items() if n})
        return [p for p, _ in folder.samples], labels

    def _check_counts(self, counts: dict[str, int]) -> None:
        if not counts:
            raise DatasetError(f"{self.path} has no images (.png, .jpg, ...) in its class sub-folders")
        if len(counts) < 2:
            raise DatasetError(f"{self.path} has a single class ({next(iter(counts))!r}); "
                               "a classifier needs two or more class sub-folders")
        few = [c for c, n in counts.items() if n < MIN_IMAGES_PER_CLASS]
        if few:
            raise DatasetError(f"{self.path}: class {few[0]!r} has {counts[few[0]]} image(s); "
                               f"each needs at least {MIN_IMAGES_PER_CLASS} (for the test and val splits)")

    def _header(self, path: str) -> tuple[str, tuple[int, int]]:
        from PIL import Image

        with self._reading(path), Image.open(path) as img:
            return img.mode, img.size

    def _pixels(self, path: str, mode: str, size: tuple[int, int]) -> np.ndarray:
        from PIL import Image

        with self._reading(path), Image.open(path) as img:
            if img.mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")  # PIL warns when a palette with transparency goes to RGB
            img = img.convert(mode)
            if img.size != size:
                img = img.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)

    @contextlib.contextmanager
    def _reading(self, path: str):
        from PIL import Image

        try:
            yield
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:  # PIL's bad files
            rel = Path(path).relative_to(self.path) if Path(path).is_relative_to(self.path) else path
            raise DatasetError(f"{self.path}/{rel} is not a readable image ({_first_line(exc)}); "
                               "fix or remove it") from exc
