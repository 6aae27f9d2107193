"""Events: an agent's feed and its project's, and events posted by clients."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .. import events
from ..auth import Action
from ..events import EventQuery
from ..schemas import DEFAULT_LIMIT, EVENT_QUERY, MAX_MARKER_DIGITS, POSTED_EVENT
from . import checks, no_content, now, runtime
from .links import feed_links

bp = Blueprint("events", __name__, url_prefix="/v2/<id:project_id>")


def _query() -> EventQuery:
    """The feed's query: EVENT_QUERY's, or 400 listing what is wrong with it.

    An agent's poll, `?marker=<digits>` and nothing else, is read here directly (what
    EVENT_QUERY makes of it, at a third of the schema's cost); anything else, a bad marker
    included, goes through the schema.
    """
    args = request.args
    if len(args) == 1:
        marker = args.get("marker")
        if marker is not None and len(marker) <= MAX_MARKER_DIGITS and marker.isascii() and marker.isdigit():
            return EventQuery(limit=DEFAULT_LIMIT, marker=int(marker))
    query: EventQuery = checks.load_query(EVENT_QUERY, "The event list parameters are not valid.")
    return query


def _feed(project_id: str, agent_id: str | None) -> Response:
    query = _query()
    page = runtime().store.list_events(project_id, agent_id, query, events.oldest_kept(now()))
    return jsonify(
        {
            "events": [events.event_body(event) for event in page.items],
            "links": feed_links(query, page.items, "limit" in request.args),
        }
    )


def _allow(project_id: str, agent_id: str | None, action: Action) -> None:
    """401/403 for the project, then 404 for an agent that is not in it (an agent's feed)."""
    checks.authorize(project_id, action)
    if agent_id is not None:
        runtime().store.get_agent(project_id, agent_id)


@bp.get("/agents/<id:agent_id>/events", endpoint="agent_events")
@bp.get("/events", endpoint="project_events")
def feed(project_id: str, agent_id: str | None = None) -> Response:
    """An agent's feed, or (with no agent) its project's."""
    _allow(project_id, agent_id, Action.READ)
    return _feed(project_id, agent_id)


def _post(project_id: str, agent_id: str | None) -> Response:
    body = checks.load_json(POSTED_EVENT, "The event is not valid.")
    rt = runtime()
    moment = now()
    rt.store.add_events([events.posted(project_id, agent_id, moment, body, rt.new_id())])
    if agent_id is not None:
        rt.store.touch_agent(project_id, agent_id, moment)
    return no_content(202)


@bp.post("/agents/<id:agent_id>/events", endpoint="post_agent_event")
@bp.post("/events", endpoint="post_project_event")
def post_event(project_id: str, agent_id: str | None = None) -> Response:
    """An event the agent (or, with no agent, the project) posts."""
    _allow(project_id, agent_id, Action.UPDATE)
    return _post(project_id, agent_id)
