"""Keep credentials out of the registry: LLM requests are stored, their API keys never are."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "redact"]

REDACTED = "[redacted]"

# Field names that carry a credential, compared after lower-casing and dropping `-`/`_`
# (so `Authorization`, `api_key`, `X-Api-Key`, `OPENAI_API_KEY` all match). Not a bare `token`:
# responses with logprobs carry `{"token": "the"}`, which is data.
_SECRET_FIELDS = frozenset({
    "authorization", "proxyauthorization", "apikey", "xapikey", "openaiapikey", "apitoken",
    "accesstoken", "secret", "clientsecret", "password", "cookie", "setcookie",
})
# Credentials inside free text (an error message that quotes a header, a URL with a key).
_SECRET_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"(?i)([?&](?:api[_-]?key|key|token)=)[^&\s]+"), r"\1" + REDACTED),
)


def redact(value: Any) -> Any:
    """A copy of ``value`` without credentials.

    Mapping entries whose name is a credential field (``Authorization``, ``api_key``, ...) keep
    their key with the value replaced by ``"[redacted]"``, so the record still shows a key was
    sent; bearer tokens, ``sk-...`` keys and ``?api_key=`` query values inside strings are
    replaced too. Nested mappings and lists are walked; other values are returned as they are.
    """
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_secret_field(k) and v is not None else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _redact_text(value)
    return value


def _is_secret_field(name: object) -> bool:
    return isinstance(name, str) and re.sub(r"[-_\s]", "", name.lower()) in _SECRET_FIELDS


def _redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text
