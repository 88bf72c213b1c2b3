"""The catalog: names and aliases, resolution of paths and ``hf:``/``synthetic:`` specs,
preparation into the cache (once, atomically), and the listing for ``datasets --json``."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from . import _preprocess
from ._base import DatasetSource, PreparedDataset
from ._hf import Cola, Imdb, Qnli, RottenTomatoes, RottenTomatoesReviews, Sst2
from ._openml import Adult, CreditCardFraud, Titanic
from ._sklearn import BreastCancer, Digits, Iris, Synthetic, Wine
from ._table import TableSource, check_drop, table_format
from ._vision import CIFAR10, CIFAR100, MNIST, SVHN, FashionMNIST

# Every named source. Sources with parameters (CSV, hf:, folders, synthetic:...) resolve below.
SOURCES: list[type[DatasetSource]] = [Digits, Iris, Wine, BreastCancer, Synthetic,
                                      FashionMNIST, MNIST, CIFAR10, CIFAR100, SVHN,
                                      Sst2, Cola, Qnli, Imdb, RottenTomatoes, RottenTomatoesReviews,
                                      Titanic, Adult, CreditCardFraud]


def _by_name() -> dict[str, type[DatasetSource]]:
    table = {}
    for cls in SOURCES:
        for key in (cls.name, *cls.aliases):
            table[_key(key)] = cls
    return table


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def names() -> list[str]:
    return sorted(cls.name for cls in SOURCES)


def canonical_name(name: str) -> str:
    """The catalog name for ``name`` (aliases accepted), or a DatasetError with close matches."""
    return resolve(name).name


def spec_kind(name: str) -> str:
    """How the catalog reads ``name``: ``"synthetic"``, ``"hub"``, ``"table"`` (a CSV/TSV/Parquet path,
    or any existing file), ``"folder"`` (an image folder) or ``"catalog"`` (a name or alias).

    The one place that decides what is a path; the CLI asks it (through ``dataset_spec``).
    """
    if name.startswith("synthetic:"):
        return "synthetic"
    if name.startswith("hf:"):
        return "hub"
    path = Path(name).expanduser()
    if table_format(name) is not None or path.is_file():
        return "table"
    if (path.is_dir() and os.sep in name) or name.startswith("."):
        return "folder"
    return "catalog"


def resolve(name: str, target: str | None = None) -> DatasetSource:
    """A source for ``name``: a catalog name, ``synthetic:...``, ``hf:NAME[:CONFIG]``,
    a table file (``.csv``, ``.tsv``, ``.parquet``, optionally compressed; with ``target``), or an image folder."""
    kind = spec_kind(name)
    if kind == "synthetic":
        return Synthetic(name.partition(":")[2])
    if kind == "hub":
        from ._hf import HubSource

        return HubSource(name[3:])
    if kind == "table":
        return TableSource(str(Path(name).expanduser()), target)
    if kind == "folder":
        from ._vision import ImageFolderSource

        return ImageFolderSource(str(Path(name).expanduser()))
    cls = _by_name().get(_key(name))
    if cls is None:
        close = difflib.get_close_matches(_key(name), list(_by_name()), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise DatasetError(
            f"unknown dataset {name!r}; {hint}see `research-agent datasets` for the catalog "
            "(or pass a .csv/.tsv/.parquet path with --target-column, hf:NAME, or an image folder)"
        )
    return cls()


def dataset_spec(name: str, target: str | None = None, drop_columns: tuple[str, ...] = ()) -> str:
    """What to record and later pass to ``prepare``: a catalog name becomes canonical, a path or a
    ``hf:``/``synthetic:`` spec stays as given. Checks it now (one-line ``DatasetError``), and a table
    file's ``drop_columns`` against its header (the rows are not read)."""
    src = resolve(name, target)
    if drop_columns:
        _check_drop_early(src, tuple(drop_columns))
    return src.name if spec_kind(name) == "catalog" else name


def _check_drop_early(src: DatasetSource, drop: tuple[str, ...]) -> None:
    _tables_only(src)
    if isinstance(src, TableSource):
        check_drop(src.columns(), drop, src.target, src.path.name)


def _tables_only(src: DatasetSource) -> None:
    if src.modality != "tabular":
        raise DatasetError(f"--drop-column applies to tables; {src.name} is {src.modality} data")


def get_source(name: str) -> DatasetSource:
    return resolve(name)


def prepare(
    name: str,
    cache_root: Path,
    subset_size: int | None = None,
    test_size: int | None = None,
    target: str | None = None,
    split_seed: int = 0,
    drop_columns: tuple[str, ...] | list[str] = (),
) -> PreparedDataset:
    """Materialize ``name`` into the cache once (atomically) and return the entry.

    ``drop_columns`` (tables only) removes feature columns by name before anything is fitted.
    """
    src = resolve(name, target)
    if drop_columns:
        _tables_only(src)
    opts = _preprocess.PrepOptions(subset_size=subset_size, test_size=test_size, split_seed=split_seed,
                                   drop_columns=tuple(drop_columns))
    params = {"source": src.identity(), "options": opts.model_dump(),
              "val_fraction": _preprocess.VAL_FRACTION, "preprocess": _preprocess.PREPROCESS_VERSION}
    fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    cache_root = Path(cache_root)
    entry = cache_root / f"{_safe(src.name)}-{fingerprint}"
    if not (entry / "meta.json").exists():
        _materialize(src, params, opts, entry, cache_root)
    meta = json.loads((entry / "meta.json").read_text())
    extra = {k: meta[k] for k in ("vocab_size", "pad_id", "max_len", "columns") if k in meta}
    return PreparedDataset(
        name=src.name, modality=meta["modality"], n_classes=meta["n_classes"],
        input_shape=tuple(meta["input_shape"]), n_train=meta["n_train"], n_val=meta["n_val"],
        n_test=meta["n_test"], fingerprint=fingerprint, public_dir=entry / "public",
        hidden_dir=entry / "hidden", class_names=meta.get("class_names", []), extra=extra,
    )


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]


def _materialize(src, params, opts, entry: Path, cache_root: Path) -> None:
    raw = src.load(cache_root / "raw")
    if opts.drop_columns:  # after the load: a catalog table's columns are known only now
        columns = [str(c) for c in getattr(raw.train_x, "columns", range(np.shape(raw.train_x)[1]))]
        check_drop(columns, opts.drop_columns, getattr(src, "target", None), src.name)
    arrays, meta = _preprocess.build(raw, src.modality, opts)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    try:
        (tmp / "public").mkdir()
        (tmp / "hidden").mkdir()
        for key, arr in arrays.items():
            folder = "hidden" if key == "test_y" else "public"
            np.save(tmp / folder / f"{key}.npy", arr, allow_pickle=False)
        counts = {"n_train": len(arrays["train_y"]), "n_val": len(arrays["val_y"]),
                  "n_test": len(arrays["test_y"])}
        (tmp / "public" / "meta.json").write_text(json.dumps(meta | counts, indent=2))
        (tmp / "meta.json").write_text(json.dumps(meta | counts | {"params": params}, indent=2))
        _readable_by_sandbox(tmp / "public")
        os.chmod(tmp, 0o755)
        os.chmod(tmp / "hidden", 0o700)  # the sandbox user never needs these
        if entry.exists() and not (entry / "meta.json").exists():
            # A stale, half-written entry (from before atomic writes, or a hand edit): never reused.
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)  # a half-written entry is never visible under its real name
        except OSError:  # another process prepared it first: theirs is as good as ours
            if not (entry / "meta.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _readable_by_sandbox(folder: Path) -> None:
    os.chmod(folder, 0o755)
    for path in folder.iterdir():
        os.chmod(path, 0o644)


def is_cached(src: DatasetSource, cache_root: Path) -> bool:
    """True when any prepared entry of this source exists in the cache."""
    return any(p.is_dir() and (p / "meta.json").exists()
               for p in Path(cache_root).glob(f"{_safe(src.name)}-*"))


def listing(cache_root: Path) -> list[dict]:
    """One dict per catalog entry, for ``research-agent datasets --json``."""
    rows = []
    for cls in SOURCES:
        src = cls()
        rows.append({
            "name": src.name, "aliases": list(src.aliases), "modality": src.modality,
            "n_classes": src.n_classes,
            "input_shape": list(src.input_shape) if src.input_shape else None,
            "source": src.source, "license": src.license,
            "available_offline": bool(src.available_offline(Path(cache_root) / "raw")),
            "cached": is_cached(src, cache_root),
        })
    return rows
