"""scikit-learn's bundled datasets (in its wheel: always offline) and synthetic data.

scikit-learn is imported where a set is loaded or split: the catalog (`datasets`) lists these
without paying its second of imports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ._base import DatasetSource, RawSplits

SPLIT_SEED = 0  # fixed: every run and every user gets the same test set
TEST_FRACTION = 0.25


def fixed_split(x, y: np.ndarray, class_names: list[str] | None = None) -> RawSplits:
    """The fixed stratified split for datasets without an official test split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    counts = np.unique(y, return_counts=True)[1]
    stratify = y if counts.min() >= 2 else None
    tr, te = train_test_split(idx, test_size=TEST_FRACTION, stratify=stratify, random_state=SPLIT_SEED)
    take = (lambda a, i: a.iloc[i].reset_index(drop=True)) if hasattr(x, "iloc") else (
        lambda a, i: a[i] if isinstance(a, np.ndarray) else [a[j] for j in i])
    return RawSplits(train_x=take(x, np.sort(tr)), train_y=np.asarray(y)[np.sort(tr)],
                     test_x=take(x, np.sort(te)), test_y=np.asarray(y)[np.sort(te)],
                     class_names=class_names)


class Digits(DatasetSource):
    name = "digits"
    modality = "image"
    n_classes = 10
    input_shape = (1, 8, 8)
    source = "scikit-learn load_digits (UCI optical recognition of handwritten digits)"
    license = "CC BY 4.0"

    def load(self, cache_root: Path) -> RawSplits:
        from sklearn import datasets

        bunch = datasets.load_digits()
        return fixed_split(bunch.images[:, None, :, :].astype(np.float32), bunch.target)


class _Bundled(DatasetSource):
    modality = "tabular"
    license = "CC BY 4.0"
    _loader = "load_iris"  # the sklearn.datasets function

    def load(self, cache_root: Path) -> RawSplits:
        from sklearn import datasets

        bunch = getattr(datasets, self._loader)()
        names = [str(n) for n in getattr(bunch, "target_names", [])] or None
        return fixed_split(bunch.data.astype(np.float32), bunch.target, names)


class Iris(_Bundled):
    name, n_classes, input_shape = "iris", 3, (4,)
    source = "scikit-learn load_iris (UCI)"
    _loader = "load_iris"


class Wine(_Bundled):
    name, n_classes, input_shape = "wine", 3, (13,)
    source = "scikit-learn load_wine (UCI)"
    _loader = "load_wine"


class BreastCancer(_Bundled):
    name, n_classes, input_shape = "breast-cancer", 2, (30,)
    aliases = ("breast_cancer", "breastcancer")
    source = "scikit-learn load_breast_cancer (UCI Wisconsin diagnostic)"
    _loader = "load_breast_cancer"


class Synthetic(DatasetSource):
    """``synthetic`` or ``synthetic:samples=2000,features=20,classes=3,noise=0.05,seed=0``;
    ``image=1x8x8`` makes it an image dataset (features = C*H*W)."""

    name = "synthetic"
    modality = "tabular"
    source = "scikit-learn make_classification"
    license = "generated"
    DEFAULTS = {"samples": 2000, "features": 20, "classes": 3, "noise": 0.05, "seed": 0, "image": ""}

    def __init__(self, spec: str = ""):
        self.params = dict(self.DEFAULTS)
        for part in filter(None, spec.split(",")):
            key, _, value = part.partition("=")
            if key not in self.DEFAULTS or not value:
                raise DatasetError(f"synthetic: unknown option {part!r}; use {', '.join(self.DEFAULTS)}")
            self.params[key] = value if key == "image" else type(self.DEFAULTS[key])(float(value))
        self.image_shape = tuple(int(v) for v in self.params["image"].split("x")) if self.params["image"] else None
        if self.image_shape:
            self.modality = "image"
            self.params["features"] = int(np.prod(self.image_shape))
        self.n_classes = int(self.params["classes"])
        self.input_shape = self.image_shape or (int(self.params["features"]),)

    def identity(self) -> dict:
        return super().identity() | {"params": self.params}

    def load(self, cache_root: Path) -> RawSplits:
        from sklearn import datasets

        p = self.params
        informative = max(2, min(int(p["features"]), int(np.ceil(np.log2(p["classes"] * 2))) + 2))
        x, y = datasets.make_classification(
            n_samples=int(p["samples"]), n_features=int(p["features"]), n_informative=informative,
            n_redundant=0, n_classes=int(p["classes"]), flip_y=float(p["noise"]),
            random_state=int(p["seed"]))
        x = x.astype(np.float32)
        if self.image_shape:
            x = x.reshape(len(x), *self.image_shape)
        return fixed_split(x, y)
