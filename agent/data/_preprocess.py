"""From raw splits to the arrays the sandbox sees. Every statistic is fitted on train only."""

from __future__ import annotations

import re
import sys
from collections import Counter

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..errors import DatasetError
from ._base import RawSplits

PREPROCESS_VERSION = "3"  # bump when any transform below changes: it invalidates the cache
VAL_FRACTION = 0.1  # validation comes out of train, stratified
PAD_ID, UNK_ID = 0, 1
_TOKEN = re.compile(r"[a-z0-9']+")


class PrepOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subset_size: int | None = None
    test_size: int | None = None
    split_seed: int = 0
    text_max_len: int = 128
    text_max_vocab: int = 20_000
    drop_columns: tuple[str, ...] = ()  # tables only: identifiers and leaks, by column name


def build(raw: RawSplits, modality: str, opts: PrepOptions) -> tuple[dict[str, np.ndarray], dict]:
    """Return ``(arrays, public_meta)``; arrays include the hidden ``test_y``."""
    train_y, test_y, class_names = _encode_labels(raw)
    train_x, test_x = raw.train_x, raw.test_x
    if opts.subset_size is not None and opts.subset_size < len(train_y):
        train_x, train_y = _stratified_take(train_x, train_y, opts.subset_size, opts.split_seed)
    if opts.test_size is not None and opts.test_size < len(test_y):
        test_x, test_y = _stratified_take(test_x, test_y, opts.test_size, opts.split_seed)
    tr_idx, va_idx = _val_split(train_y, opts.split_seed)
    fit = {"image": _images, "tabular": _tabular, "text": _text}[modality]
    (tr_x, va_x, te_x), meta = fit(_take(train_x, tr_idx), _take(train_x, va_idx), test_x, opts)
    arrays = {"train_x": tr_x, "train_y": train_y[tr_idx], "val_x": va_x,
              "val_y": train_y[va_idx], "test_x": te_x, "test_y": test_y}
    meta = {"modality": modality, "n_classes": len(class_names), "class_names": class_names,
            "input_shape": list(tr_x.shape[1:])} | meta
    return arrays, meta


def _encode_labels(raw: RawSplits) -> tuple[np.ndarray, np.ndarray, list[str]]:
    train_y = np.asarray(raw.train_y)
    if len(train_y) == 0:
        raise DatasetError("the dataset has no training rows; check the file or the split")
    classes = np.unique(train_y)
    if len(classes) < 2:
        raise DatasetError(f"the target has a single class ({classes[0]!r}); a classifier needs two or more")
    test_y = np.asarray(raw.test_y)
    unseen = sorted(set(np.unique(test_y).tolist()) - set(classes.tolist()))
    if unseen:
        raise DatasetError(f"the test split has classes never seen in train: {unseen[:5]}")
    names = raw.class_names or [str(c) for c in classes]
    encode = {c: i for i, c in enumerate(classes.tolist())}
    as_int = lambda ys: np.array([encode[y] for y in ys.tolist()], dtype=np.int64)  # noqa: E731
    return as_int(train_y), as_int(test_y), list(names)


def _take(x, idx):
    if hasattr(x, "iloc"):
        return x.iloc[idx].reset_index(drop=True)
    if isinstance(x, np.ndarray):
        return x[idx]
    return [x[i] for i in idx]


def _stratified_take(x, y, size: int, seed: int):
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 and size >= len(counts) else None
    keep, _ = train_test_split(idx, train_size=size, stratify=stratify, random_state=seed)
    keep = np.sort(keep)
    return _take(x, keep), y[keep]


def _val_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    n_val = max(int(round(len(y) * VAL_FRACTION)), len(np.unique(y)))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    tr, va = train_test_split(idx, test_size=n_val, stratify=stratify, random_state=seed)
    return np.sort(tr), np.sort(va)


def _images(train, val, test, opts: PrepOptions):
    def shaped(a):
        a = np.asarray(a)
        return a[:, None] if a.ndim == 3 else a

    train, val, test = shaped(train), shaped(val), shaped(test)
    scale = 255.0 if train.dtype == np.uint8 else 1.0
    tr = train.astype(np.float32) / scale
    mean = tr.mean(axis=(0, 2, 3), keepdims=True)
    std = tr.std(axis=(0, 2, 3), keepdims=True)
    std[std == 0] = 1.0
    norm = lambda a: ((a.astype(np.float32) / scale - mean) / std).astype(np.float32)  # noqa: E731
    meta = {"normalization": {"mean": mean.ravel().tolist(), "std": std.ravel().tolist()}}
    return (norm(train), norm(val), norm(test)), meta


def _tabular(train, val, test, opts: PrepOptions):
    from ._vectorize import TableEncoder

    frames = [_frame(x) for x in (train, val, test)]
    dropped = dict.fromkeys(opts.drop_columns, "dropped (--drop-column)")
    train = frames[0].drop(columns=list(dropped))
    empty = [c for c in train.columns if train[c].isna().all()]
    if empty:
        print(f"note: dropping columns with no values in train: {', '.join(empty[:10])}", file=sys.stderr)
        dropped |= dict.fromkeys(empty, "dropped (no values in train)")
    train, val, test = (f.drop(columns=list(dropped)) for f in frames)
    if train.shape[1] == 0:
        raise DatasetError("no feature column has any value; check the file, --target-column and --drop-column")
    encoder = TableEncoder().fit(train)
    kept = encoder.describe()
    columns = {c: kept.get(c) or dropped.get(c) or "dropped (no information in train)" for c in frames[0].columns}
    meta = {"columns": columns, "features": encoder.kinds()}
    return (encoder.transform(train), encoder.transform(val), encoder.transform(test)), meta


def _frame(x):
    import pandas as pd

    frame = x if hasattr(x, "columns") else pd.DataFrame(x)
    return frame.set_axis([str(c) for c in frame.columns], axis=1)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(str(text).lower())


def _text(train, val, test, opts: PrepOptions):
    counts = Counter(tok for doc in train for tok in tokenize(doc))
    vocab = [w for w, _ in counts.most_common(opts.text_max_vocab - 2)]
    index = {w: i + 2 for i, w in enumerate(vocab)}

    def encode(docs) -> np.ndarray:
        out = np.full((len(docs), opts.text_max_len), PAD_ID, dtype=np.int64)
        for row, doc in enumerate(docs):
            ids = [index.get(t, UNK_ID) for t in tokenize(doc)][: opts.text_max_len]
            out[row, : len(ids)] = ids
        return out

    meta = {"vocab_size": len(vocab) + 2, "pad_id": PAD_ID, "unk_id": UNK_ID,
            "max_len": opts.text_max_len, "tokenizer": "lowercase [a-z0-9']+ words"}
    return (encode(train), encode(val), encode(test)), meta
