"""A sick SQLite database: locked, full, read-only or gone is Unavailable, and the store recovers."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logfiles.errors import Unavailable
from logfiles.faults import FaultAction, FaultRule
from logfiles.journal import JournalEntry
from logfiles.store import MemoryStore
from logfiles.store.sqlite import SqliteStore
from tests.store.helpers import PROJECT, make_agent, with_logfiles

BUSY = 0.2  # seconds; the store's busy timeout in these tests, instead of the served 10


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore.open(tmp_path / "sick.db")
    store._db.busy_timeout = BUSY
    yield store
    store.close()


@pytest.fixture
def locker(store: SqliteStore) -> Iterator[sqlite3.Connection]:
    """Another connection (another process, as far as SQLite knows) holding the write lock."""
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def test_write_while_another_process_holds_the_lock_is_unavailable(
    store: SqliteStore, locker: sqlite3.Connection
) -> None:
    with pytest.raises(Unavailable) as info:
        store.add_agent(make_agent("agent-1"))
    assert info.value.retry_after >= 1
    locker.execute("ROLLBACK")
    # The process's writer lock was released with the failure: the next write goes through.
    store.add_agent(make_agent("agent-1"))
    assert store.get_agent(PROJECT, "agent-1").id == "agent-1"


def test_journal_write_while_locked_is_unavailable(store: SqliteStore, locker: sqlite3.Connection) -> None:
    entry = JournalEntry(
        time=datetime(2024, 1, 1, tzinfo=UTC),
        method="GET",
        path="/v2",
        query="",
        headers={},
        body="",
        status=200,
        fault=None,
    )
    with pytest.raises(Unavailable):
        store.record_request(entry, 10)


def test_write_while_a_long_import_in_this_process_holds_the_lock_is_unavailable(
    store: SqliteStore,
) -> None:
    holding = threading.Event()
    release = threading.Event()

    def long_import() -> None:
        with store._db.write():
            holding.set()
            release.wait(timeout=10)
        store.close()

    thread = threading.Thread(target=long_import)
    thread.start()
    try:
        assert holding.wait(timeout=5)
        with pytest.raises(Unavailable):
            store.add_agent(make_agent("agent-2"))
    finally:
        release.set()
        thread.join(timeout=10)
    store.add_agent(make_agent("agent-2"))


def test_full_database_is_unavailable_then_a_new_connection_recovers(store: SqliteStore) -> None:
    with_logfiles(store, 1)
    db = store._db.connection()
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    # This connection may not grow the file: SQLite answers "database or disk is full".
    db.execute(f"PRAGMA max_page_count = {pages}")
    big = make_agent("agent-big", registration={"name": "x" * 50_000, "host": {"addresses": []}})
    with pytest.raises(Unavailable) as info:
        store.add_agent(big)
    assert "full" in info.value.errors[0]
    # The failed connection was dropped; the next one has room again.
    assert store._db.local.connection is None
    store.add_agent(big)


def test_read_only_connection_is_dropped_so_the_next_write_recovers(store: SqliteStore) -> None:
    # A connection opened while the file was read-only stays read-only after it is writable
    # again; query_only gives the same "attempt to write a readonly database", even to root.
    store._db.connection().execute("PRAGMA query_only = ON")
    with pytest.raises(Unavailable) as info:
        store.add_agent(make_agent("agent-1"))
    assert "readonly" in info.value.errors[0]
    store.add_agent(make_agent("agent-1"))


def test_database_file_removed_is_unavailable_and_unhealthy(store: SqliteStore) -> None:
    with_logfiles(store, 1)
    store.health()
    os.remove(store.path)
    with pytest.raises(Unavailable):
        store.add_agent(make_agent("agent-2"))
    with pytest.raises(Unavailable):
        store.health()
    assert not os.path.exists(store.path)  # nothing recreated an empty file behind the schema


def test_database_file_replaced_is_unavailable_and_unhealthy(store: SqliteStore, tmp_path: Path) -> None:
    other = SqliteStore.open(tmp_path / "other.db")
    other.close()
    os.replace(tmp_path / "other.db", store.path)
    with pytest.raises(Unavailable):
        store.add_agent(make_agent("agent-2"))
    with pytest.raises(Unavailable):
        store.health()


def test_database_file_back_in_place_is_healthy_again(store: SqliteStore, tmp_path: Path) -> None:
    os.rename(store.path, tmp_path / "aside.db")
    with pytest.raises(Unavailable):
        store.health()
    os.rename(tmp_path / "aside.db", store.path)
    store.health()
    store.add_agent(make_agent("agent-1"))


def test_memory_store_is_always_healthy() -> None:
    MemoryStore().health()


def test_trigger_fault_matching_nothing_does_not_write(store: SqliteStore) -> None:
    for n in range(2000):
        store.add_fault(FaultRule(id=f"rule-{n}", action=FaultAction.STATUS, path=f"/v2/nothing-{n}/*"))
    statements: list[str] = []
    store._db.connection().set_trace_callback(statements.append)
    assert store.trigger_fault("PATCH", "/v2/p/agents/a/logfiles/l", {}) is None
    assert not [s for s in statements if s.startswith(("BEGIN IMMEDIATE", "UPDATE", "INSERT"))]


def test_trigger_fault_still_counts_a_matching_rule_under_the_lock(store: SqliteStore) -> None:
    store.add_fault(FaultRule(id="miss", action=FaultAction.STATUS, path="/v2/nothing/*"))
    store.add_fault(FaultRule(id="hit", action=FaultAction.STATUS, path="/v2/*", times=1))
    fired = store.trigger_fault("GET", "/v2/p/agents", {})
    assert fired is not None and fired.id == "hit"
    assert store.trigger_fault("GET", "/v2/p/agents", {}) is None
    counts = {rule.id: (rule.matched, rule.fired) for rule in store.list_faults()}
    assert counts == {"miss": (0, 0), "hit": (2, 1)}
