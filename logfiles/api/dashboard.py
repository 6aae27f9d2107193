"""The dashboard under /_control/dashboard: a page for a person, over the control plane's own routes.

The page (`GET /_control/dashboard`) and its static files answer without the control token,
so that the page can ask for it; every fragment below needs it, checked by the control
plane's own `require_control_token`. Fragments are HTML rendered by Jinja2 (autoescaped)
from the same store reads the control plane's JSON routes make; the page fetches them and
inserts them. Every action the page offers is a request to an existing route (`/_control/...`
or `/v2/...`), never a second implementation here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request
from marshmallow import RAISE, Schema, fields, validate

from .. import dashboard
from ..dashboard import configurations, states, timeline
from ..documents import Query
from ..errors import Invalid, NotFound
from ..kinds import CONFIGURATION
from ..model import LogFileState, format_time
from ..schemas import FAULT_RULE, JOURNAL_QUERY, MAX_ID_LENGTH, MAX_LIMIT, QueryInteger
from ..store.base import no_states
from . import checks, control, now, runtime

HERE = Path(dashboard.__file__).resolve().parent
bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/_control/dashboard",
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)

AGENTS_PER_PAGE = 20
LOGFILES_PER_PAGE = 25
CONFIGURATIONS_SHOWN = 50
TAIL_ROWS = 100
# The page's own files only: no inline script, no other origin (the sandbox may have no
# internet, and a journal entry that escaped its escaping could still run nothing).
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
UNGUARDED = frozenset({"dashboard.page", "dashboard.static"})


@bp.before_request
def require_token_for_fragments() -> None:
    """The control plane's own check, on everything but the page shell and its static files."""
    if request.endpoint not in UNGUARDED:
        control.require_control_token()


@bp.after_request
def protect(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _limit(default: int) -> QueryInteger:
    return QueryInteger(
        load_default=default,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be an integer from 1 to {MAX_LIMIT}"),
    )


_ID = validate.Length(min=1, max=MAX_ID_LENGTH)


class AgentsQuerySchema(Schema):
    """The agents fragment: a page of agents (of one project, or of all), and a chosen agent."""

    class Meta:
        unknown = RAISE

    project = fields.String(validate=_ID)
    agent = fields.String(validate=_ID)
    marker = fields.String(validate=_ID)
    limit = _limit(AGENTS_PER_PAGE)


class LogfilesQuerySchema(Schema):
    """The log-files fragment: one page of one agent's log files (the store's keyset paging)."""

    class Meta:
        unknown = RAISE

    project = fields.String(required=True, validate=_ID)
    agent = fields.String(required=True, validate=_ID)
    marker = fields.String(validate=_ID)
    limit = _limit(LOGFILES_PER_PAGE)


class TailQuerySchema(Schema):
    """The live tail's own parameters; the rest of its query is the journal API's filter."""

    class Meta:
        unknown = RAISE

    after = QueryInteger(validate=validate.Range(min=0))
    limit = _limit(TAIL_ROWS)


class TimelineQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    minutes = QueryInteger(load_default=5, validate=validate.OneOf(timeline.WINDOWS_MINUTES))
    bucket = QueryInteger(validate=validate.OneOf(timeline.BUCKET_SECONDS))


AGENTS_QUERY = AgentsQuerySchema()
LOGFILES_QUERY = LogfilesQuerySchema()
TAIL_QUERY = TailQuerySchema()
TIMELINE_QUERY = TimelineQuerySchema()
TAIL_PARAMETERS = ("after", "limit")


def fragment(template: str, **context: Any) -> Response:
    return Response(render_template(f"dashboard/{template}", **context), mimetype="text/html")


@bp.get("")
def page() -> str:
    """The shell: tabs, forms and empty panels that the page's script fills with fragments."""
    settings = runtime().settings
    return render_template(
        "dashboard/page.html",
        token_required=settings.control_token is not None,
        journal_size=settings.journal_size,
        windows=timeline.WINDOWS_MINUTES,
    )


# Agents and their log files.


@bp.get("/agents")
def agents() -> Response:
    """A page of agents with their counts per state, and the state machine with the counts
    of the chosen agent, else of the project, else of everything."""
    query = checks.load_query(AGENTS_QUERY, "The agents filter is not valid.")
    project, agent = query.get("project"), query.get("agent")
    if agent is not None and project is None:
        raise Invalid("The agents filter is not valid.", ["agent: needs its project"])
    store = runtime().store
    limit, marker = query["limit"], query.get("marker")
    page = store.list_agents(project, limit, marker) if project else store.list_all_agents(limit, marker)
    counts = {}
    for each in page.items:
        try:
            counts[each.id] = store.count_states(each.project_id, each.id)
        except NotFound:  # deleted since the page was read: shown with nothing counted
            counts[each.id] = no_states()
    scope = _scope_counts(counts, project, agent, marker is None and not page.more)
    if scope is None:
        scope = store.count_states(project, agent)
    nodes, edges = states.layout(scope)
    return fragment(
        "agents.html",
        agents=page.items,
        more=page.more,
        counts=counts,
        project=project,
        selected=agent,
        nodes=nodes,
        edges=edges,
        total=sum(scope.values()),
        machine=states,
        states=list(LogFileState),
    )


def _scope_counts(
    counts: dict[str, dict[LogFileState, int]], project: str | None, agent: str | None, whole: bool
) -> dict[LogFileState, int] | None:
    """The state machine's counts from the page's, when the page holds them all (the chosen
    agent, or every agent of the scope): one pass over the log files rather than two."""
    if agent is not None:
        return counts.get(agent)
    if not whole:
        return None
    summed = no_states()
    for each in counts.values():
        for state, count in each.items():
            summed[state] += count
    return summed


@bp.get("/logfiles")
def logfiles() -> Response:
    """One page of an agent's log files: the store's keyset paging, whatever their number."""
    query = checks.load_query(LOGFILES_QUERY, "The log files filter is not valid.")
    store = runtime().store
    page = store.list_logfiles(query["project"], query["agent"], query["limit"], query.get("marker"))
    # Beside them, the agent's configurations (their documents), the first few.
    found = store.documents.query(
        Query(CONFIGURATION, query["project"], parent=query["agent"], limit=CONFIGURATIONS_SHOWN)
    )
    return fragment(
        "logfiles.html",
        logfiles=page.items,
        more=page.more,
        project=query["project"],
        agent=query["agent"],
        configurations=[configurations.row(document, now()) for document in found.items],
        more_configurations=found.more,
        schedule_length=configurations.MAX_SCHEDULE_TEXT,
    )


# The request journal: the live tail, one entry, the timeline.


@bp.get("/requests")
def requests() -> Response:
    """The newest entries (after `after`, a seq) that the journal API's filter selects, newest
    first; `X-Last-Seq` is the journal's newest number, where the next poll starts."""
    args = request.args.to_dict(flat=True)
    own = {name: args.pop(name) for name in TAIL_PARAMETERS if name in args}
    message = "The journal filter is not valid."
    paging = checks.validated(TAIL_QUERY, own, message)
    selected = checks.validated(JOURNAL_QUERY, args, message)
    after = paging.get("after", 0)
    journal = runtime().store.list_requests(after=after)  # a poll reads only what is new
    last_seq = max(after, journal[-1].seq) if journal else after
    entries = selected.apply(journal)
    shown = entries[-paging["limit"] :][::-1]
    response = fragment("requests.html", entries=shown, status_class=timeline.status_class)
    response.headers["X-Last-Seq"] = str(last_seq)
    return response


MAX_SEQ_DIGITS = 18


@bp.get("/requests/<seq>")
def request_detail(seq: str) -> Response:
    """One entry's headers, body and answer (JSON indented); the tail shows only its line."""
    if not (seq.isascii() and seq.isdigit() and len(seq) <= MAX_SEQ_DIGITS):
        raise Invalid("The journal entry number is not valid.", [f"seq: not 1 to {MAX_SEQ_DIGITS} digits"])
    number = int(seq)
    found = next(iter(runtime().store.list_requests(after=number - 1, limit=1)), None)
    if found is None or found.seq != number:
        raise NotFound(
            "The journal entry does not exist.",
            [f"seq: no entry {number} in the journal (cleared, or dropped from its ring)"],
        )
    return fragment(
        "request.html",
        entry=found,
        body=_shown_body(found.body),
        answer=None if found.response_body is None else _shown_body(found.response_body),
        status_class=timeline.status_class,
    )


def _shown_body(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return body


@bp.get("/timeline")
def timeline_picture() -> Response:
    """Requests per second by status class over the last minutes of the service clock."""
    query = checks.load_query(TIMELINE_QUERY, "The timeline query is not valid.")
    minutes = query["minutes"]
    bucket = query.get("bucket") or timeline.default_bucket(minutes)
    entries = ((entry.time, entry.status) for entry in runtime().store.list_requests())
    picture = timeline.build(entries, now(), minutes, bucket)
    return fragment(
        "timeline.html", timeline=picture, minutes=minutes, classes=timeline.CLASSES, geometry=timeline
    )


# Fault rules and the clock.


@bp.get("/faults")
def faults() -> Response:
    """The rules as `GET /_control/faults` shows them (the same schema's dump)."""
    rules = FAULT_RULE.dump(runtime().store.list_faults(), many=True)
    return fragment("faults.html", rules=rules)


@bp.get("/clock")
def clock() -> Response:
    setting = runtime().store.get_clock()
    return fragment(
        "clock.html",
        now=setting.now(),
        frozen=setting.frozen_at is not None,
        offset=setting.offset.total_seconds(),
    )


@bp.app_template_filter("iso")
def iso(moment: datetime | None) -> str:
    """Times as the API writes them."""
    return "" if moment is None else format_time(moment)


@bp.app_template_filter("truncate_time")
def truncate_time(iso_time: str) -> str:
    """`HH:MM:SS.mmm` of an ISO time, for the tail's narrow column (the whole time is its title)."""
    return iso_time[11:23]
