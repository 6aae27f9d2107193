"""A wait on one store object is answered by an entry another one records in the same database:
two objects stand in for two workers (or two instances), and only the watcher's poll can tell."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logfiles.journal import JournalEntry, JournalFilter
from logfiles.store import FullStore
from logfiles.store.sqlite import SqliteStore
from logfiles.waiting import JournalWatch

DEADLINE = 10.0


@pytest.fixture(params=["sqlite", "postgres"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FullStore, FullStore]]:
    stores: list[FullStore]
    if request.param == "sqlite":
        stores = [SqliteStore.open(tmp_path / "shared.db") for _ in range(2)]
    else:
        from logfiles.store.postgres import PostgresStore

        url = request.getfixturevalue("pg_url")
        stores = [PostgresStore.open(url) for _ in range(2)]
    yield stores[0], stores[1]
    for store in stores:
        store.close()


def entry(method: str, path: str = "/v2/p/agents") -> JournalEntry:
    return JournalEntry(datetime.now(UTC), method, path, "", {}, "", 204)


def test_a_wait_is_answered_by_what_another_worker_journals(two_stores: tuple[FullStore, FullStore]) -> None:
    mine, other = two_stores
    other.record_request(entry("PATCH", "/v2/p/before"), 100)
    watch = JournalWatch(mine)
    after = mine.last_request_seq()
    found: list[JournalEntry | None] = []
    waiter = threading.Thread(
        target=lambda: found.append(watch.wait(JournalFilter("PATCH", after=after), 10))
    )
    waiter.start()
    deadline = time.monotonic() + DEADLINE
    while watch.waiting() == 0:  # waiting, so that only the poll can find what comes next
        assert time.monotonic() < deadline and waiter.is_alive()
        time.sleep(0.001)
    other.record_request(entry("GET"), 100)
    other.record_request(entry("PATCH", "/v2/p/after"), 100)  # no poke reaches `mine`
    waiter.join(DEADLINE)
    (result,) = found
    assert result is not None and (result.method, result.path) == ("PATCH", "/v2/p/after")
