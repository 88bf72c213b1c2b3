"""The SQLite schema as forward migrations, applied in one transaction when a store is opened.

Each step is ``Migration(version, statements)``; ``schema_migrations`` has one row per applied
step. A store whose newest step is above ``SCHEMA_VERSION`` was written by a newer release and
is refused (an older release would misread it). Never edit a released step: append one.

Invariants the schema itself enforces (so no caller bug can break them):
- a trial's number is unique within its run; ``status`` is set exactly when ``state`` is finished;
- a finished trial is final (trigger); seed results exist only for finished trials (trigger);
- artifacts and the run's best trial belong to the same run (composite foreign keys);
- every JSON column holds valid JSON.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import NamedTuple

from ..errors import RegistryError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "schema_version"]


class Migration(NamedTuple):
    version: int
    statements: tuple[str, ...]


_RUN_STATUSES = "'running','achieved','not_achieved','inconclusive','budget_exhausted','failed','interrupted'"

_V1_CORE = (
    f"""CREATE TABLE runs (
        id TEXT PRIMARY KEY CHECK (id GLOB 'run-*'),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        goal TEXT NOT NULL,
        config TEXT NOT NULL CHECK (json_valid(config)),
        status TEXT NOT NULL CHECK (status IN ({_RUN_STATUSES})),
        decision TEXT CHECK (decision IS NULL OR json_valid(decision)),
        best_trial_id TEXT,
        planner_seed INTEGER,
        manifest TEXT NOT NULL CHECK (json_valid(manifest)),
        FOREIGN KEY (id, best_trial_id) REFERENCES trials (run_id, id)
    )""",
    """CREATE TABLE trials (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id),
        number INTEGER NOT NULL CHECK (number >= 1),
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'finished')),
        status TEXT,
        spec TEXT NOT NULL CHECK (json_valid(spec)),
        source TEXT,
        source_sha256 TEXT CHECK (source_sha256 IS NULL OR length(source_sha256) = 64),
        message TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(summary)),
        goal TEXT CHECK (goal IS NULL OR json_valid(goal)),
        flags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(flags)),
        details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        wall_s REAL CHECK (wall_s IS NULL OR wall_s >= 0),
        container_s REAL CHECK (container_s IS NULL OR container_s >= 0),
        CHECK ((state = 'finished') = (status IS NOT NULL AND finished_at IS NOT NULL)),
        UNIQUE (run_id, number),
        UNIQUE (run_id, id)
    )""",
    """CREATE TABLE seed_results (
        trial_id TEXT NOT NULL REFERENCES trials (id),
        seed INTEGER NOT NULL CHECK (seed >= 0),
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        metrics TEXT NOT NULL CHECK (json_valid(metrics)),
        curves TEXT NOT NULL CHECK (json_valid(curves)),
        extra TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra)),
        PRIMARY KEY (trial_id, seed)
    )""",
    """CREATE TABLE artifacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id),
        trial_id TEXT,
        kind TEXT NOT NULL CHECK (kind <> ''),
        path TEXT NOT NULL CHECK (path <> ''),
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        bytes INTEGER NOT NULL CHECK (bytes >= 0),
        created_at TEXT NOT NULL,
        FOREIGN KEY (run_id, trial_id) REFERENCES trials (run_id, id)
    )""",
    "CREATE INDEX runs_by_created ON runs (created_at)",
    "CREATE INDEX artifacts_by_run ON artifacts (run_id)",
)

# Resume (attempt counter, pending trials re-run in place), successive-halving bookkeeping,
# the LLM audit trail, and the triggers that make finished trials final.
_V2_RESUME_LLM = (
    "ALTER TABLE trials ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1)",
    "ALTER TABLE trials ADD COLUMN rung TEXT CHECK (rung IS NULL OR json_valid(rung))",
    "CREATE INDEX trials_by_state ON trials (run_id, state, number)",
    """CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id),
        created_at TEXT NOT NULL,
        purpose TEXT NOT NULL,
        request TEXT NOT NULL CHECK (json_valid(request)),
        response TEXT CHECK (response IS NULL OR json_valid(response)),
        prompt_tokens INTEGER CHECK (prompt_tokens IS NULL OR prompt_tokens >= 0),
        completion_tokens INTEGER CHECK (completion_tokens IS NULL OR completion_tokens >= 0),
        latency_s REAL,
        error TEXT,
        fallback_reason TEXT
    )""",
    "CREATE INDEX llm_calls_by_run ON llm_calls (run_id)",
    """CREATE TRIGGER finished_trial_is_final BEFORE UPDATE ON trials
       WHEN OLD.state = 'finished'
       BEGIN SELECT RAISE(ABORT, 'a finished trial is final'); END""",
    """CREATE TRIGGER seeds_need_finished_trial BEFORE INSERT ON seed_results
       WHEN (SELECT state FROM trials WHERE id = NEW.trial_id) IS NOT 'finished'
       BEGIN SELECT RAISE(ABORT, 'seed results belong to a finished trial'); END""",
    """CREATE TRIGGER seeds_are_final BEFORE DELETE ON seed_results
       BEGIN SELECT RAISE(ABORT, 'seed results of a finished trial are final'); END""",
)

# Where a running trial is (epochs per seed, last validation accuracy), updated as it trains.
_V3_PROGRESS = (
    "ALTER TABLE trials ADD COLUMN progress TEXT CHECK (progress IS NULL OR json_valid(progress))",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, _V1_CORE),
    Migration(2, _V2_RESUME_LLM),
    Migration(3, _V3_PROGRESS),
)
SCHEMA_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"


def schema_version(conn: sqlite3.Connection) -> int:
    """The newest applied step (0 for an empty store)."""
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(conn: sqlite3.Connection, where: str, target: int = SCHEMA_VERSION,
            steps: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply the missing steps up to ``target`` in one ``BEGIN IMMEDIATE`` transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Two processes opening a new
    store at once are serialized by the write lock; the second finds the steps applied.
    Returns the version the store is at afterwards.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_VERSION_TABLE)
        found = schema_version(conn)
        if found > steps[-1].version:
            raise RegistryError(
                f"registry {where} has schema version {found}, created by a newer research-agent; "
                f"upgrade research-agent (this one reads up to version {steps[-1].version})")
        now = datetime.now(UTC).isoformat()
        for step in steps:
            if found < step.version <= target:
                for statement in step.statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (step.version, now))
        version = schema_version(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return version
