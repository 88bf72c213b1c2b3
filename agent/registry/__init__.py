"""The run registry: runs, trials, seed results, artifacts and LLM calls, crash-safe.

``BaseRegistry`` is the contract; ``SQLiteRegistry`` keeps everything in one SQLite file (WAL)
under the home directory, next to one folder per run for its artifacts::

    with open_registry() as reg:                      # ./runs/registry.sqlite
        run = reg.create_run(goal, config, planner_seed=0, manifest=manifest)
        trial = reg.start_trial(run.id, spec, source)
        reg.finish_trial(trial.id, report)           # outcome + every seed, one transaction

Resuming after a crash: ``recover(run_id)`` turns trials left ``running`` into ``pending``
(same number, ``attempt + 1``); the loop re-runs each with ``restart_trial`` + ``finish_trial``
before it plans new ones. Finished trials are final.
"""

from ._base import RUN_ID_PATTERN, BaseRegistry
from ._export import EXPORT_VERSION
from ._records import (
    ArtifactRecord,
    BestMetric,
    LLMCallRecord,
    RunManifest,
    RunRecord,
    RunSnapshot,
    RunStatus,
    RunSummary,
    SeedResultRecord,
    TrialRecord,
    TrialState,
)
from ._redact import REDACTED, redact
from ._schema import SCHEMA_VERSION
from ._sqlite import REGISTRY_FILE, SQLiteRegistry, open_registry

__all__ = [
    "EXPORT_VERSION",
    "REDACTED",
    "REGISTRY_FILE",
    "RUN_ID_PATTERN",
    "SCHEMA_VERSION",
    "ArtifactRecord",
    "BaseRegistry",
    "BestMetric",
    "LLMCallRecord",
    "RunManifest",
    "RunRecord",
    "RunSnapshot",
    "RunStatus",
    "RunSummary",
    "SQLiteRegistry",
    "SeedResultRecord",
    "TrialRecord",
    "TrialState",
    "open_registry",
    "redact",
]
