"""``research-agent llm-check``: what an OpenAI-compatible endpoint can do for the LLM planner.

It lists the models, negotiates the structured-output mode exactly as a run would (the first of
``MODES`` the server accepts and answers with a JSON object), and times a short streamed answer
(latency to the first token, tokens per second). It reports whether the key's variable is set,
never its value. With no endpoint configured it is never called (the CLI says so and stops).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from ._llm_answer import AnswerError, extract_json
from ._llm_client import MODES, NO_KEY, LLMError, LLMSettings, OpenAIChatClient

__all__ = ["CHECK_SCHEMA", "check_endpoint"]

CHECK_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}, "word": {"type": "string"}},
                "required": ["ok", "word"]}
CHECK_ANSWER_TOKENS = 64  # the structured probe's answer is a dozen tokens
SPEED_ANSWER_TOKENS = 48  # enough streamed tokens for a rate, short enough for a slow local model
_PROMPT = [{"role": "system", "content": "You answer with one JSON object and nothing else."},
           {"role": "user", "content": 'Answer {"ok": true, "word": "<any one English word>"}.'}]
_SPEED_PROMPT = [{"role": "user", "content": "Count from one to thirty in words, separated by commas."}]


def check_endpoint(settings: LLMSettings, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything ``llm-check`` prints, as plain values; never raises for a broken endpoint."""
    env = os.environ if environ is None else environ
    report: dict[str, Any] = {
        "endpoint": settings.base_url, "model": settings.model, "api_key_env": settings.api_key_env,
        "api_key_set": bool(settings.api_key_env and env.get(settings.api_key_env)),
    }
    report |= _models(settings, env)
    report |= _structured(settings, env)
    report |= _speed(settings, env)
    report["ok"] = report["mode"] is not None
    return report


def _openai(settings: LLMSettings, env: Mapping[str, str]):
    import openai

    key = env.get(settings.api_key_env) if settings.api_key_env else None
    return openai, openai.OpenAI(base_url=settings.base_url, api_key=key or NO_KEY, max_retries=0,
                                 timeout=settings.timeout_s)


def _models(settings: LLMSettings, env: Mapping[str, str]) -> dict[str, Any]:
    openai, client = _openai(settings, env)
    try:
        return {"models": sorted(m.id for m in client.models.list()), "models_error": None}
    except openai.OpenAIError as exc:
        return {"models": None, "models_error": f"{type(exc).__name__}: {_line(exc)}"}
    finally:
        client.close()


def _structured(settings: LLMSettings, env: Mapping[str, str]) -> dict[str, Any]:
    """Each mode as a run would try it: refused, answered with JSON, or answered with something else."""
    recorded: list = []
    client = OpenAIChatClient(settings.model_copy(update={"max_retries": 0, "answer_tokens": CHECK_ANSWER_TOKENS}),
                              env)
    client.bind(recorded.append)
    tried: dict[str, str] = {}
    while True:
        try:
            result = client.complete(_PROMPT, "llm_check", 0, CHECK_SCHEMA)
        except LLMError as exc:
            _note_refusals(recorded, tried)
            tried.setdefault(client.mode, f"failed: {_line(exc)}")
            return {"modes": tried, "mode": None}
        _note_refusals(recorded, tried)
        try:
            extract_json(result.content)
        except AnswerError:
            tried[client.mode] = "accepted, but the answer is not a JSON object"
            if client.mode == MODES[-1]:
                return {"modes": tried, "mode": None}
            client.mode = MODES[MODES.index(client.mode) + 1]
            continue
        tried[client.mode] = "ok"
        return {"modes": tried, "mode": client.mode}


def _note_refusals(recorded: list, tried: dict[str, str]) -> None:
    for exchange in recorded:
        mode = exchange.request.get("mode")
        if exchange.error and exchange.error.startswith("format_rejected") and mode:
            tried[mode] = "refused: " + exchange.error.removeprefix("format_rejected: ")[:160]
    recorded.clear()


def _speed(settings: LLMSettings, env: Mapping[str, str]) -> dict[str, Any]:
    """Latency to the first streamed token and tokens per second after it (a chunk is about a token)."""
    openai, client = _openai(settings, env)
    t0 = time.monotonic()
    first = None
    chunks = 0
    try:
        stream = client.chat.completions.create(model=settings.model, messages=_SPEED_PROMPT, stream=True,
                                                max_tokens=SPEED_ANSWER_TOKENS, temperature=0)
        for chunk in stream:
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                chunks += 1
                first = first or time.monotonic()
    except openai.OpenAIError as exc:
        return {"first_token_s": None, "tokens_per_s": None, "speed_error": f"{type(exc).__name__}: {_line(exc)}"}
    finally:
        client.close()
    end = time.monotonic()
    if first is None:
        return {"first_token_s": None, "tokens_per_s": None, "speed_error": "the stream carried no text"}
    rate = (chunks - 1) / (end - first) if chunks > 1 and end > first else None
    return {"first_token_s": round(first - t0, 3), "tokens_per_s": round(rate, 1) if rate else None,
            "speed_error": None}


def _line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
