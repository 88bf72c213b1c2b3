"""Datasets: a catalog of sources, prepared once into a cache; test labels stay on the host."""

from .._lazy import attach

# Names import from their submodule on first use: a command pays only for what it touches.
__getattr__, __dir__, __all__ = attach(__name__, {
    "._base": ["MODALITIES", "DatasetSource", "PreparedDataset", "RawSplits"],
    "..defaults": ["DEFAULT_DATASET"],
    "._catalog": [
        "SOURCES", "canonical_name", "dataset_spec", "get_source", "listing", "names",
        "prepare", "resolve", "spec_kind"
    ],
    "._preprocess": ["PAD_ID", "UNK_ID", "PrepOptions"],
})
