"""The dataset plugin boundary and the records around it."""

from __future__ import annotations

import abc
import functools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..specs import DataShape

MODALITIES = ("image", "tabular", "text")


class RawSplits(BaseModel):
    """A source's data before preprocessing: the official train/test split.

    Features by modality: ``image`` -> ndarray ``(N, C, H, W)`` or ``(N, H, W)`` (uint8 or
    float); ``tabular`` -> ``pandas.DataFrame`` or 2-D ndarray; ``text`` -> sequence of str.
    Labels are anything sortable (ints or strings); they are encoded on the host.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    train_x: Any
    train_y: np.ndarray
    test_x: Any
    test_y: np.ndarray
    class_names: list[str] | None = None


class DatasetSource(abc.ABC):
    """One dataset.

    Contract: ``load`` is deterministic; it returns the official test split where the
    dataset has one (else ``fixed_split``); it never touches the network when
    ``available_offline`` is True; when it needs the network and cannot reach it, it raises
    ``DatasetError`` with one line saying so and where to put the files. ``identity`` names
    everything that changes the data (it feeds the cache fingerprint).
    """

    name: str
    aliases: tuple[str, ...] = ()
    modality: str
    n_classes: int | None = None  # None: known only after loading (CSV, hf:...)
    input_shape: tuple[int, ...] | None = None
    source: str = ""
    license: str = ""
    version: str = "1"
    needs_network: bool = False

    def available_offline(self, cache_root: Path) -> bool:
        """True when ``load`` can run right now without the network."""
        return not self.needs_network

    def identity(self) -> dict:
        return {"name": self.name, "version": self.version}

    @abc.abstractmethod
    def load(self, cache_root: Path) -> RawSplits:
        """Return the raw splits; ``cache_root`` is where downloads/raw files may live."""


class PreparedDataset(BaseModel):
    """A cache entry: ``public_dir`` is what the sandbox may see; ``test_y`` never enters it."""

    model_config = ConfigDict(frozen=True)

    name: str
    modality: str
    n_classes: int
    input_shape: tuple[int, ...]
    n_train: int
    n_val: int
    n_test: int
    fingerprint: str
    public_dir: Path
    hidden_dir: Path
    class_names: list[str] = []
    extra: dict = {}

    def test_labels(self) -> np.ndarray:
        """Read once per process and shared, read-only (every trial of a run scores against it)."""
        return _labels(*_stamp(self.hidden_dir / "test_y.npy"))

    def val_labels(self) -> np.ndarray:
        return _labels(*_stamp(self.public_dir / "val_y.npy"))

    @property
    def shape(self) -> DataShape:
        """What a rendered model must fit (the planner's and the templates' view of this data)."""
        return DataShape(modality=self.modality, input_shape=self.input_shape, n_classes=self.n_classes,
                         vocab_size=self.extra.get("vocab_size"), pad_id=self.extra.get("pad_id"))

    def card(self) -> dict:
        """The report's ``dataset`` block. ``class_names[i]`` names class ``i`` (per-class metrics and
        the confusion matrix are indexed by it); a table adds ``columns``: what each became."""
        return {
            "name": self.name,
            "modality": self.modality,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "n_test": self.n_test,
            "n_classes": self.n_classes,
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
            "fingerprint": self.fingerprint,
        } | self.extra


def _stamp(path: Path) -> tuple[Path, int, int]:
    """The file and its version: a cache entry prepared again at the same place is read again."""
    st = path.stat()
    return path, st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=8)  # a few datasets per process at most; each entry is its label array
def _labels(path: Path, mtime_ns: int, size: int) -> np.ndarray:
    labels = np.load(path, allow_pickle=False)
    labels.flags.writeable = False
    return labels
