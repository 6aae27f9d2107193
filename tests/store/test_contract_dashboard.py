"""The dashboard's store reads (every project's agents, counts per state) and the journal's
latency, on every store through the parametrised `store` fixture."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from logfiles.errors import Invalid, NotFound
from logfiles.model import LogFileState, change_state
from logfiles.store import FullStore
from logfiles.store.base import agent_not_found, any_agent_marker_not_found
from logfiles.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from tests.store.helpers import COMPLETED, OTHER_PROJECT, PROJECT, STARTED, make_agent, make_logfile
from tests.store.test_contract import assert_error, entry

REQUESTED = LogFileState.REQUESTED


def test_list_all_agents_pages_every_project_in_registration_order(store: FullStore) -> None:
    for n, project in enumerate([PROJECT, OTHER_PROJECT, PROJECT, OTHER_PROJECT, PROJECT]):
        store.add_agent(make_agent(f"agent-{n}", project))
    first = store.list_all_agents(2)
    assert [a.id for a in first.items] == ["agent-0", "agent-1"] and first.more
    second = store.list_all_agents(2, marker="agent-1")
    assert [(a.id, a.project_id) for a in second.items] == [("agent-2", PROJECT), ("agent-3", OTHER_PROJECT)]
    last = store.list_all_agents(2, marker="agent-3")
    assert [a.id for a in last.items] == ["agent-4"] and not last.more
    assert store.list_all_agents(10, marker="agent-4").items == []


def test_list_all_agents_refuses_an_unknown_marker(store: FullStore) -> None:
    store.add_agent(make_agent())
    with pytest.raises(Invalid) as excinfo:
        store.list_all_agents(10, marker="gone")
    assert_error(excinfo, any_agent_marker_not_found("gone"))


def test_list_all_agents_of_an_empty_store_is_empty(store: FullStore) -> None:
    page = store.list_all_agents(10)
    assert page.items == [] and not page.more


def _seed_states(store: FullStore) -> None:
    """agent-1 (PROJECT): 3 requested, 2 started, 1 completed; agent-2 (PROJECT): 1 completed;
    agent-3 (OTHER_PROJECT): 2 started."""
    store.add_agent(make_agent("agent-1"))
    store.add_agent(make_agent("agent-2"))
    store.add_agent(make_agent("agent-3", OTHER_PROJECT))
    layout = [
        ("agent-1", PROJECT, [REQUESTED] * 3 + [STARTED] * 2 + [COMPLETED]),
        ("agent-2", PROJECT, [COMPLETED]),
        ("agent-3", OTHER_PROJECT, [STARTED] * 2),
    ]
    for agent_id, project, states in layout:
        for n, state in enumerate(states):
            logfile = make_logfile(f"{agent_id}-{n}", agent_id, project, n)
            store.add_logfile(replace(logfile, state=state))


def test_count_states_of_an_agent_a_project_and_everything(store: FullStore) -> None:
    _seed_states(store)
    assert store.count_states(PROJECT, "agent-1") == {REQUESTED: 3, STARTED: 2, COMPLETED: 1}
    assert store.count_states(PROJECT, "agent-2") == {REQUESTED: 0, STARTED: 0, COMPLETED: 1}
    assert store.count_states(PROJECT) == {REQUESTED: 3, STARTED: 2, COMPLETED: 2}
    assert store.count_states(OTHER_PROJECT) == {REQUESTED: 0, STARTED: 2, COMPLETED: 0}
    assert store.count_states() == {REQUESTED: 3, STARTED: 4, COMPLETED: 2}
    assert store.count_states("nobody") == {REQUESTED: 0, STARTED: 0, COMPLETED: 0}


def test_count_states_follows_changes_and_deletions(store: FullStore) -> None:
    _seed_states(store)
    store.update_logfile(PROJECT, "agent-1", "agent-1-0", lambda lf: change_state(lf, [STARTED, COMPLETED]))
    store.delete_logfile(PROJECT, "agent-1", "agent-1-5")
    assert store.count_states(PROJECT, "agent-1") == {REQUESTED: 2, STARTED: 2, COMPLETED: 1}
    store.delete_agent(OTHER_PROJECT, "agent-3")
    assert store.count_states() == {REQUESTED: 2, STARTED: 2, COMPLETED: 2}
    store.reset()
    assert store.count_states() == {REQUESTED: 0, STARTED: 0, COMPLETED: 0}


def test_count_states_of_an_agent_of_another_project_is_not_found(store: FullStore) -> None:
    _seed_states(store)
    with pytest.raises(NotFound) as excinfo:
        store.count_states(OTHER_PROJECT, "agent-1")
    assert_error(excinfo, agent_not_found(OTHER_PROJECT, "agent-1"))
    with pytest.raises(NotFound):
        store.count_states(PROJECT, "nobody")


def test_count_states_of_an_agent_needs_its_project(store: FullStore) -> None:
    with pytest.raises(ValueError, match="within its project"):
        store.count_states(None, "agent-1")


def test_journal_keeps_each_entrys_latency(store: FullStore) -> None:
    store.record_request(entry(latency_ms=12.345), 10)
    store.record_request(entry(), 10)
    assert [e.latency_ms for e in store.list_requests()] == [12.345, None]


# SQLite: migration 6 on a file of schema 5.


def test_schema_5_file_gains_journal_latency_and_the_state_index(tmp_path: Path) -> None:
    path = tmp_path / "five.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for migration in MIGRATIONS[:5]:
        for statement in migration:
            db.execute(statement)
    db.execute("PRAGMA user_version = 5")
    db.execute(
        "INSERT INTO journal (time, method, path, query, headers, body, status, fault)"
        " VALUES ('2014-09-23T12:22:40.606703+00:00', 'GET', '/v2/1', '', '{}', '', 200, NULL)"
    )
    db.close()
    store = SqliteStore.open(path)
    try:
        (old,) = store.list_requests()
        assert (old.path, old.latency_ms) == ("/v2/1", None)
        store.record_request(entry(latency_ms=1.5), 10)
        assert [e.latency_ms for e in store.list_requests()] == [None, 1.5]
    finally:
        store.close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "logfiles_agent_state" in names
    finally:
        db.close()


def test_sqlite_list_all_agents_refuses_a_negative_limit(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    try:
        with pytest.raises(ValueError, match="limit must be 0 or more"):
            store.list_all_agents(-1)
    finally:
        store.close()
