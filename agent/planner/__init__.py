"""Planners propose trials; the statistics (agent.scoring) decide. Never imports sandbox/registry."""

from ._base import BasePlanner, Goal, PlanContext, Proposal, TrialSummary
from ._search import CONFIRM_SEEDS, ETA, SearchPlanner, candidate_id, low_fidelity_subset

__all__ = [
    "CONFIRM_SEEDS",
    "ETA",
    "BasePlanner",
    "Goal",
    "PlanContext",
    "Proposal",
    "SearchPlanner",
    "TrialSummary",
    "candidate_id",
    "low_fidelity_subset",
]
