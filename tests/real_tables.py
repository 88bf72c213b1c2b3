"""Real tables for tests: CSV files the ``vega_datasets`` wheel carries inside it (no download).

``seattle-weather.csv``: 1461 daily records (2012-2015) of Seattle weather, a ``date`` column written
``2012/01/01``, four numbers and a string label ``weather`` (drizzle, fog, rain, snow, sun).
``airports.csv``: 3376 US airports with free-text names and cities.

``augmented_weather`` is the weather file changed the way real exports are messy, and says how: a
free-text column (real airport names and cities from ``airports.csv``, one per day), an identifier,
a derived low-cardinality string, and blanks in two numeric columns and a few dates.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

MISSING_FRACTION = 0.08  # of wind and precipitation: enough rows to matter in every split


def vega_csv(name: str) -> Path:
    """A CSV shipped in the vega_datasets wheel (the dev extra installs it); found without importing it."""
    spec = importlib.util.find_spec("vega_datasets")
    assert spec is not None and spec.submodule_search_locations, "vega_datasets missing: `make venv` installs it"
    path = Path(next(iter(spec.submodule_search_locations))) / "_data" / name
    assert path.is_file(), f"{path} is not in the installed vega_datasets wheel"
    return path


def weather() -> pd.DataFrame:
    return pd.read_csv(vega_csv("seattle-weather.csv"))


def augmented_weather(seed: int = 0) -> pd.DataFrame:
    """The weather file plus ``station`` (free text), ``obs_id`` (an identifier), ``quarter`` (Q1-Q4),
    with blanks in ``wind``, ``precipitation`` and 1% of ``date``."""
    rng = np.random.default_rng(seed)
    frame = weather()
    airports = pd.read_csv(vega_csv("airports.csv")).dropna(subset=["name", "city"])
    picks = airports.iloc[rng.integers(0, len(airports), len(frame))]
    frame.insert(0, "obs_id", [f"obs-{i:05d}" for i in range(len(frame))])
    frame["station"] = (picks["name"] + " near " + picks["city"]).to_numpy()
    frame["quarter"] = "Q" + pd.to_datetime(frame["date"], format="%Y/%m/%d").dt.quarter.astype(str)
    for col in ("wind", "precipitation"):
        frame.loc[rng.random(len(frame)) < MISSING_FRACTION, col] = np.nan
    frame.loc[rng.random(len(frame)) < 0.01, "date"] = np.nan
    return frame
