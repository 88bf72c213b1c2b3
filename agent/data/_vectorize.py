"""Tables to float32 matrices: skrub's ``TableVectorizer``, then imputation and scaling, all fitted
on the training rows only (validation and test rows are only transformed).

What each column becomes (``describe`` writes it into ``meta.json`` and the report's dataset block):

- numeric (and numbers written as text, booleans): one feature; missing -> the train median; scaled
  with the train mean and standard deviation;
- dates and datetimes (a string column is one when skrub parses its train values as dates): the
  parts in ``DATE_PARTS``, each one feature, missing -> the train median, scaled; the time of day is
  dropped (daily records are the common case; a column whose time matters can be split by the user);
- strings with fewer than ``CARDINALITY_THRESHOLD`` distinct train values: one-hot (a missing value is
  a category of its own; a value never seen in train is all zeros);
- other strings (free text, names): ``STRING_COMPONENTS`` features from skrub's ``StringEncoder``
  (character n-gram tf-idf, then a truncated SVD), a fixed width whatever the number of values.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

CARDINALITY_THRESHOLD = 40  # skrub's default: below it one-hot stays narrow, above it a fixed-width encoding
STRING_COMPONENTS = 30  # width of one high-cardinality string column (skrub's default)
DATE_PARTS = ("year", "month", "day", "weekday", "day_of_year")
RANDOM_STATE = 0  # the string encoding's SVD: the same file always gives the same features
KINDS = ("numeric", "datetime", "low_cardinality", "high_cardinality")  # skrub's names, kept in meta.json
_SCALED_KINDS = ("numeric", "datetime")


class TableEncoder:
    """``fit`` on the training frame, then ``transform`` any frame with the same columns."""

    def fit(self, train) -> TableEncoder:
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import StandardScaler

        self.vectorizer = _vectorizer()
        with _quiet():
            wide = _finite(self.vectorizer.fit_transform(train))
        kinds = self.vectorizer.column_to_kind_
        outputs = self.vectorizer.input_to_outputs_
        names = list(self.vectorizer.all_outputs_)
        scaled = {o for c, k in kinds.items() if k in _SCALED_KINDS for o in outputs[c]}
        self.scaled = np.array([n in scaled for n in names], dtype=bool)
        # keep_empty_features: a column stays a column even if it is all missing in train (-> 0)
        self.imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(wide)
        # a table of strings only has nothing to scale (and StandardScaler refuses zero columns)
        self.scaler = StandardScaler().fit(self.imputer.transform(wide)[:, self.scaled]) if self.scaled.any() else None
        return self

    def transform(self, frame) -> np.ndarray:
        with _quiet():
            wide = self.imputer.transform(_finite(self.vectorizer.transform(frame)))
        if self.scaler is not None:
            wide[:, self.scaled] = self.scaler.transform(wide[:, self.scaled])
        return wide.astype(np.float32)

    def describe(self) -> dict[str, str]:
        """What each kept input column became, in input order: ``{"date": "datetime -> 5 features ..."}``."""
        out = {}
        for col, kind in self.vectorizer.column_to_kind_.items():
            width = len(self.vectorizer.input_to_outputs_[col])
            parts = getattr(self.vectorizer.transformers_.get(col), "extracted_features_", DATE_PARTS)
            out[col] = _describe(kind, width, parts)
        return {c: out[c] for c in self.vectorizer.feature_names_in_ if c in out}

    def kinds(self) -> dict[str, list[str]]:
        """Input columns by kind, and the encoded feature names in output order (``encoded``)."""
        by_kind = {k: list(self.vectorizer.kind_to_columns_.get(k, [])) for k in KINDS}
        return by_kind | {"encoded": [str(n) for n in self.vectorizer.all_outputs_]}


def _describe(kind: str, width: int, parts) -> str:
    if kind == "numeric":
        return "numeric, scaled (missing: train median)"
    if kind == "datetime":
        return f"datetime -> {width} features ({', '.join(parts)}), scaled (missing: train median)"
    if kind == "low_cardinality":
        return f"low-cardinality string -> one-hot ({width})"
    if kind == "high_cardinality":
        return f"high-cardinality string -> {width}-dim string encoding"
    return f"{kind} -> {width} features"


def _vectorizer():
    from sklearn.preprocessing import OneHotEncoder
    from skrub import DatetimeEncoder, StringEncoder, TableVectorizer

    return TableVectorizer(
        cardinality_threshold=CARDINALITY_THRESHOLD,
        low_cardinality=OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32),
        high_cardinality=StringEncoder(n_components=STRING_COMPONENTS, random_state=RANDOM_STATE),
        datetime=DatetimeEncoder(resolution="day", add_weekday=True, add_day_of_year=True,
                                 add_total_seconds=False),
    )


def _finite(frame) -> np.ndarray:
    """As float64, with +-inf as missing (imputed like NaN: a scaler cannot take infinities)."""
    wide = np.asarray(frame, dtype=np.float64)
    wide[~np.isfinite(wide)] = np.nan
    return wide


@contextlib.contextmanager
def _quiet():
    """skrub's notes that are expected here, not news: the string SVD on fewer rows than components
    pads with zeros (the width stays fixed), and pandas guessing a date format per element."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The matrix shape is")
        warnings.filterwarnings("ignore", message="Could not infer format")
        yield
