"""What only the SQLite store has: its file, schema version, start-up errors, a fork.

Other processes on one file: tests/store/test_processes.py, with PostgreSQL's.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from logfiles.errors import ConfigError
from logfiles.model import LogFile, LogFileState, change_state
from logfiles.store import open_store
from logfiles.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore, schema
from tests.store.helpers import (
    PROJECT,
    assert_consistent,
    make_agent,
    make_logfile,
    race,
    with_logfiles,
)

DEADLINE = 20.0  # seconds; the processes take well under one when nothing is wrong
ROUNDS = 100  # per process; few log files and many rounds, so the two keep meeting on one row


def query(path: Path, sql: str) -> list[Any]:
    """Run one statement on a plain connection, looking at the file the way another tool would."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def open_error(path: Path | str) -> ConfigError:
    with pytest.raises(ConfigError) as excinfo:
        SqliteStore.open(path)
    assert excinfo.value.variable == "LOGFILES_STORE"
    return excinfo.value


# The file


def test_open_fresh_file_creates_the_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SqliteStore.open(path).close()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(path, "PRAGMA journal_mode") == [("wal",)]
    names = {row[0] for row in query(path, "SELECT name FROM sqlite_master")}
    assert {"agents", "logfiles", "logfiles_agent_seq"} <= names


def test_open_keeps_no_connection_for_a_fork_to_inherit(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    assert store._db.local.connection is None


def test_connection_has_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    db = store._db.connection()
    assert db.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    assert db.isolation_level is None
    store.close()


def test_schema_version_is_the_number_of_migrations() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 1


def test_open_older_schema_runs_the_missing_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.db"
    store = SqliteStore.open(path)
    with_logfiles(store, 1)
    store.close()
    upgrade = ("ALTER TABLE agents ADD COLUMN nickname TEXT", "UPDATE agents SET nickname = 'new'")
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, upgrade))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = SqliteStore.open(path)
    assert store.get_agent(PROJECT, "agent-1") == make_agent()
    store.close()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert query(path, "SELECT nickname FROM agents") == [("new",)]


def _schema_2_file(path: Path) -> None:
    """A file as version 2 of the service left it, written with that version's SQL."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for migration in MIGRATIONS[:2]:
        for statement in migration:
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    for agent_id in ("agent-1", "agent-2"):
        db.execute(
            "INSERT INTO agents (id, project_id, registered_time, registration, enabled, log_level)"
            " VALUES (?, ?, '2014-09-23T12:22:40.606703+00:00', '{}', 1, 'warn')",
            (agent_id, PROJECT),
        )
        db.execute(
            "INSERT INTO logfiles (id, agent_id, project_id, date, state)"
            " VALUES ('shared', ?, ?, '2014-09-23T12:22:40.606703+00:00', 'requested')",
            (agent_id, PROJECT),
        )
    db.execute(
        "INSERT INTO logfiles (id, agent_id, project_id, date, state)"
        " VALUES ('last', 'agent-2', ?, '2014-09-23T12:22:40.606703+00:00', 'requested')",
        (PROJECT,),
    )
    db.execute("DELETE FROM logfiles WHERE id = 'last'")  # its seq, 3, must not come back
    db.close()


def test_open_schema_2_file_migrates_keeping_rows_order_and_sequence(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    _schema_2_file(path)
    store = SqliteStore.open(path)
    snapshot = store.export_state()
    assert [a.id for a in snapshot.agents] == ["agent-1", "agent-2"]
    assert [(lf.id, lf.agent_id) for lf in snapshot.logfiles] == [
        ("shared", "agent-1"),
        ("shared", "agent-2"),
    ]
    assert all(a.password_sha256 == "" and a.roles is None and a.last_heard is None for a in snapshot.agents)
    store.add_logfile(make_logfile("new", "agent-1"))
    store.delete_agent(PROJECT, "agent-2")  # the foreign key still cascades
    store.close()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(path, "SELECT seq, id, agent_id FROM logfiles ORDER BY seq") == [
        (1, "shared", "agent-1"),
        (4, "new", "agent-1"),
    ]
    assert query(path, "PRAGMA foreign_key_check") == []


def test_open_schema_6_file_keeps_journal_entries_without_their_answers(tmp_path: Path) -> None:
    """Migration 7: entries of before have no answer size or body (None), new ones do."""
    path = tmp_path / "x.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for migration in MIGRATIONS[:6]:
        for statement in migration:
            db.execute(statement)
    db.execute("PRAGMA user_version = 6")
    db.execute(
        "INSERT INTO journal (time, method, path, query, headers, body, status, latency_ms)"
        " VALUES ('2014-09-23T12:22:40.606703+00:00', 'GET', '/v2/p/agents', '', '{}', '', 200, 1.5)"
    )
    db.close()
    store = SqliteStore.open(path)
    (old,) = store.list_requests()
    assert (old.seq, old.status, old.latency_ms) == (1, 200, 1.5)
    assert (old.response_bytes, old.response_body) == (None, None)
    store.record_request(replace(old, response_bytes=2, response_body="{}"), 10)
    (new,) = store.list_requests(after=1)
    assert (new.seq, new.response_bytes, new.response_body) == (2, 2, "{}")
    store.close()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_release_closes_this_threads_connection(tmp_path: Path) -> None:
    """What a wait does before it sleeps: no connection (and no open file) held meanwhile."""
    store = SqliteStore.open(tmp_path / "x.db")
    store.list_requests()
    assert store._db.local.connection is not None
    store.release()
    assert store._db.local.connection is None
    assert store.list_requests() == []
    store.close()


def test_import_looks_logfile_ids_up_by_index_not_by_scan(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    SqliteStore.open(path).close()
    plan = query(path, "EXPLAIN QUERY PLAN SELECT id FROM logfiles WHERE id IN ('a', 'b')")
    assert any("USING COVERING INDEX sqlite_autoindex_logfiles_1" in row[-1] for row in plan), plan


def test_open_again_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    first = SqliteStore.open(path)
    logfiles = with_logfiles(first, 3)
    first.close()
    second = SqliteStore.open(path)
    assert second.get_agent(PROJECT, "agent-1") == make_agent()
    assert second.list_logfiles(PROJECT, "agent-1", 10).items == logfiles
    second.close()


def test_open_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = SqliteStore.open("relative.db")
    assert store.path == str(tmp_path / "relative.db")


def test_open_store_sqlite_url_opens_a_sqlite_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(store, SqliteStore)
    store.close()


def test_times_are_stored_as_utc_text_with_microseconds(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = SqliteStore.open(path)
    with_logfiles(store, 1)
    store.close()
    assert query(path, "SELECT date FROM logfiles") == [("2014-09-23T12:22:40.606703+00:00",)]


def test_delete_agent_cascades_to_its_logfile_rows(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = SqliteStore.open(path)
    with_logfiles(store, 3)
    store.delete_agent(PROJECT, "agent-1")
    store.close()
    assert query(path, "SELECT count(*) FROM logfiles") == [(0,)]


# Start-up errors: ConfigError naming LOGFILES_STORE, never a raw sqlite3 exception


def test_open_newer_schema_version_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    SqliteStore.open(path).close()
    query(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    assert "newer" in open_error(path).reason


def test_open_not_a_database_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the pages you are looking for\n" * 100)
    assert "not an SQLite database" in open_error(path).reason


def test_open_database_of_something_else_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    query(path, "CREATE TABLE agents (name TEXT)")
    assert "something else" in open_error(path).reason


def test_open_in_missing_directory_is_config_error(tmp_path: Path) -> None:
    assert "does not exist" in open_error(tmp_path / "missing" / "x.db").reason


def test_open_a_directory_is_config_error(tmp_path: Path) -> None:
    assert "is a directory" in open_error(tmp_path).reason


def test_open_in_unwritable_directory_is_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check must hold for root too, who may write anywhere, so access is refused by hand.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: path != str(tmp_path) and real_access(path, mode))
    assert "not writable" in open_error(tmp_path / "x.db").reason


def test_open_store_bad_sqlite_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        open_store(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert excinfo.value.variable == "LOGFILES_STORE"


# Threads and processes


def test_close_closes_only_this_threads_connection(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    logfiles = with_logfiles(store, 1)
    seen: list[LogFile] = []
    closed = threading.Event()
    done = threading.Event()

    def other() -> None:
        seen.append(store.get_logfile(PROJECT, "agent-1", logfiles[0].id))
        closed.wait(timeout=5)
        seen.append(store.get_logfile(PROJECT, "agent-1", logfiles[0].id))
        done.set()
        store.close()

    thread = threading.Thread(target=other)
    thread.start()
    store.close()
    closed.set()
    thread.join(timeout=5)
    assert done.is_set() and seen == logfiles * 2


def _use_inherited_store(store: SqliteStore, results: Any) -> None:
    """In a forked child: the store was used in the parent, so its connection must be replaced."""
    try:
        inherited_pid = store._db.local.pid
        attempts = race(store, [store.get_logfile(PROJECT, "agent-1", "agent-1-lf-0")], 0, rounds=1)
        results.put(("ok", inherited_pid, store._db.local.pid, attempts))
    except BaseException as exc:
        results.put(("error", repr(exc)))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
# gunicorn forks a process that may have threads; Python 3.12+ warns about exactly that.
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_store_used_before_fork_works_in_the_child(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    logfiles = with_logfiles(store, 1)
    parent_connection = store._db.connection()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_use_inherited_store, args=(store, results))
    child.start()
    outcome = results.get(timeout=DEADLINE)
    child.join(timeout=DEADLINE)
    assert outcome[0] == "ok", outcome
    assert outcome[1] == os.getpid() != outcome[2]
    assert child.exitcode == 0
    # The parent's connection is untouched and sees the child's write.
    assert store._db.connection() is parent_connection
    assert_consistent(store, logfiles, outcome[3])
    store.close()


def test_lone_statement_reads_never_see_a_transaction_left_open(tmp_path: Path) -> None:
    """A transaction left open on this thread's connection (a COMMIT and ROLLBACK that both
    failed) must not freeze what the single-statement reads see."""
    store = SqliteStore.open(tmp_path / "s.db")
    other = SqliteStore.open(tmp_path / "s.db")
    store.add_agent(make_agent())
    (logfile,) = with_logfiles(store, 1)
    store._db.connection().execute("BEGIN")
    store._db.connection().execute("SELECT count(*) FROM logfiles").fetchone()  # takes a snapshot
    done = threading.Thread(
        target=lambda: other.update_logfile(
            PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [LogFileState.COMPLETED])
        )
    )
    done.start()
    done.join(10)
    assert store.get_logfile(PROJECT, "agent-1", logfile.id).state == "completed"
    assert store.trigger_fault("GET", "/v2/x", {}) is None
