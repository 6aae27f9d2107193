"""The control plane under /_control/: reset, state, journal, faults, clock (moto's /moto-api/)."""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, fields

from ..clock import REAL_TIME, ClockCommand, ClockSetting
from ..config import bind_address
from ..errors import Conflict, Forbidden, Invalid, TimedOut, Unauthorized
from ..faults import ACTIONS
from ..journal import JournalEntry, JournalFilter, clip
from ..kinds import ALL_KINDS
from ..model import format_time
from ..pacing import Pause, pieces
from ..schemas import (
    CLOCK_COMMAND,
    FAULT_RULE,
    JOURNAL_QUERY,
    JOURNAL_WAIT,
    STATE_DOCUMENT,
)
from ..seeding import Seed, build_seed
from ..state_document import read_state_document
from ..store.base import check_events, check_import
from ..store.documents import check_documents_import
from . import checks, no_content, now, runtime
from .links import host_url
from .wire import client_socket

bp = Blueprint("control", __name__, url_prefix="/_control")

# Seeding documents may be far larger than the contract's 1 MiB bodies.
CONTROL_MAX_BODY = 256 * 1024 * 1024
# The answer to a seed lists at most this many new log-file ids (bulk `generate` makes more).
MAX_LISTED_IDS = 1000


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_request
def require_control_token() -> None:
    """The control token when one is set; and, for a change, no other site's page.

    A browser sends a form POST to any origin without asking first, so a page elsewhere could
    reset an open control plane: a change the browser marks `Sec-Fetch-Site: cross-site`, or
    whose `Origin` is not this server's, is refused (403); `Origin: null` (a sandboxed page,
    an object the object store served) is never this server's. Clients that are not browsers
    (curl, the CLI, test suites) send neither header.
    """
    if request.method not in SAFE_METHODS:
        problem = foreign_page()
        if problem is not None:
            raise Forbidden("The control plane takes no changes from another site's page.", [problem])
    expected = runtime().settings.control_token
    given = request.headers.get("X-Control-Token", "")
    if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("The control plane needs its token.", ["X-Control-Token: missing or wrong"])


def foreign_page() -> str | None:
    """Why this request comes from a page that is not this server's own, or None.

    The request's own `Host` proves nothing: a page on `evil.example` whose name the attacker
    then points at this server (DNS rebinding) sends `Host` and `Origin` that agree. So, when
    no control token guards the plane, the `Origin` must also name this server by a name no
    one else can point here: see `is_own_host`. With a token the page needs it as well, and a
    page on another name never has it (its storage is that origin's), so any name then does.
    """
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return "Sec-Fetch-Site: cross-site (the browser says another site's page sent it)"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    own = host_url()
    if origin != own:
        return f"Origin: '{clip(origin, 64)}' is not this server's ({clip(own, 64)})"
    settings = runtime().settings
    if settings.control_token is None and not is_own_host(request.host, bind_address(settings.bind)[0]):
        return (
            f"Host: '{clip(request.host, 64)}' is not a name of this server: without "
            "LOGFILES_CONTROL_TOKEN a page may change the control plane only from localhost, "
            "an IP address or LOGFILES_BIND's host"
        )
    return None


def is_own_host(host: str, bind_host: str) -> bool:
    """Whether `host` (a Host header's value, with or without its port) names this server
    beyond a doubt: `localhost` or a `*.localhost` name (browsers resolve them to the
    loopback themselves), an IP address (a page's origin is then the address the browser
    connected to: there is no name to point elsewhere), or the host LOGFILES_BIND names.
    """
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if ":" in host else host
    name = name.lower().removesuffix(".")
    if name == "localhost" or name.endswith(".localhost") or name == bind_host.lower():
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def load(schema: Schema, what: str) -> Any:
    """A control operation's JSON body, validated; its own, larger size limit."""
    return checks.load_json(schema, f"The {what} is not valid.", CONTROL_MAX_BODY)


@bp.post("/reset")
def reset() -> Response:
    """Forget everything (204); with a state document as the body, then seed it (200, as
    POST /_control/state answers): a test's whole set-up in one call.

    The document is read and checked before anything is forgotten, so a bad one is a 400
    that leaves the store as it was. Its default dates are real time: the clock is reset too.
    """
    rt = runtime()
    if not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", ""):
        rt.store.reset()
        return no_content()
    checks.require_content_type(checks.JSON)
    document = read_state_document(checks.read_body(CONTROL_MAX_BODY), rt.pause)
    seed = build_seed(document, REAL_TIME.now(), rt.new_id, None, rt.pause)
    # What the store would check, on an empty store: only the document's own clashes.
    check_import(seed.agents, seed.logfiles, frozenset(), frozenset(), rt.pause)
    check_events(seed.events, {agent.id for agent in seed.agents}, frozenset(), frozenset())
    agents = {agent.id: agent.project_id for agent in seed.agents}
    check_documents_import(ALL_KINDS, seed.documents, True, None, agents)
    rt.store.reset()
    return _seeded(seed, replace=True)


# State: export, replace, add.


# The export's members, in the order jsonify wrote them (sorted), each with its item schema:
# the state document's own members (`generate` is load-only, so the export has none).
def _item_schema(member: fields.Field[Any]) -> Schema:
    if not (isinstance(member, fields.List) and isinstance(member.inner, fields.Nested)):
        raise TypeError(f"a state document member is a list of one schema, not {member!r}")
    return member.inner.schema


_EXPORT_SCHEMAS: dict[str, Schema] = {
    name: _item_schema(member) for name, member in sorted(STATE_DOCUMENT.dump_fields.items())
}


@bp.get("/state")
def export_state() -> Response:
    """Everything, in the form PUT and POST take back (the same schemas both ways).

    Streamed a piece at a time (pacing.py): millions of log files dumped at once would keep
    the worker from every other request, and its heartbeat, past gunicorn's timeout. What is
    exported is read from the store before the answer starts, so a storage failure is still
    a 503 with the fault body.
    """
    rt = runtime()
    snapshot = rt.store.export_state(rt.pause)
    members: dict[str, Sequence[Any]] = {
        "agents": snapshot.agents,
        "documents": snapshot.documents,
        "events": snapshot.events,
        "logfiles": snapshot.logfiles,
        "objects": [dataclasses.asdict(info) for info in rt.store.export_objects()],
    }
    return Response(_export_text(members, current_app.json.dumps, rt.pause), mimetype="application/json")


def _export_text(members: dict[str, Sequence[Any]], dumps: Any, pause: Pause) -> Iterator[str]:
    """The export document's text, one piece of items at a time."""
    yield "{"
    for index, (name, items) in enumerate(members.items()):
        yield f"{',' if index else ''}{json.dumps(name)}:["
        for count, piece in enumerate(pieces(items, pause)):
            text = dumps(_EXPORT_SCHEMAS[name].dump(piece, many=True))
            yield ("," if count else "") + text[1:-1]
        yield "]"
    yield "}\n"


def _import(replace: bool) -> Response:
    checks.require_content_type(checks.JSON)
    rt = runtime()
    document = read_state_document(checks.read_body(CONTROL_MAX_BODY), rt.pause)
    # Replacing, the store's agents do not count; adding, only the ones the document names.
    seed = build_seed(document, now(), rt.new_id, None if replace else rt.store.agent_projects, rt.pause)
    return _seeded(seed, replace)


def _seeded(seed: Seed, replace: bool) -> Response:
    """Keep a built seed; the ids made and the counts, as POST /_control/state answers."""
    rt = runtime()
    if seed.objects:
        # Before anything changes: a seed past the memory store's quota is a 413 that seeds nothing.
        rt.store.check_seed_room(seed.objects)
    rt.store.import_state(
        seed.agents,
        seed.logfiles,
        replace=replace,
        events=seed.events,
        pause=rt.pause,
        documents=seed.documents,
    )
    # After the import's checks: a document refused for a taken id seeds no object either.
    if seed.objects:
        rt.store.seed_objects(seed.objects)
    listed = seed.logfiles[:MAX_LISTED_IDS]
    return jsonify(
        {
            "agents": [{"id": a.id, "project_id": a.project_id} for a in seed.agents],
            "logfiles": [{"id": lf.id, "agent_id": lf.agent_id} for lf in listed],
            "counts": {
                "agents": len(seed.agents),
                "logfiles": len(seed.logfiles),
                "events": len(seed.events),
                "objects": len(seed.objects),
                "documents": len(seed.documents),
            },
        }
    )


@bp.put("/state")
def replace_state() -> Response:
    """Swap everything for the document (journal, faults and clock stay)."""
    return _import(replace=True)


@bp.post("/state")
def add_state() -> Response:
    """Add the document's agents and log files to what is there (seeding)."""
    return _import(replace=False)


# The request journal.


def _entry_body(entry: JournalEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "time": format_time(entry.time),
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "headers": dict(entry.headers),
        "body": entry.body,
        "status": entry.status,
        "fault": entry.fault,
        "latency_ms": entry.latency_ms,
        "response_bytes": entry.response_bytes,
        "response_body": entry.response_body,
    }


@bp.get("/requests")
def list_requests() -> Response:
    selection: JournalFilter = checks.load_query(JOURNAL_QUERY, "The journal filter is not valid.")
    selected = selection.apply(runtime().store.list_requests(after=selection.after or 0))
    return jsonify({"requests": [_entry_body(entry) for entry in selected]})


@bp.get("/requests/wait")
def wait_for_request() -> Response:
    """The oldest entry the filter selects, as soon as there is one (logfiles/waiting.py);
    408 when `timeout` runs out. Sleeps without holding the worker or a store connection."""
    selection, timeout = checks.load_query(JOURNAL_WAIT, "The wait is not valid.")
    rt = runtime()
    if rt.settings.journal_size == 0:
        raise Conflict(
            "No request can be waited for: the journal is off.",
            ["LOGFILES_JOURNAL_SIZE: 0, so no request is journaled"],
        )
    found = rt.journal_watch.wait(selection, timeout)
    if found is None:
        raise TimedOut(
            "No request the filter selects was journaled in time.",
            [f"timeout: none within {timeout:g} s ({describe_filter(selection)})"],
        )
    return jsonify(_entry_body(found))


def describe_filter(selection: JournalFilter) -> str:
    """The filter as its query parameters, for a message: `method=PATCH, after=12`."""
    shown = [
        f"{name}={format_time(value) if isinstance(value, datetime) else clip(str(value), 64)}"
        for name, value in dataclasses.asdict(selection).items()
        if value is not None
    ]
    return ", ".join(shown) or "any request"


@bp.delete("/requests")
def clear_requests() -> Response:
    runtime().store.clear_requests()
    return no_content()


# Fault rules.


@bp.post("/faults")
def add_fault() -> tuple[Response, int]:
    rule = dataclasses.replace(load(FAULT_RULE, "fault rule"), id=runtime().new_id())
    if ACTIONS[rule.action].refused_without_socket and client_socket(request.environ) is None:
        # The service is served the way this request is: the rule could never act.
        raise Invalid(
            "This server cannot carry out that fault rule.",
            [
                f"action: '{rule.action}' needs the client's connection, which this server does not "
                "give the application (Flask's test client?); serve the stub with gunicorn, "
                "`logfiles-stub serve` or the pytest plugin"
            ],
        )
    runtime().store.add_fault(rule)
    return jsonify(FAULT_RULE.dump(rule)), 201


@bp.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": FAULT_RULE.dump(runtime().store.list_faults(), many=True)})


@bp.delete("/faults/<fault_id>")
def delete_fault(fault_id: str) -> Response:
    runtime().store.delete_fault(fault_id)
    return no_content()


@bp.delete("/faults")
def clear_faults() -> Response:
    runtime().store.clear_faults()
    return no_content()


# The clock.


def _clock_body(setting: ClockSetting) -> Response:
    return jsonify(
        {
            "now": format_time(setting.now()),
            "frozen": setting.frozen_at is not None,
            "offset_seconds": setting.offset.total_seconds(),
        }
    )


@bp.get("/clock")
def get_clock() -> Response:
    return _clock_body(runtime().store.get_clock())


@bp.post("/clock")
def set_clock() -> Response:
    command: ClockCommand = load(CLOCK_COMMAND, "clock command")
    store = runtime().store
    setting = command.apply(store.get_clock())
    store.set_clock(setting)
    return _clock_body(setting)
