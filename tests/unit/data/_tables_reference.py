"""An independent reference for the table preprocessing: skrub's TableVectorizer and sklearn's imputer
and scaler, configured as ``agent/data/_vectorize.py`` documents, fitted on the training rows alone.

Written from the documented behaviour, not by calling the module under test: where the two agree on
train, validation and test arrays, nothing in ``prepare`` was fitted on validation or test rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skrub import DatetimeEncoder, StringEncoder, TableVectorizer


def fit_on_train_only(train, val, test) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vec = TableVectorizer(
        low_cardinality=OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32),
        high_cardinality=StringEncoder(n_components=30, random_state=0),
        datetime=DatetimeEncoder(resolution="day", add_weekday=True, add_day_of_year=True,
                                 add_total_seconds=False),
    ).fit(train)
    scaled = [vec.column_to_kind_[vec.output_to_input_[n]] in ("numeric", "datetime") for n in vec.all_outputs_]
    scaled = np.array(scaled, dtype=bool)

    def wide(frame):
        x = np.asarray(vec.transform(frame), dtype=np.float64)
        x[~np.isfinite(x)] = np.nan
        return x

    imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(wide(train))
    scaler = StandardScaler().fit(imputer.transform(wide(train))[:, scaled])

    def finish(frame):
        x = imputer.transform(wide(frame))
        x[:, scaled] = scaler.transform(x[:, scaled])
        return x.astype(np.float32)

    return finish(train), finish(val), finish(test)
