"""Talking to any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, Ollama, vLLM, LM Studio).

One ``complete`` call is one logical request: its attempts (retries on 429/5xx/timeouts with
backoff, and the next structured-output mode when the server refuses one) are each recorded as an
``LLMExchange`` through the recorder the study binds, so the registry holds every request and
response and ``ReplayChatClient`` can answer a later run from them.

Structured output is negotiated per endpoint, most constrained first (``MODES``): OpenAI, vLLM,
LM Studio and llama.cpp's ``llama-server`` take ``json_schema``; llama-cpp-python takes
``json_object`` with a ``schema`` (grammar-constrained); some take only ``json_object`` or plain
text, which get the schema in the prompt. A refusal (400/422 naming the format, or a 500 whose
body names ``response_format`` or the schema: llama-cpp-python's way) costs no retries; the mode
that answered is recorded with every request, and a resumed run starts from it. The API key lives only in
the ``openai`` client object: it is read from the environment variable the settings name, and
never enters settings, records, messages or errors.

    LLMError                     an AgentError (exit 1)
    ├── LLMUnavailable           retries spent, a refused request, an unusable or oversized body
    ├── LLMBudgetExhausted       --llm-max-calls / --llm-max-tokens reached
    └── LLMReplayMismatch        a replay asked for a call the recorded run did not make
"""

from __future__ import annotations

import abc
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import AgentError
from ..records import LLMExchange

__all__ = [
    "MODES", "ChatClient", "ChatResult", "LLMBudgetExhausted", "LLMError", "LLMExchange", "LLMReplayMismatch",
    "LLMSettings", "LLMUnavailable", "OpenAIChatClient", "mode_body", "probe",
]

NO_KEY = "unused"  # Ollama, vLLM and LM Studio need no key; the openai client insists on some value
PROBE_TIMEOUT_S = 3.0  # `--planner auto` asks GET /models this long before going offline
MAX_RESPONSE_BYTES = 1024 * 1024  # a chat answer is a few KiB; past this we refuse to parse at all
MAX_BACKOFF_S = 30.0  # a Retry-After or exponential backoff never sleeps longer than this
# Structured-output modes, most constrained first; an endpoint keeps the first one it accepts.
MODES = ("json_schema", "json_object+schema", "json_object", "text")
ANSWER_TOKENS = 1024  # a proposal (spec or a small model file) fits; a 2,048-token context still holds the prompt
TIMEOUT_S = 300.0  # one request: a small local model on one core answers 1,024 tokens in about a minute


class LLMError(AgentError):
    """Root of the LLM client's errors (the planner turns all but a replay mismatch into a fallback).
    ``kind`` is the short reason a fallback is counted by."""

    kind = "error"

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class LLMUnavailable(LLMError):
    kind = "unavailable"


class LLMBudgetExhausted(LLMError):
    kind = "budget"


class LLMReplayMismatch(LLMError):
    pass


class LLMSettings(BaseModel):
    """Which endpoint and model, and the limits of one run. Stored with the run: holds the NAME of
    the key's environment variable, never the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout_s: float = Field(default=TIMEOUT_S, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=1.0, ge=0)
    max_calls: int = Field(default=40, ge=1)
    max_tokens: int = Field(default=400_000, ge=1)
    answer_tokens: int = Field(default=ANSWER_TOKENS, ge=64)  # max_tokens of one completion
    repairs: int = Field(default=2, ge=0, le=10)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_response_bytes: int = Field(default=MAX_RESPONSE_BYTES, ge=1024)


class ChatResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # "length": cut off at max_tokens

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class _Budget:
    def __init__(self, settings: LLMSettings):
        self.max_calls, self.max_tokens = settings.max_calls, settings.max_tokens
        self.calls = self.tokens = 0

    def check(self) -> None:
        if self.calls >= self.max_calls:
            raise LLMBudgetExhausted(f"LLM budget spent: {self.calls} calls (--llm-max-calls {self.max_calls})")
        if self.tokens >= self.max_tokens:
            raise LLMBudgetExhausted(f"LLM budget spent: {self.tokens} tokens (--llm-max-tokens {self.max_tokens})")

    def add(self, past: Sequence[Mapping[str, Any]]) -> None:
        """Count calls a resumed run already made (fallback records are not calls)."""
        for call in past:
            if "call" in (call.get("request") or {}):
                self.calls += 1
                self.tokens += (call.get("prompt_tokens") or 0) + (call.get("completion_tokens") or 0)


class ChatClient(abc.ABC):
    """Answers one chat request; records every attempt; stops at the run's budget."""

    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self.mode = MODES[0]  # the structured-output mode this endpoint accepted (negotiated down)
        self.budget = _Budget(settings)
        self.record: Callable[[LLMExchange], None] = lambda exchange: None
        self._calls = 0

    def bind(self, record: Callable[[LLMExchange], None], past_calls: Sequence[Mapping[str, Any]] = ()) -> None:
        self.record = record
        self.budget.add(past_calls)
        calls = [(c.get("request") or {}).get("call") for c in past_calls]
        self._calls = max((c for c in calls if isinstance(c, int)), default=self._calls)
        self._resume_mode(past_calls)

    def _resume_mode(self, past_calls: Sequence[Mapping[str, Any]]) -> None:
        """Start from the mode the run's last answered call used (a resumed run keeps it)."""
        answered = [(c.get("request") or {}).get("mode") for c in past_calls if c.get("response") is not None]
        known = [m for m in answered if m in MODES]
        if known:
            self.mode = known[-1]

    @abc.abstractmethod
    def complete(self, messages: list[dict], purpose: str, step: int, schema: dict | None = None) -> ChatResult:
        """The answer's text. Raises ``LLMError`` (never a third-party error)."""

    def _request(self, body: dict, attempt: int, step: int, mode: str | None = None) -> dict:
        request = {"endpoint": self.settings.base_url, "call": self._calls, "attempt": attempt, "step": step,
                   "body": body}
        return request | ({"mode": mode} if mode else {})


class OpenAIChatClient(ChatClient):
    """The ``openai`` package with its own retries off (``max_retries=0``): ours are bounded and recorded."""

    def __init__(self, settings: LLMSettings, environ: Mapping[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(settings)
        import openai  # deferred: `--planner search` never loads it

        self._openai = openai
        env = os.environ if environ is None else environ
        key = env.get(settings.api_key_env) if settings.api_key_env else None
        self._client = openai.OpenAI(base_url=settings.base_url, api_key=key or NO_KEY, max_retries=0,
                                     timeout=settings.timeout_s)
        self._key = key if key and len(key) >= 8 else None  # scrubbed from what a server echoes back
        self._sleep = sleep

    def complete(self, messages: list[dict], purpose: str, step: int, schema: dict | None = None) -> ChatResult:
        self._calls += 1
        mode = self.mode if schema is not None else None
        body = self._body(messages, schema, mode)
        attempt = retries = 0
        while True:
            self.budget.check()
            attempt += 1
            self.budget.calls += 1
            t0 = time.monotonic()
            try:
                doc = self._scrub(self._post(body))
                result = _result(doc)
            except Exception as exc:  # noqa: BLE001 - mapped right here, the one place they enter
                kind, retry_after = self._classify(exc)
                error = self._scrub(f"{kind}: {_short(exc)}")
                self._log(purpose, body, attempt, step, t0, mode, error=error)
                if kind == "format_rejected" and mode is not None and mode != MODES[-1]:
                    mode = self.mode = MODES[MODES.index(mode) + 1]  # for the rest of the run, too
                    body = self._body(messages, schema, mode)
                elif kind in _RETRYABLE and retries < self.settings.max_retries:
                    retries += 1
                    self._sleep(self._backoff(retries, retry_after))
                else:
                    raise LLMUnavailable(f"LLM endpoint: {kind} after {attempt} attempt(s): {error}",
                                         kind=kind) from None
                continue
            self.budget.tokens += result.prompt_tokens + result.completion_tokens
            note = (f"truncated: the answer stopped at max_tokens ({self.settings.answer_tokens})"
                    if result.truncated else None)
            self._log(purpose, body, attempt, step, t0, mode, error=note, response=doc, result=result)
            return result

    def _body(self, messages: list[dict], schema: dict | None, mode: str | None) -> dict:
        body = {"model": self.settings.model, "temperature": self.settings.temperature,
                "max_tokens": self.settings.answer_tokens}
        return body | mode_body(messages, schema, mode)

    def _log(self, purpose: str, body: dict, attempt: int, step: int, t0: float, mode: str | None,
             error: str | None = None, response: dict | None = None, result: ChatResult | None = None) -> None:
        self.record(LLMExchange(purpose=purpose, request=self._request(body, attempt, step, mode),
                                response=response, prompt_tokens=result.prompt_tokens if result else None,
                                completion_tokens=result.completion_tokens if result else None,
                                latency_s=round(time.monotonic() - t0, 3), error=error))

    def _scrub(self, value: Any) -> Any:
        """``value`` with our key replaced, wherever a server echoed it (the registry redacts too)."""
        if self._key is None:
            return value
        if isinstance(value, str):
            return value.replace(self._key, "[redacted]")
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        return value

    def _post(self, body: dict) -> dict:
        """POST /chat/completions, reading at most ``max_response_bytes`` of the answer."""
        cap, deadline = self.settings.max_response_bytes, time.monotonic() + self.settings.timeout_s
        with self._client.chat.completions.with_streaming_response.create(**body) as resp:
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _TooLarge(f"the response declares {int(declared)} bytes; the cap is {cap}")
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise _TooLarge(f"the response passed the {cap}-byte cap; not parsed")
                if time.monotonic() > deadline:
                    raise _Slow(f"the response took longer than {self.settings.timeout_s:g}s")
                chunks.append(chunk)
        try:
            doc = json.loads(b"".join(chunks))
        except ValueError as exc:
            raise _BadResponse(f"the body is not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise _BadResponse("the body is not a JSON object")
        return doc

    def _classify(self, exc: Exception) -> tuple[str, float | None]:
        o = self._openai
        if isinstance(exc, _LocalError):
            return exc.kind, None
        if isinstance(exc, o.APITimeoutError):
            return "timeout", None
        if isinstance(exc, o.APIConnectionError):
            return "connection", None
        if isinstance(exc, o.APIStatusError):
            code = exc.status_code
            if (code in (400, 422) or code >= 500) and _mentions_format(exc):
                return "format_rejected", None
            if code == 429:
                return "rate_limited", _retry_after(exc)
            if code >= 500:
                return "server_error", _retry_after(exc)
            return f"http_{code}", None
        return "bad_response", None

    def _backoff(self, retry: int, retry_after: float | None) -> float:
        wait = self.settings.backoff_s * 2 ** (retry - 1)
        return min(MAX_BACKOFF_S, max(wait, retry_after or 0.0))


_RETRYABLE = frozenset({"timeout", "connection", "rate_limited", "server_error", "slow"})


class _LocalError(Exception):
    kind = "bad_response"


class _TooLarge(_LocalError):
    kind = "too_large"


class _BadResponse(_LocalError):
    kind = "bad_response"


class _Slow(_LocalError):
    kind = "slow"


def _result(doc: dict) -> ChatResult:
    try:
        content = doc["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise _BadResponse("no choices[0].message.content in the response") from None
    if not isinstance(content, str):
        raise _BadResponse("choices[0].message.content is not text")
    usage = doc.get("usage") if isinstance(doc.get("usage"), dict) else {}
    finish = doc["choices"][0].get("finish_reason")
    return ChatResult(content=content, prompt_tokens=_count(usage.get("prompt_tokens")),
                      completion_tokens=_count(usage.get("completion_tokens")),
                      finish_reason=finish if isinstance(finish, str) else None)


# Length bounds stay with our own validation: a grammar-constrained server expands
# ``maxLength: 60000`` into a repetition that crashes llama.cpp (SIGSEGV in llama-cpp-python 0.3.36).
_LOCAL_ONLY_KEYWORDS = frozenset({"maxLength", "maxItems"})


def wire_schema(schema: Any) -> Any:
    """``schema`` as sent to a server: without the bounds only we enforce."""
    if isinstance(schema, dict):
        return {k: wire_schema(v) for k, v in schema.items() if k not in _LOCAL_ONLY_KEYWORDS}
    if isinstance(schema, list):
        return [wire_schema(v) for v in schema]
    return schema


def mode_body(messages: list[dict], schema: dict | None, mode: str | None) -> dict:
    """The ``messages`` and ``response_format`` of a request in structured-output ``mode``."""
    if schema is None or mode is None:
        return {"messages": messages}
    schema = wire_schema(schema)
    if mode == "json_schema":
        return {"messages": messages,
                "response_format": {"type": "json_schema", "json_schema": {"name": "trial_proposal", "schema": schema}}}
    if mode == "json_object+schema":
        return {"messages": messages, "response_format": {"type": "json_object", "schema": schema}}
    hint = ("Your answer must be one JSON object valid against this JSON Schema:\n"
            + json.dumps(schema, separators=(",", ":")))
    prompted = [*messages[:-1], messages[-1] | {"content": f"{messages[-1]['content']}\n\n{hint}"}]
    if mode == "json_object":
        return {"messages": prompted, "response_format": {"type": "json_object"}}
    return {"messages": prompted}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _mentions_format(exc: Exception) -> bool:
    """Does the refusal name the structured-output request (not a generic failure)?"""
    text = f"{getattr(exc, 'body', '')} {exc}".lower()
    return any(word in text for word in ("response_format", "json_schema", "response format", "structured",
                                         "schema"))


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after", "") if response is not None else ""
    try:
        return float(value)
    except ValueError:
        return None


def _short(exc: Exception, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def probe(settings: LLMSettings, environ: Mapping[str, str] | None = None,
          timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """``None`` when the endpoint answers ``GET /models`` within ``timeout_s``, else why not (one line)."""
    import openai

    env = os.environ if environ is None else environ
    key = env.get(settings.api_key_env) if settings.api_key_env else None
    client = openai.OpenAI(base_url=settings.base_url, api_key=key or NO_KEY, max_retries=0, timeout=timeout_s)
    try:
        client.models.list()
    except openai.NotFoundError:
        return None  # no /models route (some servers), but something OpenAI-shaped answered
    except openai.AuthenticationError:
        return "it rejected the API key (401)"
    except openai.APITimeoutError:
        return f"no answer within {timeout_s:g}s"
    except openai.APIConnectionError:
        return "cannot connect"
    except openai.APIStatusError as exc:
        return f"GET /models answered {exc.status_code}"
    except openai.OpenAIError as exc:
        return f"unusable answer to GET /models ({type(exc).__name__})"
    finally:
        client.close()
    return None
