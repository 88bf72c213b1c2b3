"""OpenML datasets, offline: tiny titanic/adult/credit-card-fraud written as the files
``sklearn.datasets.fetch_openml`` keeps in its cache (gzipped JSON description, features and
qualities, and the ARFF data at its URL's path), read through the real ``fetch_openml`` while its
``urlopen`` raises. Then the preprocessing: one-hot low-cardinality strings, a fixed-width encoding
for high-cardinality ones, scaled numerics, imputed NaNs, all fitted on the training rows only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import _openml as sk_openml

from agent.data import _preprocess, prepare, resolve
from agent.data._openml import cached_files
from agent.errors import DatasetError
from tests.unit.data._tables_reference import fit_on_train_only

pytestmark = pytest.mark.usefixtures("no_network")
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def urlopen_calls(monkeypatch) -> list[str]:
    """fetch_openml's only way out; it refuses like a machine without a network, and counts."""
    calls: list[str] = []

    def refuse(request, *args, **kwargs):
        calls.append(getattr(request, "full_url", str(request)))
        raise URLError("[Errno -3] Temporary failure in name resolution (test: offline)")

    monkeypatch.setattr(sk_openml, "urlopen", refuse)
    return calls


def arff_value(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "?"
    return f'"{value}"' if isinstance(value, str) and ("," in value or " " in value) else str(value)


def write_openml_cache(cache_root: Path, data_id: int, name: str, frame: pd.DataFrame,
                       types: dict[str, str], target: str) -> None:
    """The four files fetch_openml reads for ``data_id``, in its cache layout, as OpenML serves them.
    Nominal values are written bare, except adult's ``sex`` in single quotes (some OpenML files do)."""
    base = cache_root / "openml" / "openml.org"
    header = [f"@RELATION {name}"]
    for col in frame.columns:
        kind = types[col]
        values = sorted(frame[col].dropna().astype(str).unique()) if kind == "nominal" else []
        header.append(f"@ATTRIBUTE '{col}' " + ("{" + ",".join(values) + "}" if values else kind.upper()))
    quoted = frame.assign(sex=[f"'{v}'" for v in frame["sex"]]) if name == "adult" else frame
    rows = [",".join(arff_value(v) for v in row) for row in quoted.astype(object).itertuples(index=False)]
    arff = "\n".join(header + ["@DATA"] + rows) + "\n"
    file_id = 10_000 + data_id
    url = f"https://api.openml.org/data/v1/download/{file_id}/{name}.arff"
    nominal = [col for col in frame if types[col] == "nominal"]
    levels = {col: sorted(frame[col].dropna().astype(str).unique()) for col in nominal}
    features = [{
        "index": str(i), "name": col, "data_type": types[col], "is_target": str(col == target).lower(),
        "is_ignore": "false", "is_row_identifier": "false",
        "number_of_missing_values": str(int(frame[col].isna().sum())),
    } | ({"nominal_value": levels[col]} if col in levels else {}) for i, col in enumerate(frame.columns)]
    documents = {
        f"api/v1/json/data/{data_id}": {"data_set_description": {
            "id": str(data_id), "name": name, "version": "1", "description": f"{name} (test copy)",
            "format": "ARFF", "file_id": str(file_id), "default_target_attribute": target,
            "status": "active", "url": url, "md5_checksum": hashlib.md5(arff.encode()).hexdigest()}},
        f"api/v1/json/data/features/{data_id}": {"data_features": {"feature": features}},
        f"api/v1/json/data/qualities/{data_id}": {"data_qualities": {"quality": [
            {"name": "NumberOfInstances", "value": f"{len(frame)}.0"}]}},
    }
    for path, doc in documents.items():
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(base / f"{path}.gz", "wt", encoding="utf-8") as fh:
            json.dump(doc, fh)
    arff_path = base / f"data/v1/download/{file_id}/{name}.arff.gz"
    arff_path.parent.mkdir(parents=True)
    with gzip.open(arff_path, "wt", encoding="utf-8") as fh:
        fh.write(arff)


def with_missing(values: np.ndarray, fraction: float) -> list:
    return [None if RNG.random() < fraction else v for v in values.tolist()]


def titanic(n: int = 60) -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame({
        "pclass": RNG.integers(1, 4, n), "survived": RNG.integers(0, 2, n).astype(str),
        "name": [f"Person{i}, Mr. N" for i in range(n)], "sex": RNG.choice(["female", "male"], n),
        "age": with_missing(RNG.uniform(1, 70, n).round(1), 0.2), "sibsp": RNG.integers(0, 3, n),
        "parch": RNG.integers(0, 3, n), "ticket": [f"T{i}" for i in range(n)],
        "fare": RNG.uniform(5, 200, n).round(2),
        "cabin": with_missing(RNG.choice(["B5", "C22", "E12"], n), 0.6),
        "embarked": with_missing(RNG.choice(["C", "Q", "S"], n), 0.1),
        "boat": with_missing(RNG.choice(["2", "5", "13"], n), 0.5),
        "body": with_missing(RNG.integers(1, 300, n), 0.9),
        "home.dest": [f"Town{i % 7}, ST" for i in range(n)],
    })
    types = {c: "numeric" for c in frame} | {c: "nominal" for c in ("survived", "sex", "embarked")} | {
        c: "string" for c in ("name", "ticket", "cabin", "boat", "home.dest")}
    return frame, types


def adult(n: int = 60) -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame({
        "age": RNG.integers(17, 90, n),
        "workclass": with_missing(RNG.choice(["Private", "State-gov"], n), 0.15),
        "education-num": RNG.integers(1, 16, n), "sex": RNG.choice(["Female", "Male"], n),
        "hours-per-week": RNG.integers(10, 80, n), "class": RNG.choice([">50K", "<=50K"], n),
    })
    return frame, {c: "numeric" for c in frame} | {c: "nominal" for c in ("workclass", "sex", "class")}


def credit_card(n: int = 80) -> tuple[pd.DataFrame, dict]:
    pcs = {f"V{i}": RNG.normal(size=n).round(4) for i in (1, 2, 3)}
    fraud = ["1" if i % 8 == 0 else "0" for i in range(n)]
    amount = RNG.uniform(0, 500, n).round(2)
    frame = pd.DataFrame({"Time": np.arange(n) * 10.0} | pcs | {"Amount": amount, "Class": fraud})
    return frame, {c: "numeric" for c in frame} | {"Class": "nominal"}


CASES = {"titanic": (40945, "survived", titanic), "adult": (1590, "class", adult),
         "credit-card-fraud": (1597, "Class", credit_card)}


def install(name: str, raw_root: Path) -> pd.DataFrame:
    data_id, target, make = CASES[name]
    frame, types = make()
    write_openml_cache(raw_root, data_id, name, frame, types, target)
    return frame


@pytest.mark.parametrize("name", list(CASES))
def test_loads_through_fetch_openml_from_its_cache(name, tmp_path, urlopen_calls):
    src, raw_root = resolve(name), tmp_path / "raw"
    assert not src.available_offline(raw_root)
    frame = install(name, raw_root)
    assert src.available_offline(raw_root)
    raw = src.load(raw_root)
    assert urlopen_calls == []  # everything came from the cache
    assert len(raw.train_x) + len(raw.test_x) == len(frame) and len(raw.test_x) == round(len(frame) * 0.25)
    assert set(raw.train_y.tolist()) == set(frame[CASES[name][1]].tolist())
    assert CASES[name][1] not in raw.train_x.columns


def test_titanic_drops_identifiers_and_leaks(tmp_path):
    install("titanic", tmp_path)
    columns = set(resolve("titanic").load(tmp_path).train_x.columns)
    assert columns == {"pclass", "sex", "age", "sibsp", "parch", "fare", "cabin", "embarked"}


def expected_arrays(raw, split_seed: int = 0) -> tuple[np.ndarray, ...]:
    """What the preprocessing must produce: the documented transform fitted on the training rows alone."""
    _, train_y = np.unique(raw.train_y, return_inverse=True)
    tr, va = _preprocess._val_split(train_y, split_seed)
    train, val, test = (f.reset_index(drop=True) for f in (raw.train_x.iloc[tr], raw.train_x.iloc[va], raw.test_x))
    return fit_on_train_only(train, val, test)


@pytest.mark.parametrize("name", list(CASES))
def test_preprocessing_is_fitted_on_train_rows_only(name, tmp_path):
    install(name, tmp_path / "cache" / "raw")
    data = prepare(name, tmp_path / "cache")
    got = [np.load(data.public_dir / f"{k}_x.npy", allow_pickle=False) for k in ("train", "val", "test")]
    want = expected_arrays(resolve(name).load(tmp_path / "cache" / "raw"))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    assert all(np.isfinite(a).all() for a in got)  # every NaN imputed
    assert data.n_classes == 2 and data.input_shape == (got[0].shape[1],)


def test_categoricals_one_hot_numerics_scaled(tmp_path):
    install("titanic", tmp_path / "cache" / "raw")
    data = prepare("titanic", tmp_path / "cache")
    meta = json.loads((data.public_dir / "meta.json").read_text())["features"]
    assert set(meta["low_cardinality"]) == {"sex", "cabin", "embarked"} and "age" in meta["numeric"]
    train_x = np.load(data.public_dir / "train_x.npy")
    encoded = meta["encoded"]
    sex = [i for i, n in enumerate(encoded) if n.startswith("sex_")]
    assert [encoded[i] for i in sex] == ["sex_female", "sex_male"]
    assert set(np.unique(train_x[:, sex])) == {0.0, 1.0} and (train_x[:, sex].sum(axis=1) == 1).all()
    num = [encoded.index(n) for n in meta["numeric"]]
    np.testing.assert_allclose(train_x[:, num].mean(axis=0), 0, atol=1e-5)  # train statistics


def test_adult_class_names_and_unquoted_categories(tmp_path):
    install("adult", tmp_path / "cache" / "raw")
    data = prepare("adult", tmp_path / "cache")
    encoded = json.loads((data.public_dir / "meta.json").read_text())["features"]["encoded"]
    assert data.class_names == ["<=50K", ">50K"]
    assert {"sex_Female", "sex_Male", "workclass_Private"} <= set(encoded)


def test_credit_card_test_split_keeps_the_rare_class(tmp_path):
    install("credit-card-fraud", tmp_path / "cache" / "raw")
    data = prepare("credit-card-fraud", tmp_path / "cache")
    assert data.input_shape == (5,) and set(data.test_labels().tolist()) == {0, 1}


@pytest.mark.parametrize("name", list(CASES))
def test_no_cache_and_no_network_is_one_line(name, tmp_path, urlopen_calls):
    with pytest.raises(DatasetError) as info:
        resolve(name).load(tmp_path)
    message = str(info.value)
    assert "\n" not in message and f"{name} needs the network (OpenML, data_id {CASES[name][0]})" in message
    assert urlopen_calls and "openml.org" in urlopen_calls[0]  # it did try, through sklearn


def test_available_offline_needs_the_data_file_too(tmp_path):
    install("adult", tmp_path)
    description, *_, data_file = cached_files(tmp_path, 1590)
    assert data_file.name == "adult.arff.gz" and data_file.is_file()
    data_file.unlink()
    assert not resolve("adult").available_offline(tmp_path)
    description.write_bytes(b"not gzip")
    assert not resolve("adult").available_offline(tmp_path)


def test_drop_column_on_a_catalog_table(tmp_path):
    install("titanic", tmp_path / "cache" / "raw")
    data = prepare("titanic", tmp_path / "cache", drop_columns=["cabin"])
    assert data.card()["columns"]["cabin"] == "dropped (--drop-column)"
    assert data.input_shape[0] < prepare("titanic", tmp_path / "cache").input_shape[0]
    with pytest.raises(DatasetError, match=r"titanic: --drop-column 'ticket' is not a column; the columns are: p"):
        prepare("titanic", tmp_path / "cache", drop_columns=["ticket"])  # the catalog already drops it
    with pytest.raises(DatasetError, match="'survived' is the label column"):
        prepare("titanic", tmp_path / "cache", drop_columns=["survived"])
