"""scikit-learn's bundled datasets (in its wheel: always offline)."""

from __future__ import annotations

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

from ._base import DatasetSource, RawSplits

SPLIT_SEED = 0  # fixed: every run and every user gets the same test set
TEST_FRACTION = 0.25


def _split(x: np.ndarray, y: np.ndarray) -> RawSplits:
    tr_x, te_x, tr_y, te_y = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    return RawSplits(
        train_x=tr_x.astype(np.float32),
        train_y=tr_y.astype(np.int64),
        test_x=te_x.astype(np.float32),
        test_y=te_y.astype(np.int64),
    )


class Digits(DatasetSource):
    name = "digits"
    modality = "image"
    n_classes = 10
    input_shape = (1, 8, 8)
    source = "scikit-learn load_digits (UCI optical recognition of handwritten digits)"
    license = "CC BY 4.0"

    def load(self) -> RawSplits:
        bunch = datasets.load_digits()
        return _split(bunch.images[:, None, :, :], bunch.target)


class _Tabular(DatasetSource):
    modality = "tabular"
    license = "CC BY 4.0"
    _loader = staticmethod(datasets.load_iris)

    def load(self) -> RawSplits:
        bunch = self._loader()
        return _split(bunch.data, bunch.target)


class Iris(_Tabular):
    name, n_classes, input_shape = "iris", 3, (4,)
    source = "scikit-learn load_iris (UCI)"
    _loader = staticmethod(datasets.load_iris)


class Wine(_Tabular):
    name, n_classes, input_shape = "wine", 3, (13,)
    source = "scikit-learn load_wine (UCI)"
    _loader = staticmethod(datasets.load_wine)


class BreastCancer(_Tabular):
    name, n_classes, input_shape = "breast-cancer", 2, (30,)
    source = "scikit-learn load_breast_cancer (UCI Wisconsin diagnostic)"
    _loader = staticmethod(datasets.load_breast_cancer)
