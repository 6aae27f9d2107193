"""The activities' core: a job's document and item, and the merge of the three kinds' pages
(logfiles/activities.py), against `documents.select` as the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logfiles.activities import (
    ActivityQuery,
    Job,
    activity,
    job_document,
    job_of,
    list_activities,
)
from logfiles.documents import Document, DocumentPage, Kind, Query, not_found, select
from logfiles.errors import Invalid

T0 = datetime(2020, 1, 1, tzinfo=UTC)


class Urls:
    def agent(self, project_id: str, agent_id: str) -> str:
        return f"/{project_id}/agents/{agent_id}"

    def configuration(self, project_id: str, configuration_id: str) -> str:
        return f"/{project_id}/configurations/{configuration_id}"

    def job(self, kind: str, project_id: str, job_id: str) -> str:
        return f"/{project_id}/{kind}s/{job_id}"


class Store:
    """The reads the merge makes, over documents kept in creation order."""

    def __init__(self, documents: list[Document]) -> None:
        self.numbered = list(enumerate(documents))

    def get(self, kind: Kind, project_id: str, document_id: str) -> Document:
        for _, document in self.numbered:
            if (document.kind, document.project_id, document.id) == (kind.name, project_id, document_id):
                return document
        raise not_found(kind, document_id)

    def run(self, query: Query) -> DocumentPage:
        return select(query, self.numbered)


def make(kind: str, job_id: str, seconds: int, agent_id: str = "a1", config: str | None = "c1") -> Document:
    backup_id = "b0" if kind == "restore" else None
    return job_document(
        Job(kind, "p", job_id, agent_id, "queued", T0 + timedelta(seconds=seconds), config, backup_id)
    )


def test_a_job_round_trips_through_its_document() -> None:
    job = Job("restore", "p", "r1", "a1", "queued", T0, "c1", "b1")
    document = job_document(job)
    assert document.parent == "a1"
    assert document.keys == {
        "backup_id": "b1",
        "configuration_id": "c1",
        "state": "queued",
        "time": "2020-01-01T00:00:00.000000Z",
    }
    assert job_of(document) == job
    bare = Job("cleanup", "p", "k1", "a1", "queued", T0)
    assert job_of(job_document(bare)) == bare
    assert job_document(bare).keys["configuration_id"] == ""


def test_an_item_has_the_pages_members_in_order() -> None:
    item = activity(job_of(make("backup", "b1", 0)), Urls())
    assert list(item) == ["id", "type", "last_updated_time", "state", "agent", "configuration", "links"]
    assert item["links"] == [{"href": "/p/backups/b1", "rel": "backup"}]
    assert "configuration" not in activity(job_of(make("cleanup", "k1", 0, config=None)), Urls())


def test_an_unknown_marker_is_invalid() -> None:
    store = Store([make("backup", "b1", 0)])
    with pytest.raises(Invalid) as caught:
        list_activities(store.get, store.run, ActivityQuery("p", marker="nope"))
    assert caught.value.errors == ["marker: no backup, restore or cleanup 'nope' in this project"]


def test_filters_by_agent_and_configuration() -> None:
    store = Store(
        [make("backup", "b1", 0), make("restore", "r1", 1, "a2"), make("cleanup", "k1", 2, config="c2")]
    )

    def ids(agent_id: str | None = None, configuration_id: str | None = None) -> list[str]:
        query = ActivityQuery("p", agent_id, configuration_id)
        return [job.id for job in list_activities(store.get, store.run, query).items]

    assert ids() == ["k1", "r1", "b1"]
    assert ids(agent_id="a1") == ["k1", "b1"]
    assert ids(configuration_id="c1") == ["r1", "b1"]
    assert ids(agent_id="a2", configuration_id="c2") == []


KINDS = st.sampled_from(["backup", "restore", "cleanup"])


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.lists(st.tuples(KINDS, st.integers(0, 3)), min_size=0, max_size=12),
    limit=st.integers(1, 5),
    descending=st.booleans(),
)
def test_pages_by_markers_walk_the_merged_order(
    jobs: list[tuple[str, int]], limit: int, descending: bool
) -> None:
    """Every page after any marker is the reference order's next `limit`, in either direction.
    Reference: (time, kind, creation order), the order the pages are in (descending: reversed)."""
    documents = [make(kind, f"j{n}", seconds) for n, (kind, seconds) in enumerate(jobs)]
    store = Store(documents)
    reference = [d.id for _, d in sorted(store.numbered, key=lambda p: (p[1].keys["time"], p[1].kind, p[0]))]
    if descending:
        reference.reverse()
    for start, marker in [(0, None), *((i + 1, m) for i, m in enumerate(reference))]:
        query = ActivityQuery("p", marker=marker, limit=limit, descending=descending)
        page = list_activities(store.get, store.run, query)
        assert [job.id for job in page.items] == reference[start : start + limit]
        assert page.more == (len(reference) > start + limit)
