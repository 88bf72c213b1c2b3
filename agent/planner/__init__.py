"""Planners propose trials; the statistics (agent.scoring) decide. Never imports sandbox/registry.

    SearchPlanner   offline: Optuna TPE, successive halving, statistical racing (the default)
    LLMPlanner      any OpenAI-compatible /chat/completions endpoint proposes new candidates;
                    the offline planner takes any step the LLM cannot (recorded with the reason)
"""

from .._lazy import attach

# Names import from their submodule on first use: a command pays only for what it touches.
__getattr__, __dir__, __all__ = attach(__name__, {
    "._base": ["BasePlanner", "Goal", "PlanContext", "PlannedBy", "Proposal", "Recorder", "TrialSummary"],
    "._cost": ["DEADLINE_SAFETY", "deadline_s"],
    "._history": ["summary_of"],
    "._ledger": ["Candidate", "Ledger"],
    "._llm": ["SMOKE_ROWS", "LLMPlanner", "smoke_subset"],
    "._llm_answer": [
        "MAX_ANSWER_CHARS", "AnswerError", "LLMAnswer", "answer_schema", "extract_json", "parse_answer"
    ],
    "._llm_client": [
        "MODES", "ChatClient", "ChatResult", "LLMBudgetExhausted", "LLMError", "LLMExchange",
        "LLMReplayMismatch", "LLMSettings", "LLMUnavailable", "OpenAIChatClient", "probe"
    ],
    "._llm_prompt": ["MAX_PROMPT_CHARS", "fix_messages", "proposal_messages", "repair_messages", "untrusted"],
    "._llm_replay": ["ReplayChatClient"],
    "._llm_setup": [
        "DEFAULT_KEY_ENV", "DEFAULT_MODEL", "OPENAI_URL", "choose_planner", "endpoint_settings",
        "make_planner"
    ],
    "._provenance": ["planning", "planning_line"],
    "._search": ["CONFIRM_SEEDS", "ETA", "SearchPlanner", "candidate_id", "low_fidelity_subset"],
})
