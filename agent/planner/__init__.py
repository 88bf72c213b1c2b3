"""Planners propose trials; the statistics (agent.scoring) decide. Never imports sandbox/registry.

    SearchPlanner   offline: Optuna TPE, successive halving, statistical racing (the default)
    LLMPlanner      any OpenAI-compatible /chat/completions endpoint proposes new candidates;
                    the offline planner takes any step the LLM cannot (recorded with the reason)
"""

from ._base import BasePlanner, Goal, PlanContext, PlannedBy, Proposal, Recorder, TrialSummary
from ._cost import DEADLINE_SAFETY, deadline_s
from ._history import summary_of
from ._ledger import Candidate, Ledger
from ._llm import SMOKE_ROWS, LLMPlanner, smoke_subset
from ._llm_answer import MAX_ANSWER_CHARS, AnswerError, LLMAnswer, answer_schema, extract_json, parse_answer
from ._llm_client import (
    MODES,
    ChatClient,
    ChatResult,
    LLMBudgetExhausted,
    LLMError,
    LLMExchange,
    LLMReplayMismatch,
    LLMSettings,
    LLMUnavailable,
    OpenAIChatClient,
    probe,
)
from ._llm_prompt import MAX_PROMPT_CHARS, fix_messages, proposal_messages, repair_messages, untrusted
from ._llm_replay import ReplayChatClient
from ._llm_setup import DEFAULT_KEY_ENV, DEFAULT_MODEL, OPENAI_URL, choose_planner, endpoint_settings, make_planner
from ._provenance import planning, planning_line
from ._search import CONFIRM_SEEDS, ETA, SearchPlanner, candidate_id, low_fidelity_subset

__all__ = [
    "DEADLINE_SAFETY",
    "deadline_s",
    "Candidate",
    "Ledger",
    "CONFIRM_SEEDS",
    "DEFAULT_KEY_ENV",
    "DEFAULT_MODEL",
    "ETA",
    "MAX_ANSWER_CHARS",
    "MAX_PROMPT_CHARS",
    "MODES",
    "OPENAI_URL",
    "SMOKE_ROWS",
    "AnswerError",
    "BasePlanner",
    "ChatClient",
    "ChatResult",
    "Goal",
    "LLMAnswer",
    "LLMBudgetExhausted",
    "LLMError",
    "LLMExchange",
    "LLMPlanner",
    "LLMReplayMismatch",
    "LLMSettings",
    "LLMUnavailable",
    "OpenAIChatClient",
    "PlanContext",
    "PlannedBy",
    "Proposal",
    "Recorder",
    "ReplayChatClient",
    "SearchPlanner",
    "TrialSummary",
    "answer_schema",
    "candidate_id",
    "choose_planner",
    "endpoint_settings",
    "extract_json",
    "fix_messages",
    "low_fidelity_subset",
    "make_planner",
    "parse_answer",
    "planning",
    "planning_line",
    "summary_of",
    "probe",
    "proposal_messages",
    "repair_messages",
    "smoke_subset",
    "untrusted",
]
