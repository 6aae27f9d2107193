"""Backups, restores and cleanups: start, list, details, update (the agent's JSON Patch), errors
and events of one job.

Thin, as the other blueprints: the checks in SPEC order, the body through its schema, the
core (jobs.py, job_results.py), the store's documents (one write per create or PATCH, its
events with it), the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from .. import configurations, events, job_results, jobs
from ..auth import Action
from ..documents import Document, DocumentPage, Kind, Query
from ..errors import NotFound
from ..events import Event, EventPage, EventQuery
from ..kinds import BACKUP, CLEANUP, CONFIGURATION, RESTORE
from ..model import agent_vault
from ..schemas import EVENT_QUERY, MAX_ID_LENGTH
from ..schemas.jobs import BACKUP_CREATE, BACKUP_LIST_QUERY, CLEANUP_CREATE, JOB_LIST_QUERY, RESTORE_CREATE
from ..store.documents import update
from . import checks, no_content, now, runtime
from .links import feed_links, host_url

bp = Blueprint("jobs", __name__, url_prefix="/v2/<id:project_id>")
KINDS: dict[str, Kind] = {"backups": BACKUP, "restores": RESTORE, "cleanups": CLEANUP}
# Read a page at a time past the backups a `restorable=true` list leaves out, and past the
# events of other jobs in a job's agent's feed.
_READ_PAGE = 1000


def _named(data: Any, member: str) -> str | None:
    """The id a body names, when it is one (so its 404 comes before the body's other 400s)."""
    value = data.get(member) if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH else None


def _vault(project_id: str, agent_id: str) -> dict[str, Any]:
    vault = agent_vault(runtime().store.get_agent(project_id, agent_id), runtime().settings.region)
    return {"id": vault.id, "encrypted": vault.encrypted}


def _created(document: Document, emitted: list[Event]) -> tuple[Response, int, dict[str, str]]:
    kind = KINDS[f"{document.kind}s"]
    stored = runtime().store.documents.create(kind, document, emitted)
    shown = job_results.details_body(host_url(), stored)
    return jsonify(shown), 201, {"Location": shown["links"][0]["href"]}


@bp.post("/backups")
def start_backup(project_id: str) -> tuple[Response, int, dict[str, str]]:
    """Order: 401/403, 415, 413, 400 (not JSON), 404 (the configuration), 400 (the page's
    rules, then `X-Agent-Id` for `start_scheduled`)."""
    checks.authorize(project_id, Action.CREATE)
    checks.require_content_type(checks.JSON)
    data = checks.read_json()
    documents = runtime().store.documents
    named = _named(data, "configuration_id")
    configuration = None if named is None else documents.get(CONFIGURATION, project_id, named)
    body = checks.validated(BACKUP_CREATE, data, "The backup is not valid.")
    if configuration is None:  # pragma: no cover (a body that loads names a valid id, read above)
        configuration = documents.get(CONFIGURATION, project_id, body["configuration_id"])
    agent_id = configurations.agent_of(configuration)
    jobs.require_scheduler(body["state"], agent_id, request.headers.get("X-Agent-Id"), "configuration's")
    rt, moment = runtime(), now()
    request_id = rt.new_id()
    document = jobs.new_backup(project_id, rt.new_id(), configuration, body["state"], moment, request_id)
    return _created(document, [jobs.job_event(document, body["state"], moment, request_id)])


@bp.post("/restores")
def start_restore(project_id: str) -> tuple[Response, int, dict[str, str]]:
    """Order: 401/403, 415, 413, 400 (not JSON), 404 (the backup, the destination agent), 400
    (the page's rules), 409 (a backup that is not completed)."""
    checks.authorize(project_id, Action.CREATE)
    checks.require_content_type(checks.JSON)
    data = checks.read_json()
    store = runtime().store
    named_backup = _named(data, "backup_id")
    backup = None if named_backup is None else store.documents.get(BACKUP, project_id, named_backup)
    named_agent = _named(data, "destination_agent_id")
    if named_agent is not None:
        store.get_agent(project_id, named_agent)
    body = checks.validated(RESTORE_CREATE, data, "The restore is not valid.")
    if backup is None:  # pragma: no cover (as above)
        backup = store.documents.get(BACKUP, project_id, body["backup_id"])
    jobs.require_restorable(backup)
    rt, moment = runtime(), now()
    request_id = rt.new_id()
    document = jobs.new_restore(project_id, rt.new_id(), backup, body, moment, request_id)
    vault = _vault(project_id, backup.parent or "")
    return _created(document, [jobs.job_event(document, "start_requested", moment, request_id, vault)])


@bp.post("/cleanups")
def start_cleanup(project_id: str) -> tuple[Response, int, dict[str, str]]:
    """Order: 401/403, 415, 413, 400 (not JSON), 404 (the agent), 400 (the page's rules, then
    `X-Agent-Id` for `start_scheduled`, as a backup's)."""
    checks.authorize(project_id, Action.CREATE)
    checks.require_content_type(checks.JSON)
    data = checks.read_json()
    named = _named(data, "agent_id")
    if named is not None:
        runtime().store.get_agent(project_id, named)
    body = checks.validated(CLEANUP_CREATE, data, "The cleanup is not valid.")
    agent_id = body["agent_id"]
    jobs.require_scheduler(body["state"], agent_id, request.headers.get("X-Agent-Id"), "cleanup's")
    rt, moment = runtime(), now()
    request_id = rt.new_id()
    document = jobs.new_cleanup(project_id, rt.new_id(), agent_id, body["state"], moment, request_id)
    vault = _vault(project_id, agent_id)
    return _created(document, [jobs.job_event(document, body["state"], moment, request_id, vault)])


def _restorable_page(query: Query) -> DocumentPage:
    """A page of the backups `query` selects that a restore may start from, read a page at a
    time past those it may not."""
    chosen: list[Document] = []
    marker = query.marker
    while True:
        read = Query(
            query.kind,
            query.project_id,
            where=query.where,
            descending=query.descending,
            marker=marker,
            limit=_READ_PAGE,
        )
        page = runtime().store.documents.query(read)
        for document in page.items:
            if document.body.get("restorable") is True:
                if len(chosen) == query.limit:
                    return DocumentPage(chosen, True)
                chosen.append(document)
        if not page.more or not page.items:
            return DocumentPage(chosen, False)
        marker = page.items[-1].id


def _links(page: DocumentPage, args: dict[str, Any], keep: dict[str, str]) -> list[dict[str, str]]:
    """`next` when more follow (after the last, the same way), `previous` when the request had
    a marker (before the first, the other way), as the activities lists; filters kept."""
    descending = args["sort_dir"] == "desc"

    def href(marker: str, desc: bool) -> str:
        params = {**keep, "marker": marker}
        if "limit" in request.args:
            params["limit"] = str(args["limit"])
        if not desc:
            params["sort_dir"] = "asc"
        return f"{request.base_url}?{urlencode(params)}"

    links = []
    if page.more and page.items:
        links.append({"href": href(page.items[-1].id, descending), "rel": "next"})
    if args.get("marker") is not None and page.items:
        links.append({"href": href(page.items[0].id, not descending), "rel": "previous"})
    return links


def list_jobs(project_id: str, collection: str) -> Response:
    """The project's jobs of a kind in creation order, newest first unless `sort_dir=asc`; the
    backups list takes `restorable=true` and, with it, `configuration_id` (its page)."""
    checks.authorize(project_id, Action.READ)
    kind = KINDS[collection]
    schema = BACKUP_LIST_QUERY if kind is BACKUP else JOB_LIST_QUERY
    args = checks.load_query(schema, "The list parameters are not valid.")
    restorable = args.get("restorable") == "true"
    keep: dict[str, str] = {}
    where: dict[str, str] = {}
    if restorable:
        keep["restorable"] = "true"
        if args.get("configuration_id") is not None:
            where["configuration_id"] = keep["configuration_id"] = args["configuration_id"]
    query = Query(
        kind,
        project_id,
        where=where,
        descending=args["sort_dir"] == "desc",
        marker=args.get("marker"),
        limit=args["limit"],
    )
    page = _restorable_page(query) if restorable else runtime().store.documents.query(query)
    host = host_url()
    return jsonify(
        {
            collection: [job_results.details_body(host, d) for d in page.items],
            "links": _links(page, args, keep),
        }
    )


def get_job(project_id: str, collection: str, job_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    document = runtime().store.documents.get(KINDS[collection], project_id, job_id)
    return jsonify(job_results.details_body(host_url(), document))


def job_errors(project_id: str, collection: str, job_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    document = runtime().store.documents.get(KINDS[collection], project_id, job_id)
    return jsonify(job_results.errors_body(host_url(), document))


def _completed_backup(document: Document) -> None:
    """SPEC: a completed backup sets its configuration's last completed (a configuration deleted
    meanwhile keeps its jobs and is not written)."""
    configuration_id = document.body.get("configuration_id")
    if not isinstance(configuration_id, str):
        return

    def change(configuration: Document) -> Document:
        return configurations.with_last_completed(configuration, document.id)

    try:
        update(runtime().store.documents, CONFIGURATION, document.project_id, configuration_id, change)
    except NotFound:
        return


def update_job(project_id: str, collection: str, job_id: str) -> Response:
    """The log-file PATCH's order: 401/403, 404, 415, 413, 400 (every problem), 409 (a final
    job: the page's message; a move back); all or nothing; a same-value retry writes nothing."""
    checks.authorize(project_id, Action.UPDATE)
    kind = KINDS[collection]
    store = runtime().store
    current = store.documents.get(kind, project_id, job_id)
    checks.require_content_type(checks.JSON_PATCH)
    operations = job_results.parse_patch(kind.name, checks.read_json())
    moment = now()
    result = job_results.patched(current, operations, moment)
    if result is current:
        return no_content()
    request_id = runtime().new_id()  # a stop request's

    def change(document: Document) -> Document:
        return job_results.patched(document, operations, moment, request_id)

    def emitted(before: Document, after: Document) -> list[Event]:
        return [
            jobs.job_event(after, state, moment, request_id)
            for state in job_results.entered(before, operations)
        ]

    written = update(store.documents, kind, project_id, job_id, change, emitted)
    if (
        kind is BACKUP
        and written.body.get("restorable") is True
        and current.body.get("restorable") is not True
    ):
        _completed_backup(written)
    return no_content()


def pending_work(project_id: str, agent_id: str, moment: datetime, room: int) -> list[Event]:
    """SPEC (ours): an agent's `startup` posts its jobs' requests still pending again, as new
    events with their request ids: a start not yet queued, a stop not yet answered; at most
    `room`, each kind's oldest first."""
    store = runtime().store
    found: list[Event] = []
    vaults: dict[str, dict[str, Any]] = {}

    def vault(document: Document) -> dict[str, Any] | None:
        owner = document.body.get("source_agent_id") if document.kind == RESTORE.name else document.parent
        if document.kind == BACKUP.name or not isinstance(owner, str):
            return None
        if owner not in vaults:
            try:
                vaults[owner] = _vault(project_id, owner)
            except NotFound:
                return None
        return vaults[owner]

    for kind in KINDS.values():
        for state in jobs.PENDING_STATES:
            if state not in jobs.table(kind.name).starts and state != jobs.STOP_REQUESTED:
                continue
            if len(found) >= room:
                return found
            page = store.documents.query(
                Query(kind, project_id, parent=agent_id, where={"state": state}, limit=room - len(found))
            )
            for document in page.items:
                event = jobs.pending_event(document, moment, vault(document))
                if event is not None:
                    found.append(event)
    return found


def _job_events(document: Document, query: EventQuery) -> EventPage:
    """The job's events: those of its agent's feed that name it, read a page at a time."""
    store = runtime().store
    since = events.oldest_kept(now())
    found: list[Event] = []
    marker = query.marker
    while True:
        read = EventQuery(limit=_READ_PAGE, marker=marker, descending=query.descending)
        page = store.list_events(document.project_id, document.parent, read, since)
        for event in page.items:
            if jobs.names_job(event, document.kind, document.id):
                found.append(event)
                if len(found) > query.limit:
                    return EventPage(found[: query.limit], True)
        if not page.more or not page.items:
            return EventPage(found, False)
        marker = page.items[-1].id


def job_events(project_id: str, collection: str, job_id: str) -> Response:
    """The job's events, oldest first unless `sort_dir=desc` (each kind's page)."""
    checks.authorize(project_id, Action.READ)
    document = runtime().store.documents.get(KINDS[collection], project_id, job_id)
    query: EventQuery = checks.load_query(EVENT_QUERY, "The event list parameters are not valid.")
    page = _job_events(document, query)
    return jsonify(
        {
            "events": [events.event_body(event) for event in page.items],
            "links": feed_links(query, page.items, "limit" in request.args),
        }
    )


def _routes() -> None:
    """Each kind's routes, with its own path parameter (`backup_id`...) as its pages name it, so
    that the OpenAPI document and the route table agree."""
    for collection, kind in KINDS.items():
        key = f"{kind.name}_id"
        item = f"/{collection}/<id:{key}>"

        def on(view: Any, key: str = key, collection: str = collection) -> Any:
            def answer(project_id: str, **path: str) -> Any:
                return view(project_id, collection, path[key])

            return answer

        def listed(collection: str = collection) -> Any:
            return lambda project_id: list_jobs(project_id, collection)

        bp.add_url_rule(f"/{collection}", f"list_{collection}", listed(), methods=["GET"])
        bp.add_url_rule(item, f"get_{kind.name}", on(get_job), methods=["GET"])
        bp.add_url_rule(item, f"update_{kind.name}", on(update_job), methods=["PATCH"])
        bp.add_url_rule(f"{item}/errors", f"{kind.name}_errors", on(job_errors), methods=["GET"])
        bp.add_url_rule(f"{item}/events", f"{kind.name}_events", on(job_events), methods=["GET"])


_routes()
