"""Answer a run's LLM requests from another run's records: ``research-agent run --replay RUN``.

The recorded attempts are grouped into logical calls (``request.call``); the replay hands out the
final outcome of each call in order (the answer, or the same failure, so a fallback happens again)
and re-records the attempts in the new run. A call the recorded run did not make (another purpose,
another trial, or one call too many) is a divergence: ``LLMReplayMismatch``, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._llm_client import (
    ChatClient,
    ChatResult,
    LLMExchange,
    LLMReplayMismatch,
    LLMSettings,
    LLMUnavailable,
    _result,
)

__all__ = ["ReplayChatClient"]


class ReplayChatClient(ChatClient):
    """Returns the responses ``source_run`` recorded, in order; no endpoint, no network."""

    def __init__(self, settings: LLMSettings, recorded: Sequence[Mapping[str, Any]], source_run: str):
        super().__init__(settings)
        self.source_run = source_run
        self._groups = _group(recorded)
        self._next = 0

    def bind(self, record, past_calls: Sequence[Mapping[str, Any]] = ()) -> None:
        """A resumed replay continues after the calls the run already replayed."""
        super().bind(record, past_calls)
        self._next = len(_group(past_calls))

    def complete(self, messages: list[dict], purpose: str, step: int, schema: dict | None = None) -> ChatResult:
        group = self._take(purpose, step)
        self._calls += 1
        last: Mapping[str, Any] = group[-1]
        for attempt in group:
            self.budget.check()
            self.budget.calls += 1
            self.record(self._rerecord(attempt))
        if last.get("response") is None:
            error = str(last.get("error") or "failed")
            # The recorded error starts with its kind ("format_rejected: ..."): the fallback is counted the same.
            raise LLMUnavailable(f"LLM endpoint (replayed from {self.source_run}): {error}",
                                 kind=error.partition(":")[0] if ":" in error else None)
        result = _result(dict(last["response"]))
        self.budget.tokens += result.prompt_tokens + result.completion_tokens
        return result

    def _take(self, purpose: str, step: int) -> list[Mapping[str, Any]]:
        if self._next >= len(self._groups):
            raise LLMReplayMismatch(
                f"replay of {self.source_run}: it recorded {len(self._groups)} LLM call(s), this run asks for one "
                f"more ({purpose} for trial {step}); the runs diverged (a trial ended differently?)")
        group = self._groups[self._next]
        first = group[0]
        want = (first.get("purpose"), (first.get("request") or {}).get("step"))
        if want != (purpose, step):
            raise LLMReplayMismatch(
                f"replay of {self.source_run}: call {self._next + 1} was {want[0]} for trial {want[1]}, this run "
                f"asks for {purpose} for trial {step}; the runs diverged (a trial ended differently?)")
        self._next += 1
        return group

    def _rerecord(self, attempt: Mapping[str, Any]) -> LLMExchange:
        request = dict(attempt.get("request") or {}) | {"call": self._calls, "replayed_from": self.source_run}
        return LLMExchange(purpose=str(attempt.get("purpose")), request=request, response=attempt.get("response"),
                           prompt_tokens=attempt.get("prompt_tokens"),
                           completion_tokens=attempt.get("completion_tokens"), error=attempt.get("error"))


def _group(recorded: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Attempts by logical call, in recorded order; fallback decisions are not calls."""
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for row in recorded:
        request = row.get("request") or {}
        if "call" not in request:
            continue
        groups.setdefault(request["call"], []).append(row)
    return list(groups.values())
