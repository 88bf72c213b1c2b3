"""Tabular datasets from OpenML through scikit-learn's ``fetch_openml``: titanic, adult, credit-card-fraud.

``fetch_openml(data_home=<cache_root>)`` keeps every file it downloads, gzipped, under
``<cache_root>/openml/openml.org/`` at the path of its URL, and reads it from there next time without
the network: the description ``api/v1/json/data/<id>.gz``, the features
``api/v1/json/data/features/<id>.gz``, the qualities ``api/v1/json/data/qualities/<id>.gz`` and the
ARFF file named by the description's ``url`` (``data/v1/download/<file_id>/<name>.arff.gz``).
``available_offline`` checks exactly those four files, so a copy of that folder from a connected
machine makes these datasets work on an air-gapped one. No official test split: a fixed stratified one.
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path
from urllib.parse import urlparse

from ..errors import DatasetError
from ._base import DatasetSource, RawSplits
from ._table import split_frame

OPENML_DIR = ("openml", "openml.org")  # under data_home: fetch_openml's own cache layout
RETRIES = 1  # fetch_openml's minimum; a dead network should fail in seconds, not minutes
RETRY_DELAY_S = 0.5


class _OpenMLSource(DatasetSource):
    modality = "tabular"
    needs_network = True
    n_classes = 2
    data_id: int
    target: str
    drop: tuple[str, ...] = ()  # columns removed before the split (identifiers, leaks)

    def identity(self) -> dict:
        return super().identity() | {"data_id": self.data_id, "target": self.target, "drop": list(self.drop)}

    def available_offline(self, cache_root: Path) -> bool:
        return all(path.is_file() for path in cached_files(cache_root, self.data_id))

    def load(self, cache_root: Path) -> RawSplits:
        frame = self._fetch(Path(cache_root)).frame
        frame = frame.drop(columns=[c for c in self.drop if c in frame.columns])
        return split_frame(frame, self.target, self.name)

    def _fetch(self, cache_root: Path):
        from urllib.error import URLError

        try:
            return self._fetch_openml(cache_root)
        except (URLError, TimeoutError, ConnectionError) as exc:
            raise DatasetError(
                f"{self.name} needs the network (OpenML, data_id {self.data_id}) or a local copy; "
                f"fetch it once online, or copy an OpenML cache into {Path(cache_root, *OPENML_DIR)}"
            ) from exc
        except (OSError, ValueError, KeyError) as exc:  # OpenML's own errors, a corrupt cached file
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise DatasetError(f"{self.name}: OpenML data_id {self.data_id} could not be read ({first}); "
                               f"delete {Path(cache_root, *OPENML_DIR)} and retry online") from exc

    def _fetch_openml(self, cache_root: Path):
        from sklearn.datasets import fetch_openml

        with warnings.catch_warnings():
            # sklearn warns before each retry; the one line in _fetch says it better
            warnings.filterwarnings("ignore", message="A network error occurred", category=UserWarning)
            dtypes, nominal = _text_dtypes(cache_root, self.data_id)
            bunch = fetch_openml(data_id=self.data_id, data_home=str(cache_root), target_column=self.target,
                                 as_frame=True, parser="pandas", n_retries=RETRIES, delay=RETRY_DELAY_S,
                                 read_csv_kwargs={"dtype": dtypes})
        for name in nominal:
            if name in bunch.frame:  # what the parser does to quoted categories: 'a' -> a
                bunch.frame[name] = bunch.frame[name].str.replace(r"^'(.*)'$", r"\1", regex=True)
        return bunch


def _text_dtypes(cache_root: Path, data_id: int) -> tuple[dict[int, object], list[str]]:
    """read_csv dtypes by position as fetch_openml builds them, except ``str`` for nominal columns
    (their names come second).

    Why: scikit-learn#34892 (fixed by #34902, not in every release). fetch_openml reads nominal columns
    as ``category``; pandas >= 3.1 then infers int categories for numbers ({0,1}: titanic's survived,
    the fraud Class) and the quote stripping that follows fails with a TypeError, which sklearn takes
    for a corrupt file: it deletes the cached ARFF and downloads it again. Text columns avoid all that.
    """
    from sklearn.datasets._openml import _get_data_features  # private; the very call fetch_openml makes

    features = _get_data_features(data_id, str(Path(cache_root, OPENML_DIR[0])), n_retries=RETRIES,
                                  delay=RETRY_DELAY_S)
    kinds = [f["data_type"].lower() for f in features]
    as_read = {"nominal": str, "integer": "Int64"}
    dtypes = {i: as_read[k] for i, k in enumerate(kinds) if k in as_read}
    return dtypes, [f["name"] for f, k in zip(features, kinds, strict=True) if k == "nominal"]


def cached_files(cache_root: Path, data_id: int) -> list[Path]:
    """The files ``fetch_openml`` reads for ``data_id``; the last one is named by the description."""
    local = lambda path: Path(cache_root, *OPENML_DIR, path + ".gz")  # noqa: E731
    description = local(f"api/v1/json/data/{data_id}")
    files = [description, local(f"api/v1/json/data/features/{data_id}"),
             local(f"api/v1/json/data/qualities/{data_id}")]
    try:
        with gzip.open(description, "rt", encoding="utf-8") as fh:
            url = json.load(fh)["data_set_description"]["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return files + [local(f"data/v1/download/missing-{data_id}")]
    return files + [local(urlparse(url).path.lstrip("/"))]


class Titanic(_OpenMLSource):
    # name/ticket are identifiers; boat (lifeboat) and body (recovered body number) are only known
    # after the fact and give the label away; home.dest is free text close to an identifier
    name, data_id, target = "titanic", 40945, "survived"
    drop = ("name", "ticket", "boat", "body", "home.dest")
    source = "OpenML data_id 40945 (Titanic passengers) via sklearn fetch_openml"
    license = "public domain (OpenML: Public)"


class Adult(_OpenMLSource):
    name, data_id, target = "adult", 1590, "class"
    source = "OpenML data_id 1590 (UCI Adult census income, >50K vs <=50K) via sklearn fetch_openml"
    license = "CC BY 4.0 (UCI)"


class CreditCardFraud(_OpenMLSource):
    name, data_id, target = "credit-card-fraud", 1597, "Class"
    aliases = ("creditcard", "credit-card")
    source = "OpenML data_id 1597 (ULB credit card transactions, 0.17% fraud) via sklearn fetch_openml"
    license = "DbCL v1.0 (ULB Machine Learning Group)"
