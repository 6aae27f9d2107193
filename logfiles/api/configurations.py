"""Backup configurations: create, list (a project's, an agent's), details, update (JSON Patch),
delete, a configuration's events, and the agent's whole configuration document.

Thin, as the other blueprints: the checks in SPEC order, the body through the core
(configurations.py, which loads it through its schema), the store's documents, the answer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from .. import agent_settings, configurations, events
from ..auth import Action
from ..documents import Document, DocumentPage, Query
from ..errors import UnsupportedMediaType
from ..kinds import CONFIGURATION
from ..model import Agent, agent_vault
from ..schemas import MAX_ID_LENGTH, PAGE_QUERY
from ..schemas.configurations import CONFIGURATION_EVENT_QUERY, CONFIGURATION_LIST_QUERY
from ..store.documents import update
from . import checks, no_content, now, runtime
from .links import feed_links, host_url, vault_links

bp = Blueprint("configurations", __name__, url_prefix="/v2/<id:project_id>")
# A whole agent's configurations are read in pages of this many (the document's bound, 1 MiB,
# keeps them few).
_READ_PAGE = 1000


def _agent_configurations(project_id: str, agent_id: str) -> list[Document]:
    """Every configuration of the agent, in creation order."""
    found: list[Document] = []
    marker: str | None = None
    while True:
        page = runtime().store.documents.query(
            Query(CONFIGURATION, project_id, parent=agent_id, marker=marker, limit=_READ_PAGE)
        )
        found.extend(page.items)
        if not page.more:
            return found
        marker = page.items[-1].id


def _agent_document(agent: Agent, documents: list[Document]) -> dict[str, Any]:
    settings = runtime().settings
    vault = agent_vault(agent, settings.region)
    shown = agent_settings.vault_entry(vault, vault_links(settings, agent.project_id, vault.name), host_url())
    return agent_settings.agent_document(agent, shown, documents, host_url(), now())


def _check_size(agent: Agent, document: Document) -> None:
    """400 if the agent's configuration document with `document` (new or changed) passes 1 MiB."""
    others = [d for d in _agent_configurations(agent.project_id, agent.id) if d.id != document.id]
    agent_settings.check_document_size(_agent_document(agent, [*others, document]))


def _changed(document: Document, request_id: str) -> list[events.Event]:
    return [
        events.configuration_changed(
            document.project_id, configurations.agent_of(document), document.id, now(), request_id
        )
    ]


@bp.post("/configurations")
def create_configuration(project_id: str) -> tuple[Response, int, dict[str, str]]:
    """Order: 401/403, 415, 413, 400 (not JSON), 404 (the agent the body names), 400 (the
    page's rules, every problem listed), 400 (the agent's document past 1 MiB)."""
    checks.authorize(project_id, Action.CREATE)
    checks.require_content_type(checks.JSON)
    data = checks.read_json()
    store = runtime().store
    agent_id = data.get("agent_id") if isinstance(data, dict) else None
    agent = None
    if isinstance(agent_id, str) and 0 < len(agent_id) <= MAX_ID_LENGTH:
        agent = store.get_agent(project_id, agent_id)
    body = configurations.load(data, now())
    if agent is None:  # pragma: no cover (a body that loads names a valid agent id, read above)
        agent = store.get_agent(project_id, body["agent_id"])
    rt = runtime()
    document = configurations.new_configuration(project_id, rt.new_id(), body)
    _check_size(agent, document)
    stored = store.documents.create(CONFIGURATION, document, _changed(document, rt.new_id()))
    shown = configurations.created_body(host_url(), stored, now())
    location = configurations.configuration_url(host_url(), project_id, stored.id)
    return jsonify(shown), 201, {"Location": location}


def _list_body(page: DocumentPage, items: list[Document], limit: int, restorable: str | None) -> Response:
    host, moment = host_url(), now()
    body: dict[str, Any] = {"configurations": [configurations.list_item(host, d, moment) for d in items]}
    if page.more:
        query = {"limit": limit, "marker": items[-1].id}
        if restorable is not None:
            query["restorable"] = restorable
        body["links"] = [{"href": f"{request.base_url}?{urlencode(query)}", "rel": "next"}]
    return jsonify(body)


def _filtered(query: Query, keep: bool) -> tuple[DocumentPage, list[Document]]:
    """A page of the configurations `query` selects that have a completed backup (`keep`),
    read a page at a time past those that have none."""
    if not keep:
        page = runtime().store.documents.query(query)
        return page, page.items
    chosen: list[Document] = []
    marker = query.marker
    while True:
        read = Query(query.kind, query.project_id, parent=query.parent, marker=marker, limit=_READ_PAGE)
        page = runtime().store.documents.query(read)
        for document in page.items:
            if configurations.restorable(document):
                if len(chosen) == query.limit:
                    return DocumentPage(chosen, True), chosen
                chosen.append(document)
        if not page.more:
            return DocumentPage(chosen, False), chosen
        marker = page.items[-1].id


@bp.get("/configurations")
def list_configurations(project_id: str) -> Response:
    """The project's configurations in creation order; `restorable=true`: only those with a
    completed backup."""
    checks.authorize(project_id, Action.READ)
    args = checks.load_query(CONFIGURATION_LIST_QUERY, "The list parameters are not valid.")
    query = Query(CONFIGURATION, project_id, marker=args.get("marker"), limit=args["limit"])
    page, items = _filtered(query, args.get("restorable") == "true")
    return _list_body(page, items, args["limit"], args.get("restorable"))


@bp.get("/agents/<agent:agent_id>/configurations")
def list_agent_configurations(project_id: str, agent_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    runtime().store.get_agent(project_id, agent_id)
    args = checks.load_query(PAGE_QUERY, "The list parameters are not valid.")
    query = Query(CONFIGURATION, project_id, parent=agent_id, marker=args.get("marker"), limit=args["limit"])
    page = runtime().store.documents.query(query)
    return _list_body(page, page.items, args["limit"], None)


@bp.get("/agents/<agent:agent_id>/configuration")
def agent_configuration(project_id: str, agent_id: str) -> Response:
    """The agent's whole configuration: what it reads when told `configuration_changed`."""
    checks.authorize(project_id, Action.READ)
    agent = runtime().store.get_agent(project_id, agent_id)
    return jsonify(_agent_document(agent, _agent_configurations(project_id, agent_id)))


@bp.get("/configurations/<id:configuration_id>")
def get_configuration(project_id: str, configuration_id: str) -> Response:
    checks.authorize(project_id, Action.READ)
    document = runtime().store.documents.get(CONFIGURATION, project_id, configuration_id)
    return jsonify(configurations.details_body(host_url(), document, now()))


def _require_patch_type() -> None:
    """SPEC: a configuration's PATCH takes application/json-patch+json and application/json."""
    if request.mimetype not in (checks.JSON_PATCH, checks.JSON):
        shown = request.headers.get("Content-Type") or "none"
        raise UnsupportedMediaType(
            f"The request body must be sent as {checks.JSON_PATCH} (or {checks.JSON}).",
            [f"Content-Type: '{shown}' is not {checks.JSON_PATCH} or {checks.JSON}"],
        )


@bp.patch("/configurations/<id:configuration_id>")
def update_configuration(project_id: str, configuration_id: str) -> Response:
    """The log-file PATCH's order: 401/403, 404, 415, 413, 400 (the document, then the whole
    result by the create rules, then the 1 MiB document); all or nothing; a change that
    changes nothing writes nothing and emits nothing."""
    checks.authorize(project_id, Action.UPDATE)
    store = runtime().store
    current = store.documents.get(CONFIGURATION, project_id, configuration_id)
    _require_patch_type()
    operations = configurations.parse_patch(checks.read_json())
    moment = now()

    def change(document: Document) -> Document:
        return configurations.patched(document, operations, moment)

    result = change(current)
    if result is current:
        return no_content()
    _check_size(store.get_agent(project_id, configurations.agent_of(current)), result)
    request_id = runtime().new_id()
    update(
        store.documents,
        CONFIGURATION,
        project_id,
        configuration_id,
        change,
        lambda _before, after: _changed(after, request_id),
    )
    return no_content()


@bp.delete("/configurations/<id:configuration_id>")
def delete_configuration(project_id: str, configuration_id: str) -> Response:
    """SPEC: later GETs are 404; its jobs stay. The agent hears `configuration_changed`."""
    checks.authorize(project_id, Action.DELETE)
    documents = runtime().store.documents
    current = documents.get(CONFIGURATION, project_id, configuration_id)
    documents.delete(
        CONFIGURATION, project_id, configuration_id, events=_changed(current, runtime().new_id())
    )
    return no_content()


@bp.get("/configurations/<id:configuration_id>/events")
def configuration_events(project_id: str, configuration_id: str) -> Response:
    """The events naming the configuration, newest first unless `sort_dir=asc` (the page)."""
    checks.authorize(project_id, Action.READ)
    store = runtime().store
    store.documents.get(CONFIGURATION, project_id, configuration_id)
    query = checks.load_query(CONFIGURATION_EVENT_QUERY, "The event list parameters are not valid.")
    page = store.configuration_events(project_id, configuration_id, query, events.oldest_kept(now()))
    return jsonify(
        {
            "events": [events.event_body(event) for event in page.items],
            "links": feed_links(query, page.items, "limit" in request.args, descending_by_default=True),
        }
    )
