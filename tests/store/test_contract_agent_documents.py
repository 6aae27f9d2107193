"""An agent's documents in the store's own operations, on every store (docs/storage.md):
the agent's delete takes them in its transaction, the state import and export carry them,
a reset clears them, and the time bound of a query (Query.start) that activities merge by."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from logfiles.activities import Job, job_document
from logfiles.documents import Document, Query
from logfiles.errors import Conflict, Invalid, NotFound
from logfiles.kinds import ALL_KINDS, BACKUP, CLEANUP, CONFIGURATION, RESTORE
from logfiles.store import FullStore
from tests.store.helpers import OTHER_PROJECT, PROJECT, T0, make_agent, make_logfile


def config(config_id: str, agent_id: str = "agent-1", project_id: str = PROJECT) -> Document:
    body = {"id": config_id, "project_id": project_id, "agent_id": agent_id, "name": config_id}
    return Document("configuration", project_id, config_id, body, parent=agent_id)


def job(
    job_id: str, kind: str = "backup", agent_id: str = "agent-1", n: int = 0, config_id: str | None = "c1"
) -> Document:
    moment = T0 + timedelta(seconds=n)
    backup_id = "b0" if kind == "restore" else None
    return job_document(Job(kind, PROJECT, job_id, agent_id, "queued", moment, config_id, backup_id))


def ids(store: FullStore) -> list[tuple[str, str]]:
    return [(d.kind, d.id) for d in store.documents.export_documents()]


@pytest.fixture
def two(store: FullStore) -> FullStore:
    """agent-1 and agent-2, each with a configuration and a backup; agent-1 a restore too."""
    for agent_id in ("agent-1", "agent-2"):
        store.add_agent(make_agent(agent_id))
        store.documents.create(CONFIGURATION, config(f"c-{agent_id}", agent_id))
        store.documents.create(BACKUP, job(f"b-{agent_id}", agent_id=agent_id))
    store.documents.create(RESTORE, job("r-agent-1", "restore"))
    return store


# The agent's delete.


def test_delete_agent_removes_its_documents_and_keeps_the_others(two: FullStore) -> None:
    two.delete_agent(PROJECT, "agent-1")
    assert ids(two) == [("configuration", "c-agent-2"), ("backup", "b-agent-2")]
    with pytest.raises(NotFound):
        two.documents.get(CONFIGURATION, PROJECT, "c-agent-1")
    with pytest.raises(NotFound):
        two.documents.get(BACKUP, PROJECT, "b-agent-1")


def test_delete_of_an_unknown_agent_removes_nothing(two: FullStore) -> None:
    with pytest.raises(NotFound):
        two.delete_agent(OTHER_PROJECT, "agent-1")  # another project's: not found
    assert len(ids(two)) == 5


def test_an_agent_deleted_takes_no_new_document(two: FullStore) -> None:
    two.delete_agent(PROJECT, "agent-1")
    with pytest.raises(NotFound):
        two.documents.create(CLEANUP, job("k1", "cleanup", config_id=None))


# Reset.


def test_reset_clears_every_document(two: FullStore) -> None:
    two.reset()
    assert ids(two) == []


# The state import and export.


def test_export_then_replace_import_round_trips_exactly(two: FullStore) -> None:
    two.add_logfile(make_logfile("lf-1"))
    two.documents.put(CONFIGURATION, config("c-agent-1"), 1)  # version 2 now
    before = two.export_state()
    assert [(d.kind, d.id) for d in before.documents] == ids(two)
    two.import_state(
        before.agents, before.logfiles, replace=True, events=before.events, documents=before.documents
    )
    after = two.export_state()
    assert after == before
    assert two.documents.get(CONFIGURATION, PROJECT, "c-agent-1").version == 2


def test_replace_import_without_documents_clears_them(two: FullStore) -> None:
    snapshot = two.export_state()
    two.import_state(snapshot.agents, [], replace=True)
    assert ids(two) == []


def test_add_import_puts_documents_beside_the_stored_ones(two: FullStore) -> None:
    new = dataclasses.replace(job("b-new", n=5), version=1)
    two.import_state(
        [make_agent("agent-3")],
        [],
        replace=False,
        documents=[new, dataclasses.replace(config("c3", "agent-3"), version=1)],
    )
    assert ids(two)[-2:] == [("backup", "b-new"), ("configuration", "c3")]


def test_a_taken_document_id_fails_the_whole_import(two: FullStore) -> None:
    before = two.export_state()
    taken = dataclasses.replace(config("c-agent-1"), version=1)
    with pytest.raises(Conflict):
        two.import_state(
            [make_agent("agent-3")], [make_logfile("lf-3", "agent-3")], replace=False, documents=[taken]
        )
    assert two.export_state() == before


def test_a_document_of_an_agent_in_neither_fails_a_replace_and_changes_nothing(two: FullStore) -> None:
    before = two.export_state()
    orphan = dataclasses.replace(config("c9", "agent-9"), version=1)
    with pytest.raises(Invalid) as caught:
        two.import_state([make_agent("agent-3")], [], replace=True, documents=[orphan])
    assert caught.value.errors[0].startswith("documents: configuration 'c9' names agent 'agent-9'")
    assert two.export_state() == before
    # Adding, the stored agent counts; of another project it does not.
    two.import_state(
        [], [], replace=False, documents=[dataclasses.replace(config("c9", "agent-2"), version=1)]
    )
    elsewhere = dataclasses.replace(config("c10", "agent-2", OTHER_PROJECT), version=1)
    with pytest.raises(Invalid):
        two.import_state([], [], replace=False, documents=[elsewhere])


def test_a_bad_agent_part_fails_the_documents_too(two: FullStore) -> None:
    before = two.export_state()
    document = dataclasses.replace(config("c3", "agent-3"), version=1)
    with pytest.raises(Conflict):  # agent-1 is taken
        two.import_state(
            [make_agent("agent-3"), make_agent("agent-1")], [], replace=False, documents=[document]
        )
    assert two.export_state() == before


def test_an_undeclared_kind_is_invalid(two: FullStore) -> None:
    odd = Document("browse_request", PROJECT, "x", {}, parent="agent-1", version=1)
    with pytest.raises(Invalid):
        two.import_state([], [], replace=False, documents=[odd])
    assert {kind.name for kind in ALL_KINDS} >= {"configuration", "backup", "restore", "cleanup"}


# Query.start: the time bound the activities' merge places the other kinds by.


def test_query_start_bounds_the_sort_field_both_ways(store: FullStore) -> None:
    store.add_agent(make_agent())
    for n in range(5):
        store.documents.create(BACKUP, job(f"b{n}", n=n))
    middle = job("b2", n=2).keys["time"]

    def found(descending: bool, inclusive: bool) -> list[str]:
        query = Query(
            BACKUP, PROJECT, sort="time", descending=descending, start=middle, start_inclusive=inclusive
        )
        return [d.id for d in store.documents.query(query).items]

    assert found(False, False) == ["b3", "b4"]
    assert found(False, True) == ["b2", "b3", "b4"]
    assert found(True, False) == ["b1", "b0"]
    assert found(True, True) == ["b2", "b1", "b0"]
    page = store.documents.query(Query(BACKUP, PROJECT, sort="time", start=middle, limit=1))
    assert [d.id for d in page.items] == ["b3"] and page.more


def test_query_start_needs_a_sort_field() -> None:
    with pytest.raises(ValueError, match="sort"):
        Query(BACKUP, PROJECT, start="x")


def test_a_delete_racing_creates_leaves_no_document_of_the_agent(store: FullStore) -> None:
    """Writers keep adding the agent's jobs while it is deleted: each either lands before the
    delete (and goes with the agent) or finds no agent (404); none outlives it."""
    store.add_agent(make_agent())
    made = threading.Event()
    outcomes: list[str] = []

    def writer(name: str) -> None:
        for n in range(200):
            try:
                store.documents.create(BACKUP, job(f"{name}-{n}", n=n))
            except NotFound:
                outcomes.append("refused")
                return
            made.set()
        outcomes.append("finished")

    threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(2)]
    for thread in threads:
        thread.start()
    made.wait(timeout=30)
    store.delete_agent(PROJECT, "agent-1")
    for thread in threads:
        thread.join(timeout=60)
    assert all(not thread.is_alive() for thread in threads)
    assert ids(store) == []
    assert len(outcomes) == 2
