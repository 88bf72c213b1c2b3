"""A local CSV file: ``--dataset path/to/file.csv --target COLUMN``."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import DatasetError
from ._base import DatasetSource, RawSplits
from ._sklearn import fixed_split


class CsvSource(DatasetSource):
    modality = "tabular"
    license = "the file's own"

    def __init__(self, path: str, target: str | None):
        self.path = Path(path)
        self.name = f"csv:{self.path.name}"
        self.source = f"local CSV {self.path}"
        if not target:
            raise DatasetError(f"{self.path.name}: add --target COLUMN to say which column is the label")
        self.target = target

    def identity(self) -> dict:
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.is_file() else ""
        return {"name": self.name, "sha256": digest, "target": self.target}

    def load(self, cache_root: Path, progress=None) -> RawSplits:
        return split_frame(read_csv(self.path), self.target, self.path.name)


def read_csv(path: Path):
    import pandas as pd

    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(f"{path.name} is empty; it needs a header row and data rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path.name} is not a readable CSV: {str(exc).splitlines()[0][:120]}") from exc
    if frame.empty:
        raise DatasetError(f"{path.name} has a header but no data rows")
    return frame


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
