"""A local CSV: ``--dataset path.csv --target COL``. Good files prepare; every bad one is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.data import prepare, resolve
from agent.errors import DatasetError

pytestmark = pytest.mark.usefixtures("no_network")
RNG = np.random.default_rng(0)


def good_csv(path: Path, n: int = 60) -> Path:
    rows = ["age,city,score,label"]
    for i in range(n):
        age = "" if i % 7 == 0 else f"{20 + RNG.integers(0, 50)}"
        city = "" if i % 11 == 0 else ["oslo", "lima", "pune"][i % 3]
        rows.append(f"{age},{city},{RNG.normal():.3f},{'yes' if i % 2 else 'no'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def one_line_error(fn) -> str:
    with pytest.raises(DatasetError) as info:
        fn()
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_good_csv_prepares(tmp_path):
    data = prepare(str(good_csv(tmp_path / "people.csv")), tmp_path / "cache", target="label")
    assert (data.name, data.modality, data.n_classes, data.class_names) == ("csv:people.csv", "tabular", 2,
                                                                           ["no", "yes"])
    assert (data.n_train + data.n_val, data.n_test) == (45, 15)
    meta = json.loads((data.public_dir / "meta.json").read_text())["features"]
    assert meta["numeric"] == ["age", "score"] and meta["low_cardinality"] == ["city"]
    train_x = np.load(data.public_dir / "train_x.npy", allow_pickle=False)
    # city: 3 values and a missing one, which is a category of its own (one-hot 4)
    assert train_x.shape == (data.n_train, 2 + 4) and np.isfinite(train_x).all()  # missing numbers imputed
    assert not (data.public_dir / "test_y.npy").exists() and len(data.test_labels()) == 15


@pytest.mark.parametrize(("content", "target", "expected"), [
    ("a,b,label\n1,x,0\n2,y,1\n", "nope", "people.csv: no column 'nope'; columns are: a, b, label"),
    ("", "label", "people.csv is empty; it needs a header row and data rows"),
    ("a,b,label\n", "label", "people.csv has a header but no data rows"),
    ("a,label\n1,0\n2,0\n3,0\n", "label", "the target 'label' has a single class"),
    ("label\n0\n1\n0\n1\n", "label", "no feature columns besides the target"),
    ("a,b,label\n" + "\n".join(f",,{i % 2}" for i in range(20)), "label", "no feature column has any value"),
])
def test_bad_csv_is_one_line(content, target, expected, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(content)
    assert expected in one_line_error(lambda: prepare(str(path), tmp_path / "cache", target=target))


def test_missing_target_or_file(tmp_path):
    assert "--target" in one_line_error(lambda: resolve(str(good_csv(tmp_path / "a.csv"))))
    assert "no such file" in one_line_error(lambda: prepare(str(tmp_path / "gone.csv"), tmp_path, target="y"))


def test_empty_columns_are_dropped_with_a_note(tmp_path, capsys):
    path = good_csv(tmp_path / "people.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",blank"] + [line + "," for line in lines[1:]]) + "\n")
    data = prepare(str(path), tmp_path / "cache", target="label")
    assert "dropping columns with no values in train: blank" in capsys.readouterr().err
    assert "blank" not in json.dumps(json.loads((data.public_dir / "meta.json").read_text())["features"])


def test_fingerprint_follows_the_content(tmp_path):
    path = good_csv(tmp_path / "people.csv")
    first = prepare(str(path), tmp_path / "cache", target="label")
    assert prepare(str(path), tmp_path / "cache", target="label").fingerprint == first.fingerprint
    path.write_text(path.read_text().replace("oslo", "rome"))
    second = prepare(str(path), tmp_path / "cache", target="label")
    assert second.fingerprint != first.fingerprint and second.public_dir != first.public_dir


def test_a_leftover_temp_dir_is_never_used(tmp_path):
    path, cache = good_csv(tmp_path / "people.csv"), tmp_path / "cache"
    stale = cache / ".tmp-crashed"
    (stale / "public").mkdir(parents=True)
    (stale / "meta.json").write_text("{}")
    data = prepare(str(path), cache, target="label")
    assert data.public_dir.parent.name.startswith("csv_people.csv-")
    assert (data.public_dir / "meta.json").is_file()


def entry_of(path: Path, cache: Path) -> Path:
    """Where prepare puts this CSV's entry (found by preparing once into a scratch cache)."""
    return cache / prepare(str(path), cache.parent / "scratch", target="label").public_dir.parent.name


def test_an_empty_entry_without_meta_is_rebuilt(tmp_path):
    path, cache = good_csv(tmp_path / "people.csv"), tmp_path / "cache"
    entry_of(path, cache).mkdir(parents=True)
    data = prepare(str(path), cache, target="label")
    assert np.load(data.public_dir / "train_x.npy").shape[0] == data.n_train


def test_a_half_written_entry_is_never_used(tmp_path):
    path, cache = good_csv(tmp_path / "people.csv"), tmp_path / "cache"
    entry = entry_of(path, cache)
    (entry / "public").mkdir(parents=True)
    np.save(entry / "public" / "train_x.npy", np.zeros((1, 1)))  # written before a crash, no meta.json
    data = prepare(str(path), cache, target="label")
    assert np.load(data.public_dir / "train_x.npy").shape[0] == data.n_train
