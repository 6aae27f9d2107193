"""Racing writers on one document, from several processes (SQLite and PostgreSQL).

Each process opens the store itself and makes compare-and-set increments of one counter
through `documents.update`, each write emitting one event that carries the count it wrote.
No lost update: the final count and version are the number of writes. Events in the order
of the writes: their numbers are consecutive and the counts they carry go 1, 2, 3... in
number order, so a number was taken in commit order, none twice, none skipped.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

from logfiles.documents import AGENT, Document, Kind, Written
from logfiles.events import Event
from logfiles.store import FullStore, open_store
from logfiles.store import documents as rules
from tests.store.helpers import PROJECT, T0, make_agent

# Slow: other processes on one database (`-m "not slow"` leaves it out).
pytestmark = pytest.mark.slow

COUNTER = Kind("counter", parent=AGENT, indexed=("agent_id",))
PROCESSES = 3
WRITES = 40  # per process
DEADLINE = 60.0  # seconds; the processes take a few when nothing is wrong


def _bump(current: Document) -> Document:
    return dataclasses.replace(current, body={"count": current.body["count"] + 1})


def _counted(before: Document, after: Document) -> list[Event]:
    return [Event(PROJECT, "agent-1", T0, "counted", {"count": after.body["count"]})]


def _race(url: str, barrier: Any, results: Any) -> None:
    """In a spawned process: open the store, wait for the others, then make WRITES increments.

    Reports how many compare-and-sets it lost (re-applied), so the test can tell the writers met.
    """
    try:
        store = open_store(url)
        lost = 0
        real_put = store.documents.put

        def counting_put(*args: Any, **kwargs: Any) -> Written:
            nonlocal lost
            written = real_put(*args, **kwargs)
            lost += not written.ok
            return written

        store.documents.put = counting_put  # type: ignore[method-assign]
        barrier.wait(timeout=DEADLINE)
        for _ in range(WRITES):
            rules.update(store.documents, COUNTER, PROJECT, "n", _bump, _counted)
        results.put(lost)
        store.close()
    except BaseException as exc:
        results.put(repr(exc))


def _run_race(url: str) -> FullStore:
    store = open_store(url)
    store.add_agent(make_agent())
    store.documents.create(
        COUNTER, Document("counter", PROJECT, "n", {"count": 0}, "agent-1", {"agent_id": "agent-1"})
    )
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [context.Process(target=_race, args=(url, barrier, results)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=DEADLINE) for _ in processes]
    for process in processes:
        process.join(timeout=DEADLINE)
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    total = PROCESSES * WRITES
    final = store.documents.get(COUNTER, PROJECT, "n")
    assert final.body == {"count": total}
    assert final.version == 1 + total, f"compare-and-sets lost per process: {outcomes}"
    events = store.export_state().events
    assert [e.details["count"] for e in events] == list(range(1, total + 1))
    assert [e.id for e in events] == list(range(events[0].id, events[0].id + total))
    return store


def test_documents_racing_writers_on_sqlite_lose_nothing(tmp_path: Path) -> None:
    _run_race(f"sqlite:///{tmp_path / 'race.db'}").close()


def test_documents_racing_writers_on_postgres_lose_nothing(pg_url: str) -> None:
    _run_race(pg_url).close()


def test_documents_racing_threads_on_memory_lose_nothing() -> None:
    """The memory store serves one process: its writers are threads."""
    store = open_store("memory")
    store.add_agent(make_agent())
    store.documents.create(
        COUNTER, Document("counter", PROJECT, "n", {"count": 0}, "agent-1", {"agent_id": "agent-1"})
    )
    barrier = threading.Barrier(PROCESSES)

    def run() -> None:
        barrier.wait(timeout=DEADLINE)
        for _ in range(WRITES):
            rules.update(store.documents, COUNTER, PROJECT, "n", _bump, _counted)

    threads = [threading.Thread(target=run) for _ in range(PROCESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE)
    total = PROCESSES * WRITES
    final = store.documents.get(COUNTER, PROJECT, "n")
    assert (final.body, final.version) == ({"count": total}, 1 + total)
    events = store.export_state().events
    assert [e.details["count"] for e in events] == list(range(1, total + 1))
    assert [e.id for e in events] == list(range(events[0].id, events[0].id + total))
