"""The dataset plugin boundary and the prepared-dataset record."""

from __future__ import annotations

import abc
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict


class RawSplits(BaseModel):
    """A source's arrays before caching: official train/test split, labels as int64."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


class DatasetSource(abc.ABC):
    """One dataset. Contract: ``load`` is deterministic, needs no network unless
    ``available_offline`` is False, and returns the official test split where one exists
    (else a fixed stratified split). Preprocessing statistics come from train only."""

    name: str
    modality: str  # "image" | "tabular" | "text"
    n_classes: int
    input_shape: tuple[int, ...]
    source: str
    license: str
    version: str = "1"

    def available_offline(self) -> bool:
        return True

    @abc.abstractmethod
    def load(self) -> RawSplits:
        """Return the raw splits (features already shaped ``(N, *input_shape)``)."""


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

    def test_labels(self) -> np.ndarray:
        return np.load(self.hidden_dir / "test_y.npy", allow_pickle=False)

    def card(self) -> dict:
        return {
            "name": self.name,
            "modality": self.modality,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "n_test": self.n_test,
            "n_classes": self.n_classes,
            "input_shape": list(self.input_shape),
            "fingerprint": self.fingerprint,
        }
