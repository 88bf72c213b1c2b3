"""A local table file: ``--dataset path/to/data.csv --target-column COLUMN``.

CSV, TSV and Parquet, each optionally compressed (``.csv.gz``, ``.tsv.bz2``, ...: pandas infers the
codec from the suffix). A file with another suffix is read as CSV, as before this module knew
other formats. Dropping columns (``--drop-column``) happens in the preprocessing, for every table;
this module only checks the names against the file's header early, before anything is loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import DatasetError
from ._base import DatasetSource, RawSplits
from ._sklearn import fixed_split

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip", ".zst")  # what pandas' compression="infer" reads
_SEPARATORS = {"csv": ",", "tsv": "\t"}


def table_format(path: str | Path) -> str | None:
    """``"csv"``, ``"tsv"`` or ``"parquet"`` from the suffix (a compression suffix is looked through)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


class TableSource(DatasetSource):
    modality = "tabular"
    license = "the file's own"

    def __init__(self, path: str, target: str | None):
        self.path = Path(path)
        self.format = table_format(self.path) or "csv"
        self.name = f"{self.format}:{self.path.name}"
        self.source = f"local {self.format.upper()} {self.path}"
        if not target:
            raise DatasetError(f"{self.path.name}: add --target-column COLUMN to say which column is the label")
        self.target = target

    def identity(self) -> dict:
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.is_file() else ""
        return {"name": self.name, "sha256": digest, "target": self.target}

    def columns(self) -> list[str]:
        """The header, without reading the rows."""
        return [str(c) for c in read_table(self.path, self.format, header_only=True).columns]

    def load(self, cache_root: Path) -> RawSplits:
        return split_frame(read_table(self.path, self.format), self.target, self.path.name)


def read_table(path: Path, fmt: str, header_only: bool = False):
    import pandas as pd

    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        frame = _read_parquet(path, header_only) if fmt == "parquet" else pd.read_csv(
            path, sep=_SEPARATORS[fmt], nrows=0 if header_only else None)
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(f"{path.name} is empty; it needs a header row and data rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise DatasetError(f"{path.name} is not a readable {fmt.upper()} file: {first}") from exc
    if frame.empty and not header_only:
        raise DatasetError(f"{path.name} has a header but no data rows")
    return frame


def _read_parquet(path: Path, header_only: bool):
    import pandas as pd

    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DatasetError(f"{path.name}: reading Parquet needs pyarrow; `pip install pyarrow`") from exc
    if header_only:
        return pd.DataFrame(columns=pq.ParquetFile(path).schema_arrow.names)
    return pd.read_parquet(path, engine="pyarrow")


def split_frame(frame, target: str, label: str) -> RawSplits:
    if target not in frame.columns:
        cols = ", ".join(map(str, list(frame.columns)[:12]))
        raise DatasetError(f"{label}: no column {target!r}; columns are: {cols}")
    frame = frame[frame[target].notna()].reset_index(drop=True)
    y = frame[target].to_numpy()
    if len(set(y.tolist())) < 2:
        raise DatasetError(f"{label}: the target {target!r} has a single class; a classifier needs two or more")
    x = frame.drop(columns=[target])
    if x.shape[1] == 0:
        raise DatasetError(f"{label}: no feature columns besides the target {target!r}")
    return fixed_split(x, y.astype(str) if y.dtype == object else y)


def check_drop(columns: list[str], drop: tuple[str, ...], target: str | None, label: str) -> None:
    """One line for a ``--drop-column`` that names no column, the target, or every feature."""
    if target is not None and target in drop:
        raise DatasetError(f"{label}: --drop-column {target!r} is the label column (--target-column); "
                           "drop only feature columns")
    unknown = [c for c in drop if c not in columns]
    if unknown:
        real = ", ".join(c for c in columns if c != target)
        shown = real if len(real) <= 300 else real[:300] + ", ..."
        raise DatasetError(f"{label}: --drop-column {unknown[0]!r} is not a column; the columns are: {shown}")
    if not [c for c in columns if c not in drop and c != target]:
        raise DatasetError(f"{label}: --drop-column leaves no feature column; keep at least one")
