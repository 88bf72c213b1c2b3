"""The LLM planner: an OpenAI-compatible model proposes new candidates; the statistics drive the rest.

Each step, in order:
1. what the statistics and the halving schedule ask for (confirm, add seeds, promote: the offline
   planner's ``follow_up``) comes first, without any LLM call;
2. LLM-written source that passed its smoke test is promoted to full fidelity (no call either);
3. LLM-written source that failed its smoke test goes back to the LLM with the (truncated,
   untrusted-marked) error, at most ``repairs`` rounds per chain;
4. otherwise the LLM proposes a new candidate from a bounded summary of the run.
An answer that fails validation gets one repair round with the error; a second failure, an
unreachable endpoint or a spent budget make the offline planner take that step, and the fallback
is recorded with its reason. A typed spec runs at full fidelity on the first checkpoint's seeds;
free source first runs as a ``smoke`` trial (1 seed, 1 epoch, a small subset).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..scoring import CHECKPOINTS
from ..specs import TrainingSpec, TrialSpec
from ._base import BasePlanner, PlanContext, Proposal, Recorder, TrialSummary
from ._llm_answer import AnswerError, LLMAnswer, answer_schema, parse_answer
from ._llm_client import ChatClient, ChatResult, LLMError, LLMExchange, LLMReplayMismatch
from ._llm_prompt import fix_messages, proposal_messages, repair_messages
from ._search import SearchPlanner, candidate_id

__all__ = ["LLMPlanner", "TruncatedAnswer", "fallback_kind", "smoke_subset"]

SMOKE_ROWS = 256  # training rows of a smoke test: enough to catch shape and dtype bugs, cheap
_REASON_CHARS = 300


def smoke_subset(n_train: int) -> int | None:
    return SMOKE_ROWS if n_train > SMOKE_ROWS else None


class LLMPlanner(BasePlanner):
    name = "llm"

    def __init__(self, client: ChatClient, seed: int = 0, checkpoints: tuple[int, ...] = CHECKPOINTS,
                 repairs: int | None = None):
        self.client = client
        self.checkpoints = tuple(checkpoints)
        self.repairs = client.settings.repairs if repairs is None else repairs
        self.offline = SearchPlanner(seed=seed, checkpoints=self.checkpoints)
        self._record: Recorder = lambda exchange: None

    def bind(self, record: Recorder, past_calls: Sequence[Mapping[str, Any]] = ()) -> None:
        self._record = record
        self.client.bind(record, past_calls)

    def propose(self, ctx: PlanContext) -> Proposal | None:
        follow = self.offline.follow_up(ctx)
        if follow is not None:
            return follow.model_copy(update={"planned_by": "schedule"})
        smoke = _open_smoke(ctx.history)
        if smoke is not None:
            if smoke.status == "ok":
                return self._promote_source(smoke)
            rounds = int(smoke.proposal.params.get("llm", {}).get("repair", 0))
            if rounds < self.repairs:
                return self._ask(ctx, "repair", repair_messages(ctx, smoke), rounds + 1)
        return self._ask(ctx, "propose", proposal_messages(ctx, self.checkpoints), 0)

    # -- asking -------------------------------------------------------------------------------
    def _ask(self, ctx: PlanContext, purpose: str, messages: list[dict], repair: int) -> Proposal | None:
        step = _next_number(ctx)
        try:
            answer, ignored = self._answer(ctx, purpose, messages, step)
        except LLMReplayMismatch:
            raise  # a replay that diverged must stop, not quietly plan offline
        except (LLMError, AnswerError) as exc:
            return self._fallback(ctx, purpose, step, str(exc), fallback_kind(exc))
        return self._proposal(ctx, answer, ignored, repair)

    def _answer(self, ctx: PlanContext, purpose: str, messages: list[dict], step: int):
        schema = answer_schema()
        result = self.client.complete(messages, purpose, step, schema)
        try:
            return self._validated(ctx, result)
        except AnswerError as exc:
            fixed = self.client.complete(fix_messages(messages, result.content, str(exc)), f"{purpose}_fix", step,
                                         schema)
            try:
                return self._validated(ctx, fixed)
            except AnswerError as again:
                raise _again(again) from None

    def _validated(self, ctx: PlanContext, result: ChatResult) -> tuple[LLMAnswer, list[str]]:
        if result.truncated:
            raise TruncatedAnswer(
                f"the answer was cut off at max_tokens ({self.client.settings.answer_tokens} tokens) before it "
                f"was complete; answer with a shorter JSON object (a spec, or a smaller model file)")
        answer, ignored = parse_answer(result.content, ctx.shape)
        cid = candidate_id(_full_spec(answer))
        tried = next((t.number for t in ctx.history if t.proposal.candidate == cid), None)
        if tried is not None:
            raise AnswerError(f"that exact trial was already run (trial {tried}); propose a different one")
        return answer, ignored

    def _fallback(self, ctx: PlanContext, purpose: str, step: int, reason: str, kind: str) -> Proposal | None:
        self._record(LLMExchange(purpose="fallback", request={"step": step, "instead_of": purpose,
                                                              "planner": self.offline.name, "kind": kind},
                                 fallback_reason=reason))
        proposal = self.offline.propose(ctx)
        if proposal is None:
            return None
        note = f" [offline planner: {reason}]"
        return proposal.model_copy(update={"reason": (proposal.reason + note)[:2000], "planned_by": "fallback",
                                           "fallback": kind})

    # -- proposals ----------------------------------------------------------------------------
    def _proposal(self, ctx: PlanContext, answer: LLMAnswer, ignored: list[str], repair: int) -> Proposal:
        full = _full_spec(answer)
        meta: dict[str, Any] = {"repair": repair}
        why = answer.rationale[:_REASON_CHARS]
        if ignored:
            meta["ignored_fields"] = ignored[:20]
            why += f" (ignored fields: {', '.join(ignored[:5])})"
        if answer.kind == "spec":
            return Proposal(spec=full, action="promote", candidate=candidate_id(full), seeds=self._first_seeds(),
                            rung=1, params={"llm": meta}, reason=f"LLM proposal: {why}", planned_by="llm")
        subset = smoke_subset(ctx.n_train)
        smoke = full.model_copy(update={"training": full.training.model_copy(update={"epochs": 1}),
                                        "subset_size": subset})
        meta["training"] = full.training.model_dump(mode="json")
        label = f"repair {repair}" if repair else "new"
        return Proposal(spec=smoke, action="smoke", candidate=candidate_id(full), seeds=[0], rung=0,
                        subset_size=subset, params={"llm": meta}, planned_by="llm",
                        reason=f"LLM-written model ({label}), smoke test: 1 seed, 1 epoch, "
                               f"{subset or 'all'} rows. {why}")

    def _promote_source(self, smoke: TrialSummary) -> Proposal:
        meta = smoke.proposal.params.get("llm", {})
        spec = smoke.proposal.spec
        training = TrainingSpec.model_validate(meta.get("training", spec.training.model_dump()))
        full = spec.model_copy(update={"training": training, "subset_size": None})
        return Proposal(spec=full, action="promote", candidate=smoke.proposal.candidate, seeds=self._first_seeds(),
                        rung=1, params={"llm": meta | {"smoke_trial": smoke.number}}, planned_by="llm",
                        reason=f"LLM-written model passed its smoke test (trial {smoke.number}): full data, "
                               f"{training.epochs} epochs, {len(self._first_seeds())} seeds")

    def _first_seeds(self) -> list[int]:
        return list(range(self.checkpoints[0]))


class TruncatedAnswer(AnswerError):
    """The answer hit max_tokens: the JSON is incomplete, so it is not parsed at all."""


def _again(exc: AnswerError) -> AnswerError:
    """The error after the one repair round, keeping whether it was a cut-off answer."""
    cls = TruncatedAnswer if isinstance(exc, TruncatedAnswer) else AnswerError
    return cls(f"invalid answer after one repair round: {exc}")


def fallback_kind(exc: Exception) -> str:
    """The short reason a fallback is counted by: the client's failure kind, ``budget``,
    ``truncated`` or ``invalid_answer``."""
    if isinstance(exc, TruncatedAnswer):
        return "truncated"
    if isinstance(exc, AnswerError):
        return "invalid_answer"
    return getattr(exc, "kind", "error")


def _full_spec(answer: LLMAnswer) -> TrialSpec:
    if answer.kind == "spec":
        return TrialSpec(model=answer.model, training=answer.training, origin="llm", rationale=answer.rationale)
    return TrialSpec(source=answer.source, training=answer.training, origin="llm", rationale=answer.rationale)


def _open_smoke(history: list[TrialSummary]) -> TrialSummary | None:
    """The latest smoke trial when nothing but statistics-driven steps came after it (its chain is
    still open: promote it, or repair it); ``None`` once a new proposal or a fallback followed."""
    for t in reversed(history):
        p = t.proposal
        if p.action == "smoke":
            return t
        if not (p.action in ("confirm", "add_seeds") or (p.action == "promote" and "llm" not in p.params)):
            return None
    return None


def _next_number(ctx: PlanContext) -> int:
    return max((t.number for t in ctx.history), default=0) + 1
