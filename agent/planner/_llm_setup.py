"""Which planner a run gets, and building the LLM one (live or replayed).

An endpoint is configured by ``--llm-base-url``, else ``OPENAI_BASE_URL``, else an API key in the
environment (``OPENAI_API_KEY`` or the variable ``--llm-api-key-env`` names) means OpenAI itself.
``auto`` uses the LLM only when one is configured AND answers a short ``GET /models``; with
nothing configured it makes no network attempt at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ..errors import UsageError
from ..scoring import CHECKPOINTS
from ._base import BasePlanner
from ._llm import LLMPlanner
from ._llm_client import LLMSettings, OpenAIChatClient, probe
from ._llm_replay import ReplayChatClient
from ._search import SearchPlanner

__all__ = ["DEFAULT_KEY_ENV", "DEFAULT_MODEL", "OPENAI_URL", "choose_planner", "endpoint_settings", "make_planner"]

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


def endpoint_settings(environ: Mapping[str, str], base_url: str | None = None, model: str | None = None,
                      api_key_env: str | None = None, **limits: Any) -> LLMSettings | None:
    """The LLM settings from flags and environment, or ``None`` when no endpoint is configured.

    Raises ``UsageError`` when ``api_key_env`` names a variable that is not set.
    """
    key_env = api_key_env or DEFAULT_KEY_ENV
    if api_key_env and not environ.get(api_key_env):
        raise UsageError(f"--llm-api-key-env {api_key_env}: ${api_key_env} is not set; export it or drop the flag")
    url = base_url or environ.get("OPENAI_BASE_URL") or (OPENAI_URL if environ.get(key_env) else None)
    if not url:
        return None
    values = {k: v for k, v in limits.items() if v is not None}
    return LLMSettings(base_url=url.rstrip("/"), model=model or DEFAULT_MODEL, api_key_env=key_env, **values)


def choose_planner(requested: Literal["auto", "search", "llm"], settings: LLMSettings | None,
                   environ: Mapping[str, str],
                   check: Callable[..., str | None] = probe) -> tuple[Literal["search", "llm"], str]:
    """``(planner, one line saying which and why)``. ``llm`` without an endpoint is a usage error."""
    if requested == "search":
        return "search", "planner: search (offline)"
    if settings is None:
        if requested == "llm":
            raise UsageError("--planner llm needs an endpoint: pass --llm-base-url URL (e.g. Ollama's "
                             "http://localhost:11434/v1) or set OPENAI_BASE_URL / OPENAI_API_KEY")
        return "search", "planner: search (offline; no LLM endpoint configured)"
    where = f"{settings.model} at {settings.base_url}"
    if requested == "llm":
        return "llm", f"planner: llm ({where})"
    problem = check(settings, environ)
    if problem:
        return "search", f"planner: search (offline; LLM endpoint {settings.base_url} unreachable: {problem})"
    return "llm", f"planner: llm ({where}; auto)"


def make_planner(kind: str, settings: LLMSettings | None, seed: int = 0,
                 checkpoints: tuple[int, ...] = CHECKPOINTS, environ: Mapping[str, str] | None = None,
                 replay: tuple[str, Sequence[Mapping[str, Any]]] | None = None) -> BasePlanner:
    """The planner for a run; ``replay=(run_id, its recorded LLM calls)`` answers from the record."""
    if kind != "llm":
        return SearchPlanner(seed=seed, checkpoints=checkpoints)
    if settings is None:
        raise UsageError("this run uses the LLM planner but has no LLM settings; start a new run")
    if replay is not None:
        client = ReplayChatClient(settings, replay[1], source_run=replay[0])
    else:
        client = OpenAIChatClient(settings, environ)
    return LLMPlanner(client, seed=seed, checkpoints=checkpoints)
