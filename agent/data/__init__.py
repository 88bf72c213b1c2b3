"""Datasets: a catalog of sources, prepared once into a cache; test labels stay on the host."""

from ._base import MODALITIES, DatasetSource, PreparedDataset, RawSplits
from ._catalog import (
    DEFAULT_DATASET,
    SOURCES,
    canonical_name,
    dataset_spec,
    get_source,
    listing,
    names,
    prepare,
    resolve,
    spec_kind,
)
from ._preprocess import PAD_ID, UNK_ID, PrepOptions

__all__ = [
    "DEFAULT_DATASET",
    "MODALITIES",
    "PAD_ID",
    "SOURCES",
    "UNK_ID",
    "DatasetSource",
    "PrepOptions",
    "PreparedDataset",
    "RawSplits",
    "canonical_name",
    "dataset_spec",
    "get_source",
    "listing",
    "names",
    "prepare",
    "resolve",
    "spec_kind",
]
