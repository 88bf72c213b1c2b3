"""Dataset names, aliases, and preparation into the cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from ..errors import DatasetError
from ._base import DatasetSource, PreparedDataset, RawSplits
from ._sklearn import BreastCancer, Digits, Iris, Wine

DEFAULT_DATASET = "digits"
VAL_FRACTION = 0.1  # validation comes out of train, stratified
_SOURCES: dict[str, type[DatasetSource]] = {
    cls.name: cls for cls in (Digits, Iris, Wine, BreastCancer)
}


def canonical_name(name: str) -> str:
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key not in _SOURCES:
        known = ", ".join(sorted(_SOURCES))
        raise DatasetError(f"unknown dataset {name!r}; choose one of: {known}")
    return key


def names() -> list[str]:
    return sorted(_SOURCES)


def get_source(name: str) -> DatasetSource:
    return _SOURCES[canonical_name(name)]()


def prepare(
    name: str, cache_root: Path, subset_size: int | None = None, split_seed: int = 0
) -> PreparedDataset:
    """Materialize ``name`` into the cache once (atomically) and return the entry."""
    src = get_source(name)
    params = {"name": src.name, "version": src.version, "subset": subset_size,
              "split_seed": split_seed, "val_fraction": VAL_FRACTION, "preprocess": "standardize-train"}
    fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    entry = Path(cache_root) / f"{src.name}-{fingerprint}"
    if not (entry / "meta.json").exists():
        _materialize(src, params, entry, subset_size, split_seed)
    meta = json.loads((entry / "meta.json").read_text())
    return PreparedDataset(
        name=src.name, modality=src.modality, n_classes=src.n_classes,
        input_shape=tuple(src.input_shape), n_train=meta["n_train"], n_val=meta["n_val"],
        n_test=meta["n_test"], fingerprint=fingerprint,
        public_dir=entry / "public", hidden_dir=entry / "hidden",
    )


def _materialize(src, params, entry: Path, subset_size, split_seed) -> None:
    raw = src.load()
    arrays = _splits(raw, subset_size, split_seed)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    try:
        (tmp / "public").mkdir()
        (tmp / "hidden").mkdir()
        for key, arr in arrays.items():
            folder = "hidden" if key == "test_y" else "public"
            np.save(tmp / folder / f"{key}.npy", arr, allow_pickle=False)
        meta = params | {"n_train": len(arrays["train_y"]), "n_val": len(arrays["val_y"]),
                         "n_test": len(arrays["test_y"]), "n_classes": src.n_classes}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        _readable_by_sandbox(tmp / "public")
        os.chmod(tmp, 0o755)
        os.chmod(tmp / "hidden", 0o700)  # the sandbox user never needs these
        os.replace(tmp, entry)  # a half-written entry is never visible under its real name
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _splits(raw: RawSplits, subset_size: int | None, seed: int) -> dict[str, np.ndarray]:
    x, y = raw.train_x, raw.train_y
    if subset_size is not None and subset_size < len(y):
        x, _, y, _ = train_test_split(x, y, train_size=subset_size, stratify=y, random_state=seed)
    tr_x, va_x, tr_y, va_y = train_test_split(
        x, y, test_size=VAL_FRACTION, stratify=y, random_state=seed
    )
    mean, std = tr_x.mean(), tr_x.std() or 1.0
    if tr_x.ndim == 2:  # tabular: per-feature standardization
        mean, std = tr_x.mean(0), np.where(tr_x.std(0) > 0, tr_x.std(0), 1.0)
    norm = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return {"train_x": norm(tr_x), "train_y": tr_y, "val_x": norm(va_x), "val_y": va_y,
            "test_x": norm(raw.test_x), "test_y": raw.test_y}


def _readable_by_sandbox(folder: Path) -> None:
    os.chmod(folder, 0o755)
    for path in folder.iterdir():
        os.chmod(path, 0o644)
