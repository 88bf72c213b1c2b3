"""What only the SQLite backend has: its settings, its schema and migrations, its triggers,
and the mapping of ``sqlite3.Error`` to one-line ``RegistryError``s."""

import contextlib
import sqlite3
import threading

import pytest

from agent.errors import RegistryError
from agent.registry import REGISTRY_FILE, SCHEMA_VERSION, SQLiteRegistry, TrialState, _connect, open_registry
from agent.registry._schema import MIGRATIONS, Migration, migrate

from .conftest import SPEC, make_report, run_trial


@contextlib.contextmanager
def raw(path):
    """A plain connection to the file (autocommit), closed afterwards."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        yield conn
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "home" / REGISTRY_FILE


@pytest.fixture
def sqlite_reg(db):
    with SQLiteRegistry(db) as reg:
        yield reg


def test_connection_settings(sqlite_reg):
    conn = sqlite_reg._pool.get()
    pragma = lambda name: conn.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == _connect.BUSY_TIMEOUT_MS


def test_each_thread_gets_its_own_connection(sqlite_reg):
    mine, theirs = sqlite_reg._pool.get(), []
    t = threading.Thread(target=lambda: theirs.append(sqlite_reg._pool.get()))
    t.start()
    t.join()
    assert theirs[0] is not mine and sqlite_reg._pool.get() is mine


def test_every_connection_is_closed(db):
    reg = SQLiteRegistry(db)
    conns = [reg._pool.get()]
    for _ in range(2):  # the first thread's connection is closed when the second one connects
        t = threading.Thread(target=lambda: conns.append(reg._pool.get()))
        t.start()
        t.join()
    with pytest.raises(sqlite3.ProgrammingError):
        conns[1].execute("SELECT 1")
    reg.close()
    with pytest.raises(sqlite3.ProgrammingError):
        conns[0].execute("SELECT 1")


def test_open_registry_uses_the_home_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEARCH_AGENT_HOME", str(tmp_path / "envhome"))
    with open_registry() as reg:
        assert reg.path == tmp_path / "envhome" / REGISTRY_FILE and reg.path.is_file()
        run = reg.create_run("g", {})
        assert reg.run_dir(run.id) == tmp_path / "envhome" / run.id
    with open_registry(tmp_path / "flag") as reg:
        assert reg.home == tmp_path / "flag"


def test_a_new_file_is_at_the_current_version(sqlite_reg, db):
    with raw(db) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in MIGRATIONS] and versions[-1] == SCHEMA_VERSION


def test_migrating_a_version_1_file_keeps_its_data(db):
    db.parent.mkdir(parents=True)
    with raw(db) as conn:
        assert migrate(conn, str(db), target=1) == 1
        conn.execute("INSERT INTO runs (id, created_at, updated_at, goal, config, status, manifest) VALUES"
                     " ('run-20260101-000000-abcd', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00',"
                     " 'old goal', '{}', 'running', '{}')")
        conn.execute("INSERT INTO trials (id, run_id, number, state, spec, created_at, started_at) VALUES"
                     " ('run-20260101-000000-abcd-t0001', 'run-20260101-000000-abcd', 1, 'running', '{}',"
                     " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")
    with SQLiteRegistry(db) as reg:
        (trial,) = reg.list_trials("run-20260101-000000-abcd")
        assert trial.attempt == 1 and trial.rung is None and trial.state is TrialState.RUNNING
        (pending,) = reg.recover("run-20260101-000000-abcd")  # the new columns work on old rows
        assert pending.attempt == 2
        reg.record_llm_call("run-20260101-000000-abcd", "propose", {"model": "m"})  # the new table
    with raw(db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == SCHEMA_VERSION


def test_a_file_from_a_newer_release_is_refused(db):
    SQLiteRegistry(db).close()
    with raw(db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, '2030-01-01')", (SCHEMA_VERSION + 1,))
    with pytest.raises(RegistryError, match=f"schema version {SCHEMA_VERSION + 1}, created by a newer "
                                            "research-agent; upgrade research-agent"):
        SQLiteRegistry(db)


def test_a_failing_migration_step_is_rolled_back_whole(db):
    SQLiteRegistry(db).close()
    broken = (*MIGRATIONS, Migration(SCHEMA_VERSION + 1, ("CREATE TABLE extra (x INTEGER)", "NOT SQL")))
    with raw(db) as conn, pytest.raises(sqlite3.OperationalError):
        migrate(conn, str(db), target=SCHEMA_VERSION + 1, steps=broken)
    with raw(db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0


def test_threads_creating_the_same_file_at_once(tmp_path):
    """Switching a new file to WAL answers SQLITE_BUSY without waiting; opening must ride it out.
    Many fresh files, 8 threads released together on each: the race showed in ~1 of 13 before."""
    for rep in range(20):
        db = tmp_path / f"home-{rep}" / "registry.sqlite"
        opened, errors = [], []
        gate = threading.Barrier(8)

        def open_it(path=db, opened=opened, errors=errors, gate=gate):
            gate.wait()
            try:
                opened.append(SQLiteRegistry(path))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for reg in opened:
            reg.close()
        assert errors == [] and len(opened) == 8
        with raw(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)


def test_a_garbage_file_is_a_one_line_registry_error(db):
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(RegistryError) as err:
        SQLiteRegistry(db)
    message = str(err.value)
    assert "\n" not in message and str(db) in message
    assert "not a database" in message and "move the file aside or choose another --home" in message
    assert isinstance(err.value.__cause__, sqlite3.DatabaseError)


def test_a_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(RegistryError, match="cannot create .*; choose a writable --home"):
        SQLiteRegistry(tmp_path / "file" / "home" / REGISTRY_FILE)


def test_a_writer_that_waits_too_long_gets_a_busy_error(db, monkeypatch):
    monkeypatch.setattr(_connect, "BUSY_TIMEOUT_MS", 50)
    with SQLiteRegistry(db) as reg, raw(db) as other:
        run = reg.create_run("g", {})
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(RegistryError) as err:
                reg.start_trial(run.id, SPEC)
            assert "start_trial failed (database is locked)" in str(err.value)
            assert "another process holds the registry's write lock; retry" in str(err.value)
            assert [t.number for t in reg.list_trials(run.id)] == []  # readers are not blocked
        finally:
            other.execute("ROLLBACK")
        assert reg.start_trial(run.id, SPEC).number == 1


def test_an_exception_just_before_commit_rolls_everything_back(sqlite_reg, monkeypatch):
    run = sqlite_reg.create_run("g", {})
    trial = sqlite_reg.start_trial(run.id, SPEC)

    def interrupt(action):
        raise KeyboardInterrupt

    monkeypatch.setattr(sqlite_reg, "_before_commit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        sqlite_reg.finish_trial(trial.id, make_report())
    monkeypatch.undo()
    assert sqlite_reg.get_trial(trial.id).state is TrialState.RUNNING and sqlite_reg.get_trial(trial.id).seeds == ()


@pytest.mark.parametrize("statement, reason", [
    ("UPDATE trials SET state = 'pending' WHERE number = 1", "a finished trial is final"),
    ("DELETE FROM seed_results", "seed results of a finished trial are final"),
    ("INSERT INTO seed_results (trial_id, seed, status, metrics, curves) SELECT id, 9, 'ok', '{}', '{}'"
     " FROM trials WHERE number = 2", "seed results belong to a finished trial"),
    ("UPDATE trials SET number = 1 WHERE number = 2", "UNIQUE"),
    ("UPDATE trials SET spec = 'not json' WHERE number = 2", "CHECK"),
    ("UPDATE trials SET state = 'finished' WHERE number = 2", "CHECK"),  # finished needs a status
])
def test_the_schema_itself_guards_the_invariants(sqlite_reg, db, statement, reason):
    run = sqlite_reg.create_run("g", {})
    run_trial(sqlite_reg, run.id)
    sqlite_reg.start_trial(run.id, SPEC)
    with raw(db) as conn, pytest.raises(sqlite3.IntegrityError, match=reason):
        conn.execute(statement)


def test_a_read_is_one_snapshot_even_when_a_commit_lands_inside_it(db):
    # Deterministic version of the race the process tests hunt for: a read made of several
    # statements (trials, then their seeds) must not see a finish_trial committed in between.
    with SQLiteRegistry(db) as reader, SQLiteRegistry(db) as writer:
        run = writer.create_run("g", {})
        trial = writer.start_trial(run.id, SPEC)
        conn, landed = reader._pool.get(), []

        def commit_between_statements(sql: str) -> None:
            if "FROM seed_results" in sql and not landed:
                t = threading.Thread(target=lambda: landed.append(writer.finish_trial(trial.id, make_report())))
                t.start()
                t.join()

        conn.set_trace_callback(commit_between_statements)
        try:
            snap = reader.snapshot(run.id)
        finally:
            conn.set_trace_callback(None)
        assert landed and landed[0].state is TrialState.FINISHED  # the commit did land mid-read
        assert snap.trials[0].state is TrialState.RUNNING and snap.trials[0].seeds == ()
        assert len(reader.snapshot(run.id).trials[0].seeds) == 3
