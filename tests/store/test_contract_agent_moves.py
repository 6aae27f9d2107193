"""Several agents changed in one write, with documents moved between them (Store.update_agents,
store/agent_moves.py), on every store: what moving a vault needs. All of it or nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta

import pytest

from logfiles.activities import Job, job_document
from logfiles.documents import Document, Query
from logfiles.errors import Forbidden, NotFound
from logfiles.events import Event, EventQuery
from logfiles.kinds import BACKUP, CLEANUP
from logfiles.model import Agent
from logfiles.store import FullStore
from logfiles.store.base import DocumentMove
from tests.store.helpers import OTHER_PROJECT, PROJECT, T0, make_agent


def backup(backup_id: str, agent_id: str, n: int = 0, kind: str = "backup") -> Document:
    return job_document(Job(kind, PROJECT, backup_id, agent_id, "completed", T0 + timedelta(seconds=n)))


def swapped(agents: Mapping[str, Agent]) -> dict[str, Agent]:
    """Each agent's log level becomes the other's: a change of both, each reading the other."""
    one, two = agents["agent-1"], agents["agent-2"]
    return {
        "agent-1": dataclasses.replace(one, log_level=two.log_level),
        "agent-2": dataclasses.replace(two, log_level=one.log_level),
    }


def rehome(document: Document) -> Document:
    return dataclasses.replace(document, parent="agent-2", body={**document.body, "agent_id": "agent-2"})


MOVE_BACKUPS = DocumentMove(BACKUP, "agent-1", "agent-2", rehome)


@pytest.fixture
def two(store: FullStore) -> FullStore:
    store.add_agent(make_agent("agent-1", log_level="debug"))
    store.add_agent(make_agent("agent-2", log_level="error"))
    for n, (backup_id, agent_id) in enumerate([("b1", "agent-1"), ("b2", "agent-2"), ("b3", "agent-1")]):
        store.documents.create(BACKUP, backup(backup_id, agent_id, n))
    store.documents.create(CLEANUP, backup("k1", "agent-1", kind="cleanup"))
    return store


def parents(store: FullStore) -> dict[str, str | None]:
    return {d.id: d.parent for d in store.documents.export_documents()}


def test_both_agents_and_the_documents_change_together(two: FullStore) -> None:
    event = Event(PROJECT, "agent-2", T0, "vault_moved", {"agent": {"id": "agent-2"}})
    after = two.update_agents(PROJECT, ["agent-2", "agent-1"], swapped, [MOVE_BACKUPS], [event])
    assert (after["agent-1"].log_level, after["agent-2"].log_level) == ("error", "debug")
    assert two.get_agent(PROJECT, "agent-1").log_level == "error"
    assert two.get_agent(PROJECT, "agent-2").log_level == "debug"
    # The backups moved, in their creation order, a version more; the cleanup stayed.
    assert parents(two) == {"b1": "agent-2", "b2": "agent-2", "b3": "agent-2", "k1": "agent-1"}
    moved = two.documents.get(BACKUP, PROJECT, "b1")
    assert (moved.version, moved.body["agent_id"]) == (2, "agent-2")
    page = two.documents.query(Query(BACKUP, PROJECT, parent="agent-2"))
    assert [d.id for d in page.items] == ["b1", "b2", "b3"]
    feed = two.list_events(PROJECT, "agent-2", EventQuery(limit=10), T0 - timedelta(days=1))
    assert [e.event for e in feed.items] == ["vault_moved"]


def test_an_agent_of_another_project_changes_nothing(two: FullStore) -> None:
    two.add_agent(make_agent("agent-3", project_id=OTHER_PROJECT))
    before = parents(two)
    with pytest.raises(NotFound):
        two.update_agents(PROJECT, ["agent-1", "agent-3"], lambda agents: dict(agents), [])
    with pytest.raises(NotFound):
        two.update_agents(PROJECT, ["agent-1", "nobody"], lambda agents: dict(agents), [])
    assert parents(two) == before


def test_a_change_that_refuses_writes_nothing(two: FullStore) -> None:
    def refuse(agents: Mapping[str, Agent]) -> dict[str, Agent]:
        raise Forbidden("no", ["agent_id: no"])

    with pytest.raises(Forbidden):
        two.update_agents(PROJECT, ["agent-1", "agent-2"], refuse, [MOVE_BACKUPS])
    assert parents(two) == {"b1": "agent-1", "b2": "agent-2", "b3": "agent-1", "k1": "agent-1"}


def test_an_event_for_a_missing_agent_writes_nothing(two: FullStore) -> None:
    event = Event(PROJECT, "nobody", T0, "vault_moved", {})
    with pytest.raises(NotFound):
        two.update_agents(PROJECT, ["agent-1", "agent-2"], swapped, [MOVE_BACKUPS], [event])
    assert two.get_agent(PROJECT, "agent-1").log_level == "debug"
    assert parents(two)["b1"] == "agent-1"


def test_a_change_that_returns_the_agents_as_read_writes_no_agent(two: FullStore) -> None:
    after = two.update_agents(PROJECT, ["agent-1", "agent-2"], lambda agents: dict(agents))
    assert after["agent-1"] == two.get_agent(PROJECT, "agent-1")
