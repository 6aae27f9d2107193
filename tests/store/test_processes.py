"""Other processes on one database, for both stores that have one (SQLite, PostgreSQL).

gunicorn's workers are processes, each with its own store on the same file or schema: a state
change, a fault rule's `times` and the first start's migration must hold across them. One set of
tests, parametrised by store: each process opens the store from its URL with `open_store`.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from logfiles.faults import FaultAction, FaultRule
from logfiles.store import open_store
from tests.pgcluster import PgCluster
from tests.store.helpers import (
    PROJECT,
    Attempt,
    assert_consistent,
    make_agent,
    race,
    with_logfiles,
)

# Slow: spawned processes (`-m "not slow"` leaves it out).
pytestmark = pytest.mark.slow

# Seconds and rounds per store: the processes take well under one second when nothing is wrong;
# few log files and many rounds, so the two processes keep meeting on one row.
DEADLINE = {"sqlite": 20.0, "postgres": 30.0}
ROUNDS = {"sqlite": 100, "postgres": 60}


class Shared:
    """A database several processes open: its URL, which store, and its schema version as stored."""

    def __init__(self, kind: str, url: str, version: Callable[[], int]) -> None:
        self.kind = kind
        self.url = url
        self.version = version
        self.deadline = DEADLINE[kind]
        self.rounds = ROUNDS[kind]


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Shared:
    """A store's empty database (a file that does not exist yet; a schema with no tables)."""
    if request.param == "sqlite":
        path = tmp_path / "shared.db"

        def sqlite_version() -> int:
            with sqlite3.connect(path) as conn:
                return int(conn.execute("PRAGMA user_version").fetchone()[0])

        return Shared("sqlite", f"sqlite:///{path}", sqlite_version)
    url = str(request.getfixturevalue("pg_url"))
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    schema = url.rsplit("%3D", 1)[1]

    def postgres_version() -> int:
        return int(cluster.execute(f"SELECT version FROM {schema}.logfiles_schema")[0][0])

    return Shared("postgres", url, postgres_version)


def schema_version(kind: str) -> int:
    if kind == "sqlite":
        from logfiles.store.sqlite import SCHEMA_VERSION as SQLITE_VERSION

        return SQLITE_VERSION
    from logfiles.store.postgres import SCHEMA_VERSION as POSTGRES_VERSION

    return POSTGRES_VERSION


def _open_and_race(
    url: str, logfile_ids: list[str], worker: int, rounds: int, deadline: float, barrier: Any, results: Any
) -> None:
    """In a spawned process: open the store itself, wait for the others, then race them."""
    try:
        store = open_store(url)
        logfiles = [store.get_logfile(PROJECT, "agent-1", logfile_id) for logfile_id in logfile_ids]
        barrier.wait(timeout=deadline)
        results.put(race(store, logfiles, worker, rounds))
        store.close()
    except BaseException as exc:
        results.put(repr(exc))


def test_update_logfile_from_two_processes_loses_nothing(shared: Shared) -> None:
    store = open_store(shared.url)
    logfiles = with_logfiles(store, 3)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    ids = [logfile.id for logfile in logfiles]
    processes = [
        context.Process(
            target=_open_and_race,
            args=(shared.url, ids, worker, shared.rounds, shared.deadline, barrier, results),
        )
        for worker in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=shared.deadline) for _ in processes]
    for process in processes:
        process.join(timeout=shared.deadline)
    assert [process.exitcode for process in processes] == [0, 0]
    assert all(isinstance(outcome, list) for outcome in outcomes), outcomes
    attempts: list[Attempt] = [a for outcome in outcomes for a in outcome]
    assert len(attempts) == 2 * shared.rounds * len(logfiles)
    assert_consistent(store, logfiles, attempts)
    store.close()


def _open_and_trigger(url: str, rounds: int, deadline: float, barrier: Any, results: Any) -> None:
    try:
        store = open_store(url)
        barrier.wait(timeout=deadline)
        fired = [store.trigger_fault("GET", "/v2/1/agents", {}) for _ in range(rounds)]
        results.put(sum(rule is not None for rule in fired))
        store.close()
    except BaseException as exc:
        results.put(repr(exc))


def test_trigger_fault_from_two_processes_fires_exactly_times(shared: Shared) -> None:
    """A rule for `times` requests fires that often in all, however many workers see requests."""
    store = open_store(shared.url)
    store.add_fault(FaultRule(id="f1", action=FaultAction.STATUS, times=7))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(
            target=_open_and_trigger, args=(shared.url, shared.rounds, shared.deadline, barrier, results)
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=shared.deadline) for _ in processes]
    for process in processes:
        process.join(timeout=shared.deadline)
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert sum(outcomes) == 7
    assert [(rule.matched, rule.fired) for rule in store.list_faults()] == [(2 * shared.rounds, 7)]
    store.close()


def _open_fresh(url: str, deadline: float, barrier: Any, results: Any) -> None:
    try:
        barrier.wait(timeout=deadline)
        store = open_store(url)
        store.add_agent(make_agent(f"agent-{os.getpid()}"))
        store.close()
        results.put("ok")
    except BaseException as exc:
        results.put(repr(exc))


def test_open_fresh_database_from_several_processes_at_once(shared: Shared) -> None:
    """Instances that start together on an empty database (gunicorn workers without --preload):
    one creates the schema while the others wait, then find it current."""
    count = 4
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(target=_open_fresh, args=(shared.url, shared.deadline, barrier, results))
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=shared.deadline) for _ in processes]
    for process in processes:
        process.join(timeout=shared.deadline)
    assert outcomes == ["ok"] * count
    store = open_store(shared.url)
    assert len(store.list_agents(PROJECT, limit=100).items) == count
    store.close()
    assert shared.version() == schema_version(shared.kind)
