"""A real, messy table through `research-agent eval` on the real engine: Seattle's daily weather
(vega_datasets' own CSV) with a free-text column, blanks in numbers and dates, string labels."""

from __future__ import annotations

import json

from agent.data import prepare
from tests.real_tables import augmented_weather

EXIT_OK = 0
WEATHER = ["drizzle", "fog", "rain", "snow", "sun"]

MLP = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear({width}, 64), nn.ReLU(), nn.Linear(64, 5))

    def forward(self, x):
        return self.net(x)
"""


def test_a_messy_real_csv_evaluates_ok_with_named_classes_and_columns(eval_model, agent_home, tmp_path):
    csv = tmp_path / "weather.csv"
    augmented_weather().to_csv(csv, index=False)  # obs_id, a row identifier, is dropped by the flag
    # The same cache the CLI uses: the width the model needs, and the CLI finds the entry prepared.
    data = prepare(str(csv), agent_home / "cache" / "datasets", target="weather", drop_columns=["obs_id"])
    assert data.input_shape == (4 + 5 + 30 + 4,)
    result = eval_model(MLP.format(width=data.input_shape[0]), "--dataset", str(csv), "--target-column", "weather",
                        "--drop-column", "obs_id",
                        "--seeds", "1", "--epochs", "3", "--lr", "0.01", timeout=300)
    assert result.code == EXIT_OK, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "ok", report["message"]
    ds = report["dataset"]
    assert ds["class_names"] == WEATHER and ds["n_classes"] == 5 and ds["fingerprint"] == data.fingerprint
    assert ds["columns"] == {
        "date": "datetime -> 5 features (year, month, day, weekday, day_of_year), scaled (missing: train median)",
        "precipitation": "numeric, scaled (missing: train median)",
        "temp_max": "numeric, scaled (missing: train median)",
        "temp_min": "numeric, scaled (missing: train median)",
        "wind": "numeric, scaled (missing: train median)",
        "station": "high-cardinality string -> 30-dim string encoding",
        "quarter": "low-cardinality string -> one-hot (4)",
        "obs_id": "dropped (--drop-column)",
    }
    seed = report["seeds"][0]
    assert seed["per_class"]["class"] == WEATHER  # the string labels name the per-class scores
    assert len(seed["per_class"]["f1"]) == len(ds["class_names"])  # per-class lists are indexed by class_names
    assert report["aggregate"]["accuracy"]["mean"] > 0.5  # the weather is learnable from the numbers
