"""The document store's contract, once for every store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logfiles.documents import AGENT, Document, Kind, Query, Written, select, time_key
from logfiles.errors import Conflict, Invalid, NotFound, Unavailable
from logfiles.events import Event
from logfiles.store import FullStore, MemoryStore
from logfiles.store import documents as rules
from logfiles.store.sqlite import SqliteStore
from tests.store.helpers import OTHER_PROJECT, PROJECT, T0, make_agent

# The worked example of docs/storage.md: a configuration belongs to an agent; a backup to a
# configuration, found by its agent, its state and when it was made.
CONFIGURATION = Kind("configuration", parent=AGENT, indexed=("agent_id",))
BACKUP = Kind("backup", parent="configuration", indexed=("agent_id", "state", "time"))
SETTINGS = Kind("summary_settings")  # one per project: no parent, found by nothing but its id


def configuration(config_id: str = "c1", agent_id: str = "agent-1", **body: Any) -> Document:
    return Document(
        "configuration", PROJECT, config_id, body or {"name": config_id}, agent_id, {"agent_id": agent_id}
    )


def backup(backup_id: str, config_id: str = "c1", state: str = "queued", n: int = 0) -> Document:
    keys = {"agent_id": "agent-1", "state": state, "time": time_key(T0 + timedelta(seconds=n))}
    return Document("backup", PROJECT, backup_id, {"n": n}, config_id, keys)


def event(name: str, agent_id: str | None = "agent-1", project_id: str = PROJECT, **details: Any) -> Event:
    return Event(project_id, agent_id, T0, name, details)


def kept(store: FullStore) -> list[tuple[int, str]]:
    return [(e.id, e.event) for e in store.export_state().events]


def renamed(document: Document, name: str) -> Document:
    return dataclasses.replace(document, body={**document.body, "name": name})


@pytest.fixture
def docs(store: FullStore) -> FullStore:
    """The store with agent-1 in PROJECT, for parents and events."""
    store.add_agent(make_agent())
    return store


# create and get


def test_create_is_version_1_and_get_returns_it(docs: FullStore) -> None:
    created = docs.documents.create(CONFIGURATION, configuration(name="nightly", paths=["/etc", "é\u0000x"]))
    assert created.version == 1
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1") == created
    assert created.body == {"name": "nightly", "paths": ["/etc", "é\u0000x"]}


def test_create_taken_id_is_conflict_and_keeps_nothing(docs: FullStore) -> None:
    docs.documents.create(CONFIGURATION, configuration())
    with pytest.raises(Conflict):
        docs.documents.create(CONFIGURATION, configuration(name="other"), [event("configuration_created")])
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1").body == {"name": "c1"}
    assert kept(docs) == []


def test_create_same_id_in_another_kind_or_project_is_another_document(docs: FullStore) -> None:
    docs.add_agent(make_agent("agent-2", OTHER_PROJECT))
    docs.documents.create(CONFIGURATION, configuration())
    docs.documents.create(
        CONFIGURATION, dataclasses.replace(configuration(agent_id="agent-2"), project_id=OTHER_PROJECT)
    )
    docs.documents.create(SETTINGS, Document("summary_settings", PROJECT, "c1", {"x": 1}))
    assert docs.documents.get(CONFIGURATION, OTHER_PROJECT, "c1").parent == "agent-2"
    assert docs.documents.get(SETTINGS, PROJECT, "c1").body == {"x": 1}


@pytest.mark.parametrize("agent_id", ["agent-9", "agent-2"])
def test_create_with_missing_agent_parent_is_404(docs: FullStore, agent_id: str) -> None:
    docs.add_agent(make_agent("agent-2", OTHER_PROJECT))  # another project's agent is not ours
    with pytest.raises(NotFound, match=r"(?i)agent"):
        docs.documents.create(CONFIGURATION, configuration(agent_id=agent_id))
    assert docs.documents.export_documents() == []


def test_create_with_missing_document_parent_is_404(docs: FullStore) -> None:
    with pytest.raises(NotFound, match="configuration"):
        docs.documents.create(BACKUP, backup("b1"))
    docs.documents.create(CONFIGURATION, configuration())
    assert docs.documents.create(BACKUP, backup("b1")).version == 1


@pytest.mark.parametrize(("project_id", "document_id"), [(PROJECT, "c9"), (OTHER_PROJECT, "c1")])
def test_get_unknown_or_other_project_is_404(docs: FullStore, project_id: str, document_id: str) -> None:
    docs.documents.create(CONFIGURATION, configuration())
    with pytest.raises(NotFound, match="The configuration does not exist"):
        docs.documents.get(CONFIGURATION, project_id, document_id)


def test_create_that_does_not_fit_its_kind_is_a_bug(docs: FullStore) -> None:
    no_keys = dataclasses.replace(configuration(), keys={})
    with pytest.raises(ValueError, match="indexes"):
        docs.documents.create(CONFIGURATION, no_keys)


# compare-and-set


def test_put_at_the_stored_version_writes_the_next(docs: FullStore) -> None:
    created = docs.documents.create(CONFIGURATION, configuration())
    written = docs.documents.put(CONFIGURATION, renamed(created, "weekly"), expected=1)
    assert written.ok
    assert written.document.version == 2
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1") == written.document


def test_put_at_an_old_version_writes_nothing_and_answers_the_current(docs: FullStore) -> None:
    created = docs.documents.create(CONFIGURATION, configuration())
    current = docs.documents.put(CONFIGURATION, renamed(created, "first"), expected=1).document
    lost = docs.documents.put(CONFIGURATION, renamed(created, "second"), 1, [event("configuration_changed")])
    assert not lost.ok
    assert lost.document == current
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1") == current
    assert kept(docs) == []


def test_put_of_a_gone_document_is_404(docs: FullStore) -> None:
    with pytest.raises(NotFound):
        docs.documents.put(CONFIGURATION, configuration(), expected=1)


def test_put_to_a_missing_parent_is_404_and_keeps_the_document(docs: FullStore) -> None:
    created = docs.documents.create(CONFIGURATION, configuration())
    with pytest.raises(NotFound, match=r"(?i)agent"):
        docs.documents.put(CONFIGURATION, dataclasses.replace(created, parent="agent-9"), expected=1)
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1") == created


def test_update_reapplies_its_change_to_what_won(docs: FullStore) -> None:
    """The caller read version 1; another writer wins meanwhile; the change lands on top of it."""
    docs.documents.create(CONFIGURATION, configuration(count=0))
    reads: list[int] = []

    def bump(current: Document) -> Document:
        reads.append(current.version)
        if len(reads) == 1:  # another writer slips in after this read
            docs.documents.put(
                CONFIGURATION, dataclasses.replace(current, body={"count": 10}), current.version
            )
        return dataclasses.replace(current, body={"count": current.body["count"] + 1})

    final = rules.update(docs.documents, CONFIGURATION, PROJECT, "c1", bump)
    assert reads == [1, 2]
    assert (final.version, final.body) == (3, {"count": 11})


def test_update_that_changes_nothing_writes_nothing(docs: FullStore) -> None:
    created = docs.documents.create(CONFIGURATION, configuration())
    events = [event("never")]
    same = rules.update(docs.documents, CONFIGURATION, PROJECT, "c1", lambda d: d, lambda a, b: events)
    assert same == created
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1").version == 1
    assert kept(docs) == []


# events: one counter for the whole service, kept with the write or not at all


def test_events_of_writes_share_the_service_counter(docs: FullStore) -> None:
    docs.add_events([event("agent_posted")])
    created = docs.documents.create(CONFIGURATION, configuration(), [event("configuration_created")])
    rules.update(
        docs.documents,
        CONFIGURATION,
        PROJECT,
        "c1",
        lambda d: renamed(d, "weekly"),
        lambda before, after: [event("configuration_changed", was=before.body["name"])],
    )
    docs.documents.delete(CONFIGURATION, PROJECT, created.id, events=[event("configuration_deleted", None)])
    numbers, names = zip(*kept(docs), strict=True)
    assert names == (
        "agent_posted",
        "configuration_created",
        "configuration_changed",
        "configuration_deleted",
    )
    assert list(numbers) == list(range(numbers[0], numbers[0] + 4))
    assert docs.export_state().events[2].details == {"was": "c1"}


@pytest.mark.parametrize("agent_id", ["agent-9", "agent-2"])
def test_event_naming_an_unknown_agent_is_404_and_nothing_is_written(docs: FullStore, agent_id: str) -> None:
    docs.add_agent(make_agent("agent-2", OTHER_PROJECT))
    created = docs.documents.create(CONFIGURATION, configuration())
    bad = [event("ok"), event("bad", agent_id)]
    with pytest.raises(NotFound, match=r"(?i)agent"):
        docs.documents.create(CONFIGURATION, configuration("c2"), bad)
    with pytest.raises(NotFound, match=r"(?i)agent"):
        docs.documents.put(CONFIGURATION, renamed(created, "x"), 1, bad)
    with pytest.raises(NotFound, match=r"(?i)agent"):
        docs.documents.delete(CONFIGURATION, PROJECT, "c1", events=bad)
    assert docs.documents.export_documents() == [created]
    assert kept(docs) == []


def test_events_are_numbered_after_a_reset_as_before(docs: FullStore) -> None:
    docs.documents.create(CONFIGURATION, configuration(), [event("configuration_created")])
    ((before, _),) = kept(docs)
    docs.reset()
    assert docs.documents.export_documents() == []
    with pytest.raises(NotFound):
        docs.documents.get(CONFIGURATION, PROJECT, "c1")
    docs.add_agent(make_agent())
    docs.documents.create(CONFIGURATION, configuration(), [event("configuration_created")])
    ((after, _),) = kept(docs)
    assert after > before


# delete


def test_delete_removes_it_and_answers_what_it_was(docs: FullStore) -> None:
    created = docs.documents.create(CONFIGURATION, configuration())
    gone = docs.documents.delete(CONFIGURATION, PROJECT, "c1", expected=1)
    assert gone == Written(True, created)
    with pytest.raises(NotFound):
        docs.documents.get(CONFIGURATION, PROJECT, "c1")
    with pytest.raises(NotFound):
        docs.documents.delete(CONFIGURATION, PROJECT, "c1")


def test_delete_at_an_old_version_keeps_it(docs: FullStore) -> None:
    created = docs.documents.create(CONFIGURATION, configuration())
    current = docs.documents.put(CONFIGURATION, renamed(created, "x"), 1).document
    assert docs.documents.delete(CONFIGURATION, PROJECT, "c1", expected=1) == Written(False, current)
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1") == current


def test_delete_of_a_parent_keeps_its_children(docs: FullStore) -> None:
    """SPEC: deleting a configuration, its jobs stay (they name its id)."""
    docs.documents.create(CONFIGURATION, configuration())
    child = docs.documents.create(BACKUP, backup("b1"))
    docs.documents.delete(CONFIGURATION, PROJECT, "c1")
    assert docs.documents.get(BACKUP, PROJECT, "b1") == child


def test_delete_matching_removes_an_agents_documents_of_every_kind_at_once(docs: FullStore) -> None:
    docs.add_agent(make_agent("agent-2"))
    docs.documents.create(CONFIGURATION, configuration())
    docs.documents.create(CONFIGURATION, configuration("c2", "agent-2"))
    docs.documents.create(BACKUP, backup("b1"))
    docs.documents.create(BACKUP, backup("b2", "c2"))
    queries = [
        Query(CONFIGURATION, PROJECT, parent="agent-1"),
        Query(BACKUP, PROJECT, where={"agent_id": "agent-1"}),
    ]
    assert docs.documents.delete_matching(queries, [event("agent_deleted", None)]) == 3
    assert [d.id for d in docs.documents.export_documents()] == ["c2"]
    assert [name for _, name in kept(docs)] == ["agent_deleted"]


def test_delete_matching_an_undeclared_field_is_a_bug_and_removes_nothing(docs: FullStore) -> None:
    docs.documents.create(CONFIGURATION, configuration())
    queries = [Query(CONFIGURATION, PROJECT), Query(CONFIGURATION, PROJECT, where={"state": "x"})]
    with pytest.raises(ValueError, match="does not index"):
        docs.documents.delete_matching(queries)
    assert len(docs.documents.export_documents()) == 1


# query


def seeded_backups(store: FullStore) -> list[Document]:
    """Six backups of two configurations; times out of creation order, two alike."""
    store.documents.create(CONFIGURATION, configuration())
    store.documents.create(CONFIGURATION, configuration("c2"))
    plan = [("b1", "c1", "queued", 5), ("b2", "c2", "completed", 1), ("b3", "c1", "completed", 3)]
    plan += [("b4", "c1", "queued", 1), ("b5", "c2", "queued", 9), ("b6", "c1", "failed", 3)]
    return [store.documents.create(BACKUP, backup(*row)) for row in plan]


def ids(page: Any) -> list[str]:
    return [d.id for d in page.items]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["b1", "b2", "b3", "b4", "b5", "b6"]),
        ({"parent": "c1"}, ["b1", "b3", "b4", "b6"]),
        ({"where": {"state": "queued"}}, ["b1", "b4", "b5"]),
        ({"where": {"state": "queued"}, "parent": "c1"}, ["b1", "b4"]),
        ({"sort": "time"}, ["b2", "b4", "b3", "b6", "b1", "b5"]),
        ({"sort": "time", "descending": True}, ["b5", "b1", "b6", "b3", "b4", "b2"]),
        ({"descending": True, "where": {"state": "completed"}}, ["b3", "b2"]),
        ({"sort": "state", "where": {"agent_id": "agent-1"}}, ["b2", "b3", "b6", "b1", "b4", "b5"]),
        ({"where": {"state": "stopped"}}, []),
        ({"parent": "c9"}, []),
    ],
)
def test_query_filters_and_orders(docs: FullStore, query: dict[str, Any], expected: list[str]) -> None:
    seeded_backups(docs)
    assert ids(docs.documents.query(Query(BACKUP, PROJECT, **query))) == expected


@pytest.mark.parametrize(
    "order", [{}, {"sort": "time"}, {"sort": "time", "descending": True}, {"descending": True}]
)
def test_query_pages_by_marker_cover_every_document_once(docs: FullStore, order: dict[str, Any]) -> None:
    seeded_backups(docs)
    whole = ids(docs.documents.query(Query(BACKUP, PROJECT, **order)))
    seen: list[str] = []
    marker = None
    while True:
        page = docs.documents.query(
            Query(BACKUP, PROJECT, marker=marker, limit=4 if not seen else 1, **order)
        )
        seen += ids(page)
        if not page.more:
            break
        marker = seen[-1]
    assert seen == whole


def test_query_limit_0_says_whether_any_exist(docs: FullStore) -> None:
    seeded_backups(docs)
    page = docs.documents.query(Query(BACKUP, PROJECT, limit=0))
    assert (page.items, page.more) == ([], True)
    assert not docs.documents.query(Query(BACKUP, OTHER_PROJECT, limit=0)).more


@pytest.mark.parametrize("marker", ["b9", "c1"])  # unknown; a document of another kind
def test_query_unknown_marker_is_400(docs: FullStore, marker: str) -> None:
    seeded_backups(docs)
    with pytest.raises(Invalid, match="marker"):
        docs.documents.query(Query(BACKUP, PROJECT, marker=marker))


def test_query_an_undeclared_field_is_a_bug(docs: FullStore) -> None:
    with pytest.raises(ValueError, match="does not index"):
        docs.documents.query(Query(CONFIGURATION, PROJECT, sort="time"))


# export and import


def test_export_then_import_round_trips_in_creation_order(docs: FullStore) -> None:
    made = seeded_backups(docs)
    rules.update(docs.documents, BACKUP, PROJECT, "b2", lambda d: dataclasses.replace(d, body={"n": -1}))
    exported = docs.documents.export_documents()
    assert [d.id for d in exported] == ["c1", "c2", *(d.id for d in made)]
    docs.documents.import_documents([CONFIGURATION, BACKUP], exported, replace=True)
    assert docs.documents.export_documents() == exported
    assert docs.documents.get(BACKUP, PROJECT, "b2").version == 2
    assert ids(docs.documents.query(Query(BACKUP, PROJECT, sort="time", limit=2))) == ["b2", "b4"]


def test_import_of_a_taken_id_is_conflict_and_changes_nothing(docs: FullStore) -> None:
    docs.documents.create(CONFIGURATION, configuration())
    before = docs.documents.export_documents()
    fresh = dataclasses.replace(configuration("c2"), version=1)
    taken = dataclasses.replace(configuration(), version=4)
    with pytest.raises(Conflict):
        docs.documents.import_documents([CONFIGURATION], [fresh, taken], replace=False)
    with pytest.raises(Conflict):
        docs.documents.import_documents([CONFIGURATION], [fresh, fresh], replace=True)
    assert docs.documents.export_documents() == before


@pytest.mark.parametrize(
    "document",
    [
        dataclasses.replace(configuration(), version=0),  # never stored
        Document("restore", PROJECT, "r1", {}, version=1),  # an undeclared kind
        dataclasses.replace(configuration(), keys={}, version=1),  # not what its kind indexes
    ],
)
def test_import_of_a_bad_document_is_400(docs: FullStore, document: Document) -> None:
    with pytest.raises(Invalid, match="not valid"):
        docs.documents.import_documents([CONFIGURATION], [document], replace=False)


# the SQL stores answer what the reference (documents.select) answers, whatever the data

_ALPHABET = st.sampled_from(["a", "b", "c"])
_BACKUPS = st.lists(
    st.tuples(_ALPHABET, _ALPHABET, st.integers(0, 3)), min_size=0, max_size=8
)  # (configuration, state, time) per backup


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=_BACKUPS,
    parent=st.none() | _ALPHABET,
    state=st.none() | _ALPHABET,
    sort=st.sampled_from([None, "time", "state"]),
    descending=st.booleans(),
    limit=st.integers(0, 4),
    marker_at=st.none() | st.integers(0, 7),
    start_at=st.none() | st.integers(0, 3),
    inclusive=st.booleans(),
)
def test_query_answers_what_the_reference_answers(
    store: FullStore,
    plan: Sequence[tuple[str, str, int]],
    parent: str | None,
    state: str | None,
    sort: str | None,
    descending: bool,
    limit: int,
    marker_at: int | None,
    start_at: int | None,
    inclusive: bool,
) -> None:
    store.reset()
    store.add_agent(make_agent())
    for config_id in "abc":
        store.documents.create(CONFIGURATION, configuration(config_id))
    made = [store.documents.create(BACKUP, backup(f"b{n}", *row)) for n, row in enumerate(plan)]
    marker = None if marker_at is None or marker_at >= len(made) else made[marker_at].id
    where = {} if state is None else {"state": state}
    start = None
    if sort is not None and start_at is not None:  # Query.start: a bound on the sort field
        start = time_key(T0 + timedelta(seconds=start_at)) if sort == "time" else "abcd"[start_at]
    query = Query(BACKUP, PROJECT, parent, where, sort, descending, marker, limit, start, inclusive)
    assert store.documents.query(query) == select(query, enumerate(made))


# storage failures are 503s, as for every other operation


def test_sqlite_documents_answer_503_when_the_file_is_gone(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "gone.db")
    store.add_agent(make_agent())
    store.documents.create(CONFIGURATION, configuration())
    os.remove(tmp_path / "gone.db")
    with pytest.raises(Unavailable):
        store.documents.create(CONFIGURATION, configuration("c2"))
    with pytest.raises(Unavailable):
        store.documents.query(Query(CONFIGURATION, PROJECT))
    store.close()


def test_query_a_negative_limit_is_a_bug(docs: FullStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        docs.documents.query(Query(CONFIGURATION, PROJECT, limit=-1))


def test_import_beside_what_is_stored_adds(docs: FullStore) -> None:
    kept_one = docs.documents.create(CONFIGURATION, configuration())
    added = dataclasses.replace(configuration("c2"), version=3)
    docs.documents.import_documents([CONFIGURATION], [added], replace=False)
    assert docs.documents.export_documents() == [kept_one, added]


def test_create_that_loses_the_insert_to_another_writer_is_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule's second guard: on PostgreSQL two creates of one id may both find nothing;
    the second's insert then does nothing (and its transaction, events included, rolls back).
    Played on memory, where `find` can be blinded (and where, under the lock, it never is)."""
    store = MemoryStore()
    store.add_agent(make_agent())
    store.documents.create(CONFIGURATION, configuration())
    monkeypatch.setattr(store.documents._rows, "find", lambda *args: None)
    with pytest.raises(Conflict):
        store.documents.create(CONFIGURATION, configuration(name="second"))
    monkeypatch.undo()
    assert store.documents.get(CONFIGURATION, PROJECT, "c1").body == {"name": "c1"}


def test_update_that_keeps_losing_is_503(docs: FullStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "UPDATE_ATTEMPTS", 3)
    docs.documents.create(CONFIGURATION, configuration(count=0))

    def bump_after_another(current: Document) -> Document:
        latest = docs.documents.get(CONFIGURATION, PROJECT, "c1")
        docs.documents.put(CONFIGURATION, dataclasses.replace(latest, body={"count": -1}), latest.version)
        return dataclasses.replace(current, body={"count": 1})

    with pytest.raises(Unavailable, match="busy"):
        rules.update(docs.documents, CONFIGURATION, PROJECT, "c1", bump_after_another)
    assert docs.documents.get(CONFIGURATION, PROJECT, "c1").version == 4
