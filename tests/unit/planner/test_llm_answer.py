"""Reading the LLM's answer: the JSON object out of the text, then pydantic; extra claims are ignored."""

from __future__ import annotations

import json

import pytest

from agent.planner import MAX_ANSWER_CHARS, AnswerError, answer_schema, extract_json, parse_answer
from agent.specs import DataShape

IMAGE = DataShape(modality="image", input_shape=(1, 8, 8), n_classes=10)
TABULAR = DataShape(modality="tabular", input_shape=(13,), n_classes=3)
SPEC = {"kind": "spec", "model": {"family": "cnn", "blocks": 2, "channels": 32},
        "training": {"optimizer": "adam", "lr": 0.001, "epochs": 10}, "rationale": "a small CNN"}
SOURCE = "import torch.nn as nn\n\nclass Model(nn.Module):\n    def forward(self, x):\n        return {'a': x}\n"


def test_plain_json_is_taken_as_is():
    assert extract_json(json.dumps(SPEC)) == SPEC


def test_a_fenced_block_inside_prose_is_found():
    text = f"Here is my plan.\n```json\n{json.dumps(SPEC, indent=2)}\n```\nGood luck!"
    assert extract_json(text) == SPEC


def test_the_first_balanced_object_wins_and_braces_in_strings_do_not_count():
    answer = {"kind": "source", "source": SOURCE, "rationale": "dict {weird} braces }}"}
    text = f"I think {{this}} is right: {json.dumps(answer)} and then {{\"kind\": \"spec\"}}"
    assert extract_json(text) == answer


def test_no_object_and_truncated_json_are_answer_errors():
    with pytest.raises(AnswerError, match="no JSON object"):
        extract_json("I would use a CNN with two blocks.")
    with pytest.raises(AnswerError, match="no JSON object"):
        extract_json('{"kind": "spec", "model": {"family": "cnn"')
    with pytest.raises(AnswerError, match="no JSON object"):
        extract_json("[1, 2, 3]")


def test_a_huge_answer_is_refused_before_parsing():
    with pytest.raises(AnswerError, match="cap"):
        extract_json("{" + " " * MAX_ANSWER_CHARS + "}")


def test_a_valid_spec_and_a_valid_source():
    answer, ignored = parse_answer(json.dumps(SPEC), IMAGE)
    assert answer.kind == "spec" and answer.model.family == "cnn" and answer.training.epochs == 10
    assert ignored == []
    src, _ = parse_answer(json.dumps({"source": SOURCE, "training": {"epochs": 3}}), IMAGE)  # kind inferred
    assert src.kind == "source" and src.source == SOURCE and src.model is None


def test_schema_violations_name_the_field():
    bad = SPEC | {"model": {"family": "cnn", "blocks": 99}}
    with pytest.raises(AnswerError, match=r"model\.cnn\.blocks"):
        parse_answer(json.dumps(bad), IMAGE)
    with pytest.raises(AnswerError, match=r"training\.lr"):
        parse_answer(json.dumps(SPEC | {"training": {"lr": 5}}), IMAGE)
    with pytest.raises(AnswerError, match="kind"):
        parse_answer(json.dumps({"kind": "source", "model": SPEC["model"]}), IMAGE)


def test_a_family_that_does_not_fit_the_modality_is_refused():
    with pytest.raises(AnswerError, match='family "cnn" does not fit tabular data; use one of mlp'):
        parse_answer(json.dumps(SPEC), TABULAR)


def test_claims_outside_the_schema_are_ignored_and_listed():
    smuggled = SPEC | {"goal_achieved": True, "status": "achieved", "command": "rm -rf /"}
    answer, ignored = parse_answer(json.dumps(smuggled), IMAGE)
    assert ignored == ["command", "goal_achieved", "status"]
    assert not hasattr(answer, "goal_achieved")


def test_a_long_rationale_is_truncated_not_refused():
    answer, _ = parse_answer(json.dumps(SPEC | {"rationale": "x" * 5000}), IMAGE)
    assert len(answer.rationale) < 1100 and answer.rationale.endswith("[truncated]")


def test_the_response_format_schema_describes_both_kinds():
    schema = answer_schema()
    assert set(schema["properties"]) >= {"kind", "model", "source", "training", "rationale"}
    assert json.dumps(schema)  # serializable for response_format


def test_a_stray_source_next_to_a_typed_spec_is_dropped_and_listed():
    # What SmolLM2-135M answers through llama.cpp's json_object mode: a spec plus a made-up "source".
    answer, ignored = parse_answer(json.dumps(SPEC | {"kind": "spec", "source": "digits.py"}), IMAGE)
    assert answer.kind == "spec" and answer.source is None and answer.model.family == "cnn"
    assert ignored == ["source"]
    with pytest.raises(AnswerError, match="kind"):  # a spec kind with no model is still refused
        parse_answer(json.dumps({"kind": "spec", "source": SOURCE}), IMAGE)
