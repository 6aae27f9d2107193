"""Events: an agent's feed and its project's, and events posted by clients."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request

from .. import events
from ..auth import Action
from ..events import EventQuery
from ..model import LogFile
from ..schemas import (
    AGENT_EVENT,
    DEFAULT_LIMIT,
    EVENT_QUERY,
    MAX_LIMIT,
    MAX_MARKER_DIGITS,
    PROJECT_EVENT,
    PROJECT_EVENT_QUERY,
)
from . import checks, jobs, no_content, now, runtime
from .links import feed_links, object_url

bp = Blueprint("events", __name__, url_prefix="/v2/<id:project_id>")

_DIRECTIONS = {"asc": False, "desc": True}


def _query(descending_by_default: bool) -> EventQuery:
    """The feed's query: the feed's schema's, or 400 listing what is wrong with it.

    A poll, `?marker=<digits>` with at most a valid `sort_dir` beside it, is read here
    directly (what the schema makes of it, at a third of its cost); anything else, a bad
    marker included, goes through the schema.
    """
    args = request.args
    if len(args) <= 2:
        marker = args.get("marker")
        direction = args.get("sort_dir")
        if (
            marker is not None
            and len(args) == 1 + (direction is not None)
            and (direction is None or direction in _DIRECTIONS)
            and len(marker) <= MAX_MARKER_DIGITS
            and marker.isascii()
            and marker.isdigit()
        ):
            descending = descending_by_default if direction is None else _DIRECTIONS[direction]
            return EventQuery(limit=DEFAULT_LIMIT, marker=int(marker), descending=descending)
    schema = PROJECT_EVENT_QUERY if descending_by_default else EVENT_QUERY
    query: EventQuery = checks.load_query(schema, "The event list parameters are not valid.")
    return query


def _feed(project_id: str, agent_id: str | None) -> Response:
    """SPEC: the agent's feed is `asc` by default, the project's `desc` (each page says so)."""
    project_feed = agent_id is None
    query = _query(descending_by_default=project_feed)
    page = runtime().store.list_events(project_id, agent_id, query, events.oldest_kept(now()))
    return jsonify(
        {
            "events": [events.event_body(event, project_feed) for event in page.items],
            "links": feed_links(query, page.items, "limit" in request.args, project_feed),
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


def _logfiles(project_id: str, agent_id: str) -> Iterator[LogFile]:
    """The agent's log files in request order, read a page at a time."""
    store = runtime().store
    marker: str | None = None
    while True:
        page = store.list_logfiles(project_id, agent_id, MAX_LIMIT, marker)
        yield from page.items
        if not page.more or not page.items:
            return
        marker = page.items[-1].id


def _post(project_id: str, agent_id: str | None) -> Response:
    schema = PROJECT_EVENT if agent_id is None else AGENT_EVENT
    body = checks.load_json(schema, "The event is not valid.")
    rt = runtime()
    moment = now()
    made = events.posted(project_id, agent_id, moment, body, rt.new_id())
    batch = [] if made is None else [made]
    if agent_id is not None and body["event"] == events.STARTUP:
        settings = rt.settings
        batch += events.pending_work(
            _logfiles(project_id, agent_id), lambda logfile: object_url(settings, logfile), moment
        )
        batch += jobs.pending_work(project_id, agent_id, moment, events.MAX_PENDING_REPOSTED)
    if batch:
        rt.store.add_events(batch)
    if agent_id is not None:
        rt.store.touch_agent(project_id, agent_id, moment)
    return no_content(202)


@bp.post("/agents/<id:agent_id>/events", endpoint="post_agent_event")
@bp.post("/events", endpoint="post_project_event")
def post_event(project_id: str, agent_id: str | None = None) -> Response:
    """An event the agent (or, with no agent, the project) posts."""
    _allow(project_id, agent_id, Action.UPDATE)
    return _post(project_id, agent_id)
