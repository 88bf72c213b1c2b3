"""Real tables (see tests/real_tables.py): dates and free text stay narrow, missing values are imputed,
nothing is fitted on validation or test rows, TSV/Parquet/gzip load like CSV, ``--drop-column``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from agent.cli._eval import config_from_options, dataset_name, eval_defaults
from agent.data import _preprocess, dataset_spec, prepare, resolve, spec_kind
from agent.errors import DatasetError
from tests.real_tables import augmented_weather, vega_csv
from tests.unit.data._tables_reference import fit_on_train_only

pytestmark = pytest.mark.usefixtures("no_network")
WEATHER = ["drizzle", "fog", "rain", "snow", "sun"]
DATE = "datetime -> 5 features (year, month, day, weekday, day_of_year), scaled (missing: train median)"
NUMERIC = "numeric, scaled (missing: train median)"
TEXT = "high-cardinality string -> 30-dim string encoding"
MESSY_COLUMNS = {"obs_id": "dropped (--drop-column)", "date": DATE, "precipitation": NUMERIC,
                 "temp_max": NUMERIC, "temp_min": NUMERIC, "wind": NUMERIC, "station": TEXT,
                 "quarter": "low-cardinality string -> one-hot (4)"}


def arrays(data) -> list[np.ndarray]:
    return [np.load(data.public_dir / f"{k}_x.npy", allow_pickle=False) for k in ("train", "val", "test")]


def messy_csv(tmp_path, rows: int | None = None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "weather.csv"
    augmented_weather().iloc[:rows].to_csv(path, index=False)
    return path


def test_the_real_daily_file_is_nine_features_not_a_thousand(tmp_path):
    # Before (one-hot of every distinct date): 989 features; the date is now 5 of the 9.
    data = prepare(str(vega_csv("seattle-weather.csv")), tmp_path / "cache", target="weather")
    assert data.input_shape == (4 + 5,) and data.class_names == WEATHER
    card = data.card()
    assert card["class_names"] == WEATHER and card["columns"]["date"] == DATE
    assert all(a.dtype == np.float32 and np.isfinite(a).all() for a in arrays(data))


def test_a_messy_real_file_encodes_every_kind_of_column(tmp_path):
    data = prepare(str(messy_csv(tmp_path)), tmp_path / "cache", target="weather", drop_columns=["obs_id"])
    assert data.input_shape == (4 + 5 + 30 + 4,)  # numbers, date parts, free text, quarters
    meta = json.loads((data.public_dir / "meta.json").read_text())
    assert meta["columns"] == MESSY_COLUMNS and data.card()["columns"] == MESSY_COLUMNS
    assert meta["class_names"] == WEATHER and meta["features"]["datetime"] == ["date"]
    assert all(a.dtype == np.float32 and np.isfinite(a).all() for a in arrays(data))  # blanks imputed


def test_identifiers_and_free_text_have_a_fixed_width(tmp_path):
    few = prepare(str(messy_csv(tmp_path / "few", rows=400)), tmp_path / "cache", target="weather")
    every = prepare(str(messy_csv(tmp_path)), tmp_path / "cache", target="weather")
    assert few.input_shape == every.input_shape == (30 + 4 + 5 + 30 + 4,)  # obs_id: 30, however many ids
    assert every.card()["columns"]["obs_id"] == TEXT


def perturbed(raw, columns_values: dict, rows_of_train) -> object:
    """``raw`` with values that exist nowhere in train, put in the given train rows and every test row."""
    train_x, test_x = raw.train_x.copy(), raw.test_x.copy()
    for col, value in columns_values.items():
        train_x.loc[rows_of_train, col] = value
        test_x[col] = value
    return raw.model_copy(update={"train_x": train_x, "test_x": test_x})


def test_nothing_is_fitted_on_validation_or_test_rows(tmp_path):
    raw = resolve(str(messy_csv(tmp_path)), "weather").load(tmp_path)
    opts = _preprocess.PrepOptions()
    _, train_y = np.unique(raw.train_y, return_inverse=True)
    tr, va = _preprocess._val_split(train_y, opts.split_seed)
    unseen = {"station": "Zzyzx Qwerty Field near Nowhere", "quarter": "Q9", "wind": 1e6,
              "precipitation": -5e5, "date": "2031/07/04", "obs_id": "xx-unseen"}
    before, meta_before = _preprocess.build(raw, "tabular", opts)
    after, meta_after = _preprocess.build(perturbed(raw, unseen, va), "tabular", opts)
    np.testing.assert_array_equal(before["train_x"], after["train_x"])  # same fit: vocabulary, medians, scales
    assert meta_before == meta_after
    assert not np.array_equal(before["test_x"], after["test_x"])  # the new values did reach val/test
    quarter = [i for i, n in enumerate(meta_after["features"]["encoded"]) if n.startswith("quarter_")]
    assert (after["test_x"][:, quarter] == 0).all()  # a category never seen in train: all zeros
    frames = perturbed(raw, unseen, va).train_x
    want = fit_on_train_only(frames.iloc[tr].reset_index(drop=True), frames.iloc[va].reset_index(drop=True),
                             perturbed(raw, unseen, va).test_x)
    for got, ref in zip((after["train_x"], after["val_x"], after["test_x"]), want, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("suffix", [".tsv", ".csv.gz", ".parquet"])
def test_tsv_gzip_and_parquet_load_like_csv(suffix, tmp_path):
    frame = augmented_weather()
    csv = tmp_path / "weather.csv"
    frame.to_csv(csv, index=False)
    other = tmp_path / f"weather{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(other, index=False)
    else:
        frame.to_csv(other, index=False, sep="\t" if suffix == ".tsv" else ",")
    want = prepare(str(csv), tmp_path / "cache", target="weather")
    got = prepare(str(other), tmp_path / "cache", target="weather")
    assert got.name == f"{suffix.split('.')[1]}:{other.name}"  # tsv:, csv:, parquet:
    assert got.card()["columns"] == want.card()["columns"]
    for g, w in zip(arrays(got), arrays(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_parquet_with_a_native_datetime_column(tmp_path):
    frame = augmented_weather()
    frame["date"] = pd.to_datetime(frame["date"], format="%Y/%m/%d")  # blanks become NaT
    frame.to_parquet(tmp_path / "w.parquet", index=False)
    data = prepare(str(tmp_path / "w.parquet"), tmp_path / "cache", target="weather", drop_columns=("obs_id",))
    assert data.card()["columns"] == MESSY_COLUMNS and data.input_shape == (43,)


def test_a_bare_tsv_name_goes_through_the_cli_to_prepare(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    augmented_weather().to_csv("data.tsv", index=False, sep="\t")
    assert spec_kind("data.tsv") == "table" and spec_kind("digits") == "catalog"
    config = config_from_options(eval_defaults() | {"dataset": "data.tsv", "target_column": "weather",
                                                    "drop_column": ("obs_id",), "model_arg": ()})
    assert (config.dataset, config.drop_columns) == ("data.tsv", ("obs_id",))
    data = prepare(config.dataset, tmp_path / "cache", target=config.target_column,
                   drop_columns=config.drop_columns)
    assert data.name == "tsv:data.tsv" and data.input_shape == (43,)
    assert dataset_name("iris", None) == "iris" and dataset_spec("breast_cancer") == "breast-cancer"


def one_line(fn) -> str:
    with pytest.raises(DatasetError) as info:
        fn()
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(("drop", "expected"), [
    (("nope",), "weather.csv: --drop-column 'nope' is not a column; the columns are: obs_id, date, precipitation"),
    (("weather",), "weather.csv: --drop-column 'weather' is the label column (--target-column)"),
    (("obs_id", "date", "precipitation", "temp_max", "temp_min", "wind", "station", "quarter"),
     "weather.csv: --drop-column leaves no feature column"),
])
def test_a_bad_drop_column_is_one_line_before_and_at_prepare(drop, expected, tmp_path):
    path = str(messy_csv(tmp_path))
    assert expected in one_line(lambda: dataset_spec(path, "weather", drop))  # the CLI's early check
    assert expected in one_line(lambda: prepare(path, tmp_path / "cache", target="weather", drop_columns=drop))


def test_drop_column_on_an_image_dataset_is_one_line(tmp_path):
    assert "applies to tables; digits is image data" in one_line(lambda: dataset_spec("digits", None, ("x",)))


def test_eval_config_drop_columns_reach_prepare(monkeypatch, tmp_path):
    from agent.config import EvalConfig
    from agent.trial import _run as evaluation

    seen = {}

    def fake_prepare(*args, **kwargs):
        seen.update(kwargs)
        raise DatasetError("stop here")

    monkeypatch.setattr(evaluation, "prepare", fake_prepare)
    model = tmp_path / "m.py"
    model.write_text("")
    with pytest.raises(DatasetError):
        evaluation.evaluate(model, EvalConfig(dataset="x.csv", target_column="y", drop_columns=("id",)),
                            None, tmp_path)
    assert tuple(seen.get("drop_columns", ())) == ("id",)


@pytest.mark.parametrize(("args", "code", "expected"), [
    (("--drop-column", "nope"), 1, "--drop-column 'nope' is not a column; the columns are: obs_id, date,"),
    (("--drop-column", "weather"), 1, "--drop-column 'weather' is the label column"),
    (("--drop-column", "date", "--drop-column", "obs_id", "--drop-column", "precipitation", "--drop-column",
      "temp_max", "--drop-column", "temp_min", "--drop-column", "wind", "--drop-column", "station",
      "--drop-column", "quarter"), 1, "--drop-column leaves no feature column"),
    (("--drop-column",), 2, "--drop-column"),  # no value: a usage error
])
def test_the_cli_says_one_line_with_the_documented_exit_code(args, code, expected, tmp_path):
    from tests.conftest import run_cli

    model = tmp_path / "model.py"
    model.write_text("import torch.nn as nn\n\n\nclass Model(nn.Linear):\n    pass\n")
    result = run_cli("eval", str(model), "--json", "--dataset", str(messy_csv(tmp_path)), "--target-column",
                     "weather", *args, home=tmp_path / "home", timeout=120,
                     env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (result.code, len(lines), result.stdout) == (code, 1, ""), result.stderr
    assert expected in lines[0] and "Traceback" not in result.stderr


def test_a_table_of_strings_only_and_an_array_source_still_prepare(tmp_path):
    airports = vega_csv("airports.csv")  # text only, once latitude and longitude are dropped
    data = prepare(str(airports), tmp_path / "cache", target="country", drop_columns=["latitude", "longitude"])
    assert data.input_shape == (4 * 30,) and all(np.isfinite(a).all() for a in arrays(data))
    assert prepare("iris", tmp_path / "cache").input_shape == (4,)  # an ndarray source: numbers, scaled
