"""What the LLM must answer, and reading it: the JSON object out of the text, validated by pydantic.

The answer is a proposal, nothing more. Fields outside the schema (``"goal_achieved": true``, a
``"command"`` to run) are dropped and listed, never acted on: the statistics decide the goal and
only the sandbox runs code.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..assembler import AssemblyError, render
from ..specs import FAMILIES_BY_MODALITY, DataShape, ModelSpec, TrainingSpec

__all__ = ["AnswerError", "LLMAnswer", "MAX_ANSWER_CHARS", "answer_schema", "extract_json", "parse_answer"]

MAX_ANSWER_CHARS = 100_000  # an answer past this is refused before any parsing
MAX_SOURCE_CHARS = 60_000  # generated model source (the trial record allows more; a model needs less)
MAX_RATIONALE_CHARS = 1_000  # kept as data with the trial, truncated past this
_MAX_JSON_STARTS = 50  # "{" positions tried when the answer is prose around an object
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n(.*?)```", re.S)


class AnswerError(ValueError):
    """The answer cannot become a proposal; ``str`` is the one line sent back for a repair round."""


class LLMAnswer(BaseModel):
    """The next trial: a spec from the typed space (``kind="spec"``) or free model source."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["spec", "source"]
    model: ModelSpec | None = None
    source: str | None = Field(default=None, max_length=MAX_SOURCE_CHARS)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    rationale: str = ""

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" not in data:
            if data.get("source") and not data.get("model"):
                return data | {"kind": "source"}
            if data.get("model") and not data.get("source"):
                return data | {"kind": "spec"}
        return data

    @field_validator("rationale", mode="before")
    @classmethod
    def _short_rationale(cls, text: Any) -> str:
        text = "" if text is None else str(text)
        return text if len(text) <= MAX_RATIONALE_CHARS else text[:MAX_RATIONALE_CHARS] + " [truncated]"

    @model_validator(mode="after")
    def _consistent(self) -> LLMAnswer:
        if self.kind == "spec" and (self.model is None or self.source):
            raise ValueError('kind "spec" needs "model" (a typed spec) and no "source"')
        if self.kind == "source" and (not self.source or self.model is not None):
            raise ValueError('kind "source" needs "source" (the full model file) and no "model"')
        return self


def answer_schema() -> dict:
    """The JSON schema sent as ``response_format`` (non-strict: pydantic validates anyway)."""
    return LLMAnswer.model_json_schema()


def extract_json(text: str) -> dict:
    """The answer's JSON object: the whole text, else a fenced block, else the first ``{...}`` that parses."""
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError(f"the answer is {len(text)} characters; the cap is {MAX_ANSWER_CHARS}: answer shorter")
    for candidate in _candidates(text):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise AnswerError("no JSON object found in the answer: reply with one JSON object only")


def _candidates(text: str):
    yield text.strip()
    for block in _FENCE.findall(text):
        yield block.strip()
    starts = [i for i, ch in enumerate(text) if ch == "{"][:_MAX_JSON_STARTS]
    for start in starts:
        end = _balanced_end(text, start)
        if end is not None:
            yield text[start : end + 1]


def _balanced_end(text: str, start: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``start`` (braces inside JSON strings do not count)."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


def parse_answer(text: str, shape: DataShape) -> tuple[LLMAnswer, list[str]]:
    """Validate the answer for this data; returns it with the names of the fields that were ignored."""
    data = extract_json(text)
    stray = []
    if data.get("kind") == "spec" and data.get("model") and data.get("source"):
        # A small model often adds a "source" (a file name, a URL) to a typed spec: the spec is the
        # answer; the stray text is dropped and listed, never run.
        data, stray = {k: v for k, v in data.items() if k != "source"}, ["source"]
    try:
        answer = LLMAnswer.model_validate(data)
    except ValidationError as exc:
        raise AnswerError(f"the JSON does not match the schema: {_errors(exc)}") from None
    if answer.model is not None:
        allowed = FAMILIES_BY_MODALITY[shape.modality]
        if answer.model.family not in allowed:
            raise AnswerError(f'family "{answer.model.family}" does not fit {shape.modality} data; '
                              f"use one of {', '.join(allowed)}")
        try:
            render(answer.model, shape)
        except AssemblyError as exc:
            raise AnswerError(f"the spec cannot be built for this data: {exc}") from None
    return answer, sorted(stray + [k for k in data if k not in LLMAnswer.model_fields])


def _errors(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - limit
    text = "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return text[:800]
