"""Event numbers stay within the feeds' 18-digit markers (issue 20, point 5)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logfiles.errors import Unavailable
from logfiles.events import MAX_EVENT_ID, MAX_SEEDED_EVENT_ID, Event, mended_counter
from logfiles.store import MemoryStore
from logfiles.store.sqlite import SqliteStore
from tests.store.helpers import PROJECT, make_agent

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
LEGACY = 999_999_999_999_999_999  # what a seed before the bound could leave


def event(number: int = 0) -> Event:
    return Event(PROJECT, None, WHEN, "x", {}, number)


def numbers(store: SqliteStore | MemoryStore) -> list[int]:
    return [e.id for e in store.export_state().events]


@pytest.mark.parametrize(
    ("counter", "held", "mended"),
    [
        (LEGACY, None, MAX_SEEDED_EVENT_ID),
        (LEGACY, 7, MAX_SEEDED_EVENT_ID),
        (LEGACY, LEGACY, None),  # an event past the bound is still held: its number stays its own
        (MAX_SEEDED_EVENT_ID + 5, None, None),  # a counter the service reached itself
    ],
)
def test_mended_counter(counter: int, held: int | None, mended: int | None) -> None:
    assert mended_counter(counter, held) == mended


def legacy_sqlite(path: Path) -> SqliteStore:
    """A store whose counter an old, unbounded seed left at 18 nines, its events gone since."""
    store = SqliteStore.open(path)
    store.add_events([event(LEGACY)])
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DELETE FROM events")
    db.close()
    return store


def test_sqlite_open_mends_a_counter_left_by_an_unbounded_seed(tmp_path: Path) -> None:
    legacy_sqlite(tmp_path / "l.db").close()
    store = SqliteStore.open(tmp_path / "l.db")
    store.add_events([event()])
    assert numbers(store) == [MAX_SEEDED_EVENT_ID + 1]
    store.close()


def test_sqlite_reset_mends_a_counter_left_by_an_unbounded_seed(tmp_path: Path) -> None:
    store = legacy_sqlite(tmp_path / "l.db")
    store.reset()
    store.add_events([event()])
    assert numbers(store) == [MAX_SEEDED_EVENT_ID + 1]
    store.close()


def test_sqlite_keeps_a_counter_while_its_event_is_held(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "l.db")
    store.add_events([event(LEGACY - 1)])
    store.close()
    store = SqliteStore.open(tmp_path / "l.db")
    assert numbers(store) == [LEGACY - 1]
    store.close()


def test_memory_refuses_numbers_past_18_digits_and_changes_nothing() -> None:
    store = MemoryStore()
    store.import_state([make_agent()], [], replace=False, events=[event(MAX_EVENT_ID)])
    with pytest.raises(Unavailable):
        store.add_events([event()])
    with pytest.raises(Unavailable):
        store.add_agent(make_agent("agent-2"), [event()])
    with pytest.raises(Unavailable):
        store.import_state([make_agent("agent-3")], [], replace=True, events=[event()])
    assert numbers(store) == [MAX_EVENT_ID]
    assert [a.id for a in store.export_state().agents] == ["agent-1"]


def test_postgres_reset_and_open_mend_a_counter_left_by_an_unbounded_seed(pg_url: str) -> None:
    from logfiles.store.postgres import PostgresStore

    def legacy(db: Any) -> None:
        db.execute("UPDATE counters SET value = %s WHERE name = 'events'", (LEGACY,))

    store = PostgresStore.open(pg_url)
    store._db.write(legacy)
    store.reset()
    store.add_events([event()])
    assert [e.id for e in store.export_state().events] == [MAX_SEEDED_EVENT_ID + 1]
    store._db.write(legacy)
    store.close()
    store = PostgresStore.open(pg_url)
    store.add_events([event()])
    assert [e.id for e in store.export_state().events][-1] == MAX_SEEDED_EVENT_ID + 2
    store.close()
