"""A finished trial as the planners and the ledger see it, from the registry's record of it."""

from __future__ import annotations

import math
import statistics

from ..records import TrialStatus
from ._base import Proposal, TrialSummary

DETAIL_CHARS = 4000  # a failed trial's stderr tail kept for the planners (untrusted, bounded)


def summary_of(trial, metric: str) -> TrialSummary:
    """``trial`` is a finished ``registry.TrialRecord`` (read by attribute: the planner never imports
    the registry). Values are the ok seeds' ``metric``; test-set bounds come with the seeds that
    recorded them for that metric."""
    ok = [s for s in trial.seeds if s.status == "ok" and s.metrics.get(metric) is not None]
    # a bound the bootstrap could not compute is stored as null: nan here, so it can support no claim
    bounds = {s.seed: (_number(b.get("lower")), _number(b.get("upper"))) for s in ok
              if isinstance(b := s.extra.get("test_bound"), dict) and b.get("metric") == metric}
    failed = trial.status != TrialStatus.OK
    detail = ((trial.details.get("sandbox") or {}).get("stderr_tail") or "") if failed else ""
    epochs = [x for s in trial.seeds for x in _finite(s.curves.get("epoch_s"))]
    per_seed = [math.fsum(_finite(s.curves.get("epoch_s"))) for s in ok if _finite(s.curves.get("epoch_s"))]
    return TrialSummary(number=trial.number, proposal=Proposal.model_validate(trial.rung),
                        status=(trial.status or TrialStatus.INFRA_ERROR).value,
                        values={s.seed: s.metrics[metric] for s in ok}, message=trial.message,
                        finished=[s.seed for s in trial.seeds if s.status == "ok"],
                        detail=str(detail)[-DETAIL_CHARS:], wall_s=trial.container_s, test_bounds=bounds,
                        epoch_s=statistics.median(epochs) if epochs else None,
                        seed_s=max(per_seed) if per_seed else None)


def _finite(values) -> list[float]:
    return [float(x) for x in values or () if isinstance(x, int | float) and math.isfinite(x)]


def _number(value) -> float:
    return float(value) if isinstance(value, int | float) else math.nan
