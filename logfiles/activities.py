"""Activities: the backups, restores and cleanups of a project, an agent or a configuration,
by time (stdlib only).

Jobs themselves (routes, state machines, full bodies) are jobs.py and job_results.py; here a
job is only what its activity shows: the members below, which every job document of its kind
(kinds.BACKUP, RESTORE, CLEANUP) holds beside its pages' others. An activity list is the
three kinds' queries merged by time (docs/storage.md "How a request flows"), each asking one
more than the page.

The order of the merged list is (time, kind, the store's order of that kind's ties), so that
each kind's part of it is that kind's own query order: a marker (one job's id) then places
its kind by the store's marker and the other kinds by its time (Query.start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from .documents import Document, DocumentPage, Kind, Query, time_key
from .errors import Invalid, NotFound
from .kinds import BACKUP, CLEANUP, JOB_KINDS, RESTORE
from .model import format_time, parse_time

# Every state a job of each kind may be in (SPEC "The whole service": the jobs' tables). The
# jobs' own module brings the moves between them; a seeded job may be in any of them.
_FINAL = ("completed", "completed_with_errors", "failed", "stopped")
JOB_STATES: dict[str, tuple[str, ...]] = {
    BACKUP.name: (
        "start_requested",
        "start_scheduled",
        "queued",
        "preparing",
        "in_progress",
        "stop_requested",
        *_FINAL,
        "skipped",
        "missed",
    ),
    RESTORE.name: ("start_requested", "queued", "preparing", "in_progress", "stop_requested", *_FINAL),
    # The cleanup start page takes `start_scheduled` too (an agent's own scheduled cleanup).
    CLEANUP.name: ("start_requested", "start_scheduled", "queued", "in_progress", "stop_requested", *_FINAL),
}
JOB_KIND_NAMES: dict[str, Kind] = {kind.name: kind for kind in JOB_KINDS}


@dataclass(frozen=True, slots=True)
class Job:
    """What an activity shows of a job. `configuration_id` is None for a job without one."""

    kind: str
    project_id: str
    id: str
    agent_id: str
    state: str
    last_updated_time: datetime
    configuration_id: str | None = None
    backup_id: str | None = None  # a restore's backup


def job_document(job: Job, extra: Mapping[str, Any] | None = None) -> Document:
    """The job as a document of its kind: parent its agent (a restore's: the destination),
    keys its configuration (`""` for none), state and time; `extra` adds to the body (the jobs'
    module keeps its page's members there)."""
    kind = JOB_KIND_NAMES[job.kind]
    body: dict[str, Any] = {
        **(extra or {}),
        "id": job.id,
        "project_id": job.project_id,
        "agent_id": job.agent_id,
        "state": job.state,
        "last_updated_time": format_time(job.last_updated_time),
    }
    keys = {"configuration_id": job.configuration_id or "", "state": job.state}
    keys["time"] = time_key(job.last_updated_time)
    if job.configuration_id is not None:
        body["configuration_id"] = job.configuration_id
    if kind is RESTORE:
        keys["backup_id"] = job.backup_id or ""
        if job.backup_id is not None:
            body["backup_id"] = job.backup_id
    return Document(kind.name, job.project_id, job.id, body, parent=job.agent_id, keys=keys)


def job_of(document: Document) -> Job:
    """The job a document of a job kind holds (the inverse of `job_document`).

    A document imported through the control plane (`documents`, an export's round trip) holds
    any JSON object: it is read leniently, as configurations are, from its body where that is
    what `job_document` writes, else from what the store keeps for it (parent, indexed keys)."""
    body = document.body

    def text(name: str) -> str | None:
        value = body.get(name)
        return value if isinstance(value, str) else None

    return Job(
        kind=document.kind,
        project_id=document.project_id,
        id=document.id,
        agent_id=text("agent_id") or document.parent or "",
        state=text("state") or document.keys.get("state", ""),
        last_updated_time=_kept_time(text("last_updated_time"), document.keys.get("time")),
        configuration_id=text("configuration_id"),
        backup_id=text("backup_id"),
    )


def _kept_time(*texts: str | None) -> datetime:
    """The first readable time of `texts`; the epoch when none is."""
    for text in texts:
        if text is not None:
            try:
                return parse_time(text)
            except ValueError:
                continue
    return datetime(1970, 1, 1, tzinfo=UTC)


class Urls(Protocol):
    """Where the activity's links point (api/links.py builds them from the request)."""

    def agent(self, project_id: str, agent_id: str) -> str: ...

    def configuration(self, project_id: str, configuration_id: str) -> str: ...

    def job(self, kind: str, project_id: str, job_id: str) -> str: ...


def activity(job: Job, urls: Urls) -> dict[str, Any]:
    """One item of an activities page, in the pages' member order."""
    item: dict[str, Any] = {
        "id": job.id,
        "type": job.kind,
        "last_updated_time": format_time(job.last_updated_time),
        "state": job.state,
        "agent": {
            "id": job.agent_id,
            "links": [{"href": urls.agent(job.project_id, job.agent_id), "rel": "full"}],
        },
    }
    if job.configuration_id is not None:
        item["configuration"] = {
            "id": job.configuration_id,
            "links": [{"href": urls.configuration(job.project_id, job.configuration_id), "rel": "full"}],
        }
    item["links"] = [{"href": urls.job(job.kind, job.project_id, job.id), "rel": job.kind}]
    return item


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """Whose activities (an agent's, a configuration's, else the project's), and one page."""

    project_id: str
    agent_id: str | None = None
    configuration_id: str | None = None
    marker: str | None = None
    limit: int = 100
    descending: bool = True  # the pages' default: the latest first


@dataclass(frozen=True, slots=True)
class ActivityPage:
    items: list[Job]
    more: bool


# What the merge needs of the store: store.documents' get and query.
Get = Callable[[Kind, str, str], Document]
Run = Callable[[Query], DocumentPage]


def marker_not_found(marker: str) -> Invalid:
    # (ours) As the other lists: an unknown marker is a bad request.
    return Invalid(
        "The marker does not name an activity of this project.",
        [f"marker: no backup, restore or cleanup '{marker}' in this project"],
    )


def _place(get: Get, project_id: str, marker: str) -> Document:
    """The job the marker names, of whichever kind holds it."""
    for kind in JOB_KINDS:
        try:
            return get(kind, project_id, marker)
        except NotFound:
            continue
    raise marker_not_found(marker)


def kind_queries(query: ActivityQuery, marked: Document | None) -> list[Query]:
    """One query per job kind, each one more than the page, placed by the marker's job."""
    where = {} if query.configuration_id is None else {"configuration_id": query.configuration_id}
    queries = []
    for kind in JOB_KINDS:
        marker, start, inclusive = None, None, False
        if marked is not None:
            if marked.kind == kind.name:
                marker = marked.id
            else:
                # The other kinds by the marker's time: a tie goes by kind, as the merge orders.
                start = marked.keys["time"]
                inclusive = kind.name < marked.kind if query.descending else kind.name > marked.kind
        queries.append(
            Query(
                kind,
                query.project_id,
                parent=query.agent_id,
                where=where,
                sort="time",
                descending=query.descending,
                marker=marker,
                limit=query.limit + 1,
                start=start,
                start_inclusive=inclusive,
            )
        )
    return queries


def merge(pages: Sequence[Sequence[Document]], limit: int, descending: bool) -> ActivityPage:
    """The kinds' pages (each in its query's order) as one, by (time, kind, place in its page)."""
    keyed = []
    for page in pages:
        for index, document in enumerate(page):
            keyed.append(((document.keys["time"], document.kind, -index if descending else index), document))
    keyed.sort(key=lambda pair: pair[0], reverse=descending)
    return ActivityPage([job_of(d) for _, d in keyed[:limit]], len(keyed) > limit)


def list_activities(get: Get, run: Run, query: ActivityQuery) -> ActivityPage:
    """One page of activities: Invalid (400) for a marker that names no job of the project."""
    marked = None if query.marker is None else _place(get, query.project_id, query.marker)
    return merge([run(q).items for q in kind_queries(query, marked)], query.limit, query.descending)
