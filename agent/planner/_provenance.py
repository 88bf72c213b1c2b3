"""Who planned a run's trials: the LLM, the statistics' schedule, or the offline planner standing in.

Read from the proposals stored with each trial (``Proposal.planned_by`` and ``fallback``), so the
summary, ``runs show`` and both reports count the same thing, for live, resumed and replayed runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["planning", "planning_line"]


def planning(proposals: Iterable[Mapping[str, Any]], planner: str) -> dict[str, Any]:
    """Counts by who planned each trial, and the fallbacks by reason (most frequent first)."""
    by: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for p in proposals:
        who = _who(p, planner)
        by[who] += 1
        if who == "fallback":
            reasons[str(p.get("fallback") or "unknown")] += 1
    return {"planner": planner, "trials": sum(by.values()), "llm": by["llm"], "schedule": by["schedule"],
            "fallback": by["fallback"], "fallback_reasons": dict(reasons.most_common())}


def _who(p: Mapping[str, Any], planner: str) -> str:
    """``planned_by``; a proposal stored before it was recorded is read from what it kept."""
    if p.get("planned_by"):
        return str(p["planned_by"])
    if planner != "llm":
        return "search"
    if "llm" in (p.get("params") or {}):
        return "llm"
    return "fallback" if "[offline planner:" in str(p.get("reason") or "") else "schedule"


def planning_line(summary: Mapping[str, Any] | None) -> str | None:
    """``the LLM planned 2 of 6 trials; 3 by the offline planner instead (format_rejected 3); ...``,
    or ``None`` for a run that never used the LLM planner."""
    if not summary or summary.get("planner") != "llm":
        return None
    line = f"the LLM planned {summary['llm']} of {summary['trials']} trials"
    parts = []
    if summary["fallback"]:
        reasons = ", ".join(f"{k} {v}" for k, v in summary["fallback_reasons"].items())
        parts.append(f"{summary['fallback']} by the offline planner instead ({reasons})")
    if summary["schedule"]:
        parts.append(f"{summary['schedule']} scheduled by the statistics")
    return line + ("; " + "; ".join(parts) if parts else "")
