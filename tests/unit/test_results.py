"""The typed report: its published schema, and what its JSON keeps or leaves out."""

from __future__ import annotations

import json
from pathlib import Path

from agent.results import EvalReport, json_schema
from tests.reports import make_report

ROOT = Path(__file__).resolve().parents[2]


def test_the_published_report_schema_is_the_models_schema():
    # docs/eval-report.schema.json is generated from the models: `make schema`
    published = json.loads((ROOT / "docs" / "eval-report.schema.json").read_text())
    assert published == json_schema(), "run `make schema` to regenerate it"


def test_a_report_round_trips_and_leaves_out_only_what_was_never_set():
    report = make_report(seeds=(0, 1))
    doc = report.to_dict()
    assert "model_summary" not in doc and "artifacts" not in doc  # never set: not written as null
    assert doc["seeds"][0]["curves"]["val_loss"] == [1.1, None]  # NaN is null, as JSON needs
    assert EvalReport.model_validate(doc).to_dict() == doc
    assert json.loads(report.to_json()) == doc
