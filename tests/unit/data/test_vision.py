"""Image datasets read through torchvision.

Fashion-MNIST is the real 70k from the Debian package ``dataset-fashion-mnist`` (skipped when
it is missing, a failure in CI). MNIST, CIFAR-10/100 and SVHN are small fixture files written
in each library's own format (IDX, python pickles, .mat) and read through the real code path.
The only thing patched for the fixtures is torchvision's md5 table for CIFAR and SVHN: it
verifies every file, and the fixtures' md5s replace the real archives'. Nothing downloads:
``urlopen`` refuses in every test, as on an offline machine (and no socket may connect).
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torchvision")

import torchvision.datasets as tvd  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from PIL import Image  # noqa: E402

from agent.cli import main  # noqa: E402
from agent.data import _vision as vision  # noqa: E402
from agent.data import listing, prepare, resolve  # noqa: E402
from agent.errors import DatasetError  # noqa: E402
from tests.conftest import IN_CI  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_network")  # conftest: any TCP/UDP connect fails

IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Every download fails the way it does on a machine without a network."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known (test: offline)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _one_line(err: DatasetError) -> str:
    text = str(err)
    assert "\n" not in text and text.strip() == text and err.exit_code == 1
    return text


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _labels(n: int, n_classes: int) -> np.ndarray:
    return np.arange(n) % n_classes  # every class present, in a known order


# --- Fashion-MNIST: the real data ------------------------------------------------------------

@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    """The full Fashion-MNIST prepared once from the Debian package into a fresh cache."""
    if not all((vision.DEBIAN_FASHION_MNIST / f"{f}.gz").is_file() for f in IDX):
        message = f"{vision.DEBIAN_FASHION_MNIST} is missing; run scripts/ensure_datasets.sh"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    cache = tmp_path_factory.mktemp("fashion-cache")
    return cache, prepare("fashion-mnist", cache)


def test_fashion_mnist_is_the_full_official_split(fashion):
    cache, data = fashion
    assert (data.n_train + data.n_val, data.n_test) == (60_000, 10_000)
    assert (data.input_shape, data.n_classes) == ((1, 28, 28), 10)
    assert data.class_names == tvd.FashionMNIST.classes
    train_x = np.load(data.public_dir / "train_x.npy", mmap_mode="r")
    assert train_x.shape == (data.n_train, 1, 28, 28) and train_x.dtype == np.float32
    assert abs(float(train_x.mean())) < 1e-3 and abs(float(train_x.std()) - 1) < 1e-3
    counts = np.bincount(np.concatenate([np.load(data.public_dir / "train_y.npy"), data.val_labels()]))
    assert counts.tolist() == [6000] * 10
    assert np.bincount(data.test_labels()).tolist() == [1000] * 10
    assert not (data.public_dir / "test_y.npy").exists()


def test_fashion_mnist_second_prepare_is_a_cache_hit(fashion, monkeypatch):
    cache, first = fashion
    raw = cache / "raw" / "FashionMNIST" / "raw"
    mtimes = {f: (raw / f).stat().st_mtime_ns for f in IDX}

    def must_not_load(self, cache_root):
        raise AssertionError("a cached dataset was loaded again")

    monkeypatch.setattr(vision.FashionMNIST, "load", must_not_load)
    started = time.monotonic()
    again = prepare("fashion_mnist", cache)
    assert time.monotonic() - started < 1.0
    assert again == first
    assert {f: (raw / f).stat().st_mtime_ns for f in IDX} == mtimes


def test_fashion_mnist_subset_and_test_size(fashion):
    cache, _ = fashion
    raw = cache / "raw" / "FashionMNIST" / "raw"
    mtimes = {f: (raw / f).stat().st_mtime_ns for f in IDX}
    small = prepare("fashion-mnist", cache, subset_size=3000)
    assert (small.n_train + small.n_val, small.n_test) == (3000, 10_000)
    assert np.bincount(np.load(small.public_dir / "train_y.npy"), minlength=10).min() > 200
    fewer = prepare("fashion-mnist", cache, test_size=2000)
    assert (fewer.n_train + fewer.n_val, fewer.n_test) == (60_000, 2000)
    assert np.bincount(fewer.test_labels()).tolist() == [200] * 10  # stratified
    assert {f: (raw / f).stat().st_mtime_ns for f in IDX} == mtimes  # raw files reused, not redone


def test_listing_knows_what_works_offline(fashion, tmp_path):
    rows = {r["name"]: r for r in listing(tmp_path / "fresh")}
    assert rows["fashion-mnist"]["available_offline"] is True
    assert rows["fashion-mnist"]["cached"] is False
    assert rows["cifar10"]["available_offline"] is False
    cache, _ = fashion
    assert {r["name"]: r for r in listing(cache)}["fashion-mnist"]["cached"] is True


# --- MNIST: IDX files ------------------------------------------------------------------------

def _write_idx(folder: Path, n: int, prefix: str, compress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = _labels(n, 10).astype(np.uint8)
    opener = gzip.open if compress else open
    suffix = ".gz" if compress else ""
    with opener(folder / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())  # big-endian, magic 2051
    with opener(folder / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels.tobytes())
    return images, labels


@pytest.mark.parametrize("compress", [False, True], ids=["idx", "idx.gz"])
def test_mnist_reads_idx_files(tmp_path, compress):
    raw = tmp_path / "raw"
    train = _write_idx(raw / "MNIST" / "raw", 60, "train", compress)
    test = _write_idx(raw / "MNIST" / "raw", 20, "t10k", compress)
    assert vision.MNIST().available_offline(raw)
    splits = vision.MNIST().load(raw)
    assert np.array_equal(splits.train_x, train[0][:, None]) and np.array_equal(splits.train_y, train[1])
    assert np.array_equal(splits.test_x, test[0][:, None]) and np.array_equal(splits.test_y, test[1])
    data = prepare("mnist", tmp_path)
    assert (data.input_shape, data.n_classes, data.n_test) == ((1, 28, 28), 10, 20)
    assert data.class_names == tvd.MNIST.classes


def test_fashion_mnist_without_the_package_reads_files_put_in_raw(tmp_path, monkeypatch):
    monkeypatch.setattr(vision.FashionMNIST, "_system_dirs", ())
    raw = tmp_path / "raw"
    _write_idx(raw / "FashionMNIST" / "raw", 60, "train", compress=True)
    _write_idx(raw / "FashionMNIST" / "raw", 20, "t10k", compress=True)
    data = prepare("fashion-mnist", tmp_path)
    assert (data.n_train + data.n_val, data.n_test) == (60, 20)
    assert data.class_names[0] == "T-shirt/top"


def test_fashion_mnist_reads_the_folder_the_environment_names(tmp_path, monkeypatch):
    monkeypatch.setattr(vision, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    folder = tmp_path / "fashion-files"
    _write_idx(folder, 60, "train", compress=True)
    _write_idx(folder, 20, "t10k", compress=True)
    monkeypatch.setenv(vision.FASHION_MNIST_ENV, str(folder))
    assert vision.FashionMNIST().available_offline(tmp_path / "raw")
    data = prepare("fashion-mnist", tmp_path)
    assert (data.n_train + data.n_val, data.n_test) == (60, 20)


def test_fashion_mnist_folder_without_the_files_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(vision, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    folder = tmp_path / "half"
    _write_idx(folder, 60, "train", compress=True)  # the test split is missing
    monkeypatch.setenv(vision.FASHION_MNIST_ENV, str(folder))
    assert not vision.FashionMNIST().available_offline(tmp_path / "raw")
    with pytest.raises(DatasetError) as err:
        prepare("fashion-mnist", tmp_path)
    line = _one_line(err.value)
    assert f"{vision.FASHION_MNIST_ENV}={folder} lacks t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz" in line
    assert "sudo apt-get install dataset-fashion-mnist" in line
    assert "train-images" not in line


# --- CIFAR-10/100: python pickles ------------------------------------------------------------

def _pickle(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=2))


def _cifar_batch(path: Path, n: int, n_classes: int, key: str) -> tuple[np.ndarray, np.ndarray]:
    data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)  # R, G, B planes of 32x32, row-major
    labels = _labels(n, n_classes)
    _pickle(path, {"data": data, key: labels.tolist(), "filenames": [f"{i}.png" for i in range(n)]})
    return data.reshape(n, 3, 32, 32), labels


def _accept_fixtures(monkeypatch, cls, folder: Path) -> None:
    """Point torchvision's md5 table at the fixture files (the only patch: see the docstring)."""
    table = lambda rows: [[name, _md5(folder / name)] for name, _ in rows]  # noqa: E731
    monkeypatch.setattr(cls, "train_list", table(cls.train_list))
    monkeypatch.setattr(cls, "test_list", table(cls.test_list))
    monkeypatch.setattr(cls, "meta", cls.meta | {"md5": _md5(folder / cls.meta["filename"])})


def _write_cifar10(raw: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    folder = raw / "cifar-10-batches-py"
    batches = [_cifar_batch(folder / f"data_batch_{i}", 12, 10, "labels") for i in range(1, 6)]
    test_x, test_y = _cifar_batch(folder / "test_batch", 20, 10, "labels")
    _pickle(folder / "batches.meta", {"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072})
    return (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]), test_x, test_y)


def test_cifar10_reads_python_batches(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    train_x, train_y, test_x, test_y = _write_cifar10(raw)
    _accept_fixtures(monkeypatch, tvd.CIFAR10, raw / "cifar-10-batches-py")
    assert vision.CIFAR10().available_offline(raw)
    splits = vision.CIFAR10().load(raw)
    assert splits.train_x.shape == (60, 3, 32, 32) and splits.train_x.flags["C_CONTIGUOUS"]
    assert np.array_equal(splits.train_x, train_x) and np.array_equal(splits.train_y, train_y)
    assert np.array_equal(splits.test_x, test_x) and np.array_equal(splits.test_y, test_y)
    data = prepare("cifar-10", tmp_path)
    assert (data.name, data.input_shape, data.n_classes, data.n_test) == ("cifar10", (3, 32, 32), 10, 20)
    assert data.class_names == [f"class{i}" for i in range(10)]


def test_cifar100_reads_fine_labels(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    folder = raw / "cifar-100-python"
    train_x, train_y = _cifar_batch(folder / "train", 300, 100, "fine_labels")
    _cifar_batch(folder / "test", 100, 100, "fine_labels")
    names = [f"fine{i:02d}" for i in range(100)]
    _pickle(folder / "meta", {"fine_label_names": names, "coarse_label_names": [f"c{i}" for i in range(20)]})
    _accept_fixtures(monkeypatch, tvd.CIFAR100, folder)
    splits = vision.CIFAR100().load(raw)
    assert np.array_equal(splits.train_x, train_x) and np.array_equal(splits.train_y, train_y)
    data = prepare("cifar100", tmp_path)
    assert (data.input_shape, data.n_classes, data.n_test) == ((3, 32, 32), 100, 100)
    assert data.class_names == names


def test_cifar_files_that_fail_the_md5_check_name_the_fix(tmp_path):
    _write_cifar10(tmp_path / "raw")  # real md5 table: the fixtures do not match it
    assert vision.CIFAR10().available_offline(tmp_path / "raw")
    with pytest.raises(DatasetError) as err:
        prepare("cifar10", tmp_path)
    line = _one_line(err.value)
    assert "incomplete or corrupted" in line and "cifar-10-batches-py" in line and "delete them" in line


# --- SVHN: .mat files ------------------------------------------------------------------------

def _write_svhn(path: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import savemat

    path.parent.mkdir(parents=True, exist_ok=True)
    x = RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)  # H, W, C, N as in the real files
    digits = _labels(n, 10)
    savemat(path, {"X": x, "y": np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]})
    return x.transpose(3, 2, 0, 1), digits


def test_svhn_reads_mat_files_and_maps_ten_to_zero(tmp_path, monkeypatch):
    folder = tmp_path / "raw" / "SVHN"
    train_x, train_y = _write_svhn(folder / "train_32x32.mat", 40)
    _write_svhn(folder / "test_32x32.mat", 20)
    table = {split: [url, name, _md5(folder / name)] if split != "extra" else [url, name, md5]
             for split, (url, name, md5) in tvd.SVHN.split_list.items()}
    monkeypatch.setattr(tvd.SVHN, "split_list", table)
    assert vision.SVHN().available_offline(tmp_path / "raw")
    splits = vision.SVHN().load(tmp_path / "raw")
    assert np.array_equal(splits.train_x, train_x) and np.array_equal(splits.train_y, train_y)
    assert set(splits.test_y.tolist()) == set(range(10))
    data = prepare("svhn", tmp_path)
    assert (data.input_shape, data.n_classes) == ((3, 32, 32), 10)
    assert data.class_names == [str(d) for d in range(10)]


# --- no files, no network --------------------------------------------------------------------

@pytest.mark.parametrize("name, where", [
    ("mnist", "MNIST/raw"), ("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python"),
    ("svhn", "SVHN"), ("fashion-mnist", "FashionMNIST/raw"),
])
def test_no_files_and_no_network_is_one_line(tmp_path, monkeypatch, name, where):
    monkeypatch.setattr(vision.FashionMNIST, "_system_dirs", ())  # as without the Debian package
    assert not resolve(name).available_offline(tmp_path / "raw")
    with pytest.raises(DatasetError) as err:
        prepare(name, tmp_path)
    line = _one_line(err.value)
    assert line.startswith(name) and "needs the network" in line and where in line
    if name == "fashion-mnist":
        assert "sudo apt-get install dataset-fashion-mnist" in line and vision.FASHION_MNIST_ENV in line
    assert not any(p.name.startswith(name) for p in tmp_path.iterdir())  # no cache entry


def test_cli_eval_exits_1_with_one_line_when_offline(tmp_path):
    model = tmp_path / "model.py"
    model.write_text("import torch.nn as nn\n\n\nclass Model(nn.Linear):\n    pass\n")
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), "eval", str(model),
                                       "--dataset", "cifar10", "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cifar10 needs the network" in lines[0], result.stderr


def test_file_names_match_torchvision():
    assert vision._Idx._idx == tuple(name.removesuffix(".gz") for name, _ in tvd.MNIST.resources)
    for ours, theirs in ((vision.CIFAR10, tvd.CIFAR10), (vision.CIFAR100, tvd.CIFAR100)):
        names = [n for n, _ in theirs.train_list + theirs.test_list] + [theirs.meta["filename"]]
        assert ours._files == tuple(f"{theirs.base_folder}/{n}" for n in names)
        assert ours._archive == theirs.filename
    assert vision.SVHN._files == tuple(f"SVHN/{tvd.SVHN.split_list[s][1]}" for s in ("train", "test"))


# --- a local image folder --------------------------------------------------------------------

def _write_folder(root: Path, classes: dict[str, list[tuple[int, int]]], mode: str = "RGB") -> Path:
    for cls, sizes in classes.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i, (w, h) in enumerate(sizes):
            shape = (h, w) if mode == "L" else (h, w, 3)
            Image.fromarray(RNG.integers(0, 256, shape, dtype=np.uint8), mode).save(root / cls / f"{i}.png")
    return root


def test_image_folder_keeps_a_shared_size(tmp_path):
    folder = _write_folder(tmp_path / "pets", {c: [(12, 10)] * 5 for c in ("dog", "cat", "bird")})
    data = prepare(str(folder), tmp_path / "cache")
    assert (data.input_shape, data.n_classes, data.class_names) == ((3, 10, 12), 3, ["bird", "cat", "dog"])
    assert data.n_train + data.n_val + data.n_test == 15
    splits = vision.ImageFolderSource(str(folder)).load(tmp_path / "raw")
    first = np.asarray(Image.open(folder / "bird" / "0.png")).transpose(2, 0, 1)
    assert any(np.array_equal(first, x) for x in np.concatenate([splits.train_x, splits.test_x]))


def test_image_folder_of_grayscale_images_has_one_channel(tmp_path):
    folder = _write_folder(tmp_path / "digits", {c: [(8, 8)] * 4 for c in ("a", "b")}, mode="L")
    assert prepare(str(folder), tmp_path / "cache").input_shape == (1, 8, 8)


def test_image_folder_with_mixed_sizes_is_resized_to_64(tmp_path):
    folder = _write_folder(tmp_path / "mixed", {"a": [(8, 8), (20, 12)] * 2, "b": [(30, 30)] * 4})
    palette = Image.new("P", (16, 16))
    palette.putpalette(list(range(256)) * 3)
    # transparency as bytes: PIL warns on P -> RGB unless it goes via RGBA (warnings are errors here)
    palette.save(folder / "b" / "palette.png", transparency=bytes([0, 128, 255]))
    data = prepare(str(folder), tmp_path / "cache")
    assert data.input_shape == (3, *vision.FOLDER_SIZE[::-1]) == (3, 64, 64)


def test_image_folder_identity_follows_the_files(tmp_path):
    folder = _write_folder(tmp_path / "f", {c: [(8, 8)] * 4 for c in ("a", "b")})
    first = prepare(str(folder), tmp_path / "cache").fingerprint
    assert prepare(str(folder), tmp_path / "cache").fingerprint == first
    _write_folder(folder, {"a": [(8, 8)] * 5})  # rewrites a/0..3 and adds a/4.png
    assert prepare(str(folder), tmp_path / "cache").fingerprint != first


@pytest.mark.parametrize("case, expected", [
    ("empty", "no class sub-folders"),
    ("no_images", "has no images"),
    ("one_class", "single class ('only')"),
    ("too_few", "class 'b' has 2 image(s)"),
    ("unreadable", "b/bad.png is not a readable image"),
])
def test_image_folder_problems_are_one_line(tmp_path, case, expected):
    folder = tmp_path / "imgs"
    folder.mkdir()
    if case == "no_images":
        (folder / "a").mkdir()
        (folder / "a" / "notes.txt").write_text("not an image")
    elif case == "one_class":
        _write_folder(folder, {"only": [(8, 8)] * 5})
    elif case == "too_few":
        _write_folder(folder, {"a": [(8, 8)] * 5, "b": [(8, 8)] * 2})
    elif case == "unreadable":
        _write_folder(folder, {"a": [(8, 8)] * 5, "b": [(8, 8)] * 5})
        (folder / "b" / "bad.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(DatasetError) as err:
        prepare(str(folder), tmp_path / "cache")
    assert expected in _one_line(err.value)
