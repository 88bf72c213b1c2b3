"""Datasets: a catalog of sources, prepared once into a cache; test labels stay on the host."""

from ._base import DatasetSource, PreparedDataset, RawSplits
from ._catalog import DEFAULT_DATASET, canonical_name, get_source, names, prepare

__all__ = [
    "DEFAULT_DATASET",
    "DatasetSource",
    "PreparedDataset",
    "RawSplits",
    "canonical_name",
    "get_source",
    "names",
    "prepare",
]
