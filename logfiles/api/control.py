"""The control plane under /_control/ (reset, state, journal, faults, clock) and the /v2 hooks it drives."""

from __future__ import annotations

import contextlib
import hmac
import socket
import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from marshmallow import Schema

from ..clock import REAL_TIME, ClockSetting
from ..config import MAX_BODY_BYTES
from ..errors import Invalid, Unauthorized
from ..faults import FaultAction, FaultRule
from ..journal import JournalEntry, JournalFilter, body_text, recorded_headers
from ..model import format_time, parse_time
from ..schemas import (
    CLOCK_COMMAND,
    FAULT_RULE,
    STATE_DOCUMENT,
)
from ..seeding import build_seed
from . import checks, no_content, now, runtime
from .errors import HTTP_MESSAGES, fault_response

bp = Blueprint("control", __name__, url_prefix="/_control")

# Seeding documents may be far larger than the contract's 1 MiB bodies.
CONTROL_MAX_BODY = 256 * 1024 * 1024
# The answer to a seed lists at most this many new log-file ids (bulk `generate` makes more).
MAX_LISTED_IDS = 1000


@bp.before_request
def require_control_token() -> None:
    expected = runtime().settings.control_token
    given = request.headers.get("X-Control-Token", "")
    if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("The control plane needs its token.", ["X-Control-Token: missing or wrong"])


def load(schema: Schema, what: str) -> Any:
    """A control operation's JSON body, validated; its own, larger size limit."""
    return checks.load_json(schema, f"The {what} is not valid.", CONTROL_MAX_BODY)


@bp.post("/reset")
def reset() -> Response:
    runtime().store.reset()
    return no_content()


# State: export, replace, add.


@bp.get("/state")
def export_state() -> Response:
    """Everything, in the form PUT and POST take back (the same schema both ways)."""
    agents, logfiles = runtime().store.export_state()
    return jsonify(STATE_DOCUMENT.dump({"agents": agents, "logfiles": logfiles}))


def _import(replace: bool) -> Response:
    document = load(STATE_DOCUMENT, "state document")
    rt = runtime()
    # Replacing, the store's agents do not count; adding, only the ones the document names.
    seed = build_seed(document, now(), rt.new_id, None if replace else rt.store.agent_projects)
    rt.store.import_state(seed.agents, seed.logfiles, replace=replace)
    listed = seed.logfiles[:MAX_LISTED_IDS]
    return jsonify(
        {
            "agents": [{"id": a.id, "project_id": a.project_id} for a in seed.agents],
            "logfiles": [{"id": lf.id, "agent_id": lf.agent_id} for lf in listed],
            "counts": {"agents": len(seed.agents), "logfiles": len(seed.logfiles)},
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
    }


def _journal_filter() -> JournalFilter:
    args = request.args
    status = args.get("status")
    since = args.get("since")
    if status is not None and not status.isdecimal():
        raise Invalid("The status filter is not valid.", [f"status: '{status}' is not a number"])
    try:
        since_time = parse_time(since) if since else None
    except ValueError:
        raise Invalid("The since filter is not valid.", [f"since: '{since}' is not an ISO time"]) from None
    return JournalFilter(
        method=args.get("method") or None,
        path=args.get("path") or None,
        status=int(status) if status is not None else None,
        since=since_time,
    )


@bp.get("/requests")
def list_requests() -> Response:
    selected = _journal_filter().apply(runtime().store.list_requests())
    return jsonify({"requests": [_entry_body(entry) for entry in selected]})


@bp.delete("/requests")
def clear_requests() -> Response:
    runtime().store.clear_requests()
    return no_content()


# Fault rules.


@bp.post("/faults")
def add_fault() -> tuple[Response, int]:
    fields = load(FAULT_RULE, "fault rule")
    fields["action"] = FaultAction(fields["action"])
    fields["errors"] = tuple(fields["errors"])
    rule = FaultRule(id=runtime().new_id(), **fields)
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
    command = load(CLOCK_COMMAND, "clock command")
    if len(command) != 1:
        raise Invalid(
            "The clock command is not valid.",
            ["body: give exactly one of 'freeze', 'advance', 'real'"],
        )
    store = runtime().store
    current = store.get_clock()
    if "freeze" in command:
        raw = command["freeze"]
        try:
            at = current.now() if raw == "now" else parse_time(raw)
        except ValueError:
            raise Invalid(
                "The clock command is not valid.", [f"freeze: '{raw}' is not an ISO time"]
            ) from None
        setting = ClockSetting(frozen_at=at)
    elif "advance" in command:
        setting = current.advanced(timedelta(seconds=command["advance"]))
    else:
        setting = REAL_TIME
    store.set_clock(setting)
    return _clock_body(setting)


# Hooks on every /v2 request: faults before, the journal after.


def _is_contract(path: str) -> bool:
    return path.startswith("/v2/") or path == "/v2"


def inject_fault() -> Response | None:
    """A matching rule answers before the model runs (mimic's behaviours)."""
    if not _is_contract(request.path):
        return None
    rule = runtime().store.trigger_fault(request.method, request.path, request.headers)
    if rule is None:
        return None
    g.fault = rule.id
    if rule.action is FaultAction.LATENCY:
        time.sleep(rule.latency)
        return None
    if rule.action is FaultAction.DROP:
        return drop_connection()
    message = rule.message or HTTP_MESSAGES.get(rule.status, "The request failed.")
    problems = list(rule.errors) or [f"fault: injected by rule {rule.id}"]
    return fault_response(rule.status, message, problems, rule.headers)


def drop_connection() -> Response:
    """Close the client's socket with no answer; only a real server has one to close.

    The journal gets the entry (status 0) before the socket closes: once the client sees
    the drop, a test reading the journal must find it, whichever worker it asks.
    """
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        g.journaled = journal(0)
        with contextlib.suppress(OSError):  # the client may be gone already
            sock.shutdown(socket.SHUT_RDWR)
        return Response(status=499)
    return fault_response(
        500,
        "The connection would have been dropped.",
        ["fault: this server gives no socket to drop (Flask's test client?)"],
    )


def record_request(response: Response) -> Response:
    if not g.get("journaled"):
        journal(response.status_code)
    return response


def journal(status: int) -> bool:
    """Record this /v2 request with `status` (0: dropped); False when nothing is recorded."""
    rt = runtime()
    if not _is_contract(request.path) or rt.settings.journal_size == 0:
        return False
    data: bytes | None = g.get("body")
    if data is None:
        length = request.content_length
        data = request.get_data(cache=True) if length and length <= MAX_BODY_BYTES else b""
    entry = JournalEntry(
        time=now(),
        method=request.method,
        path=request.path,
        query=request.query_string.decode("latin-1"),
        headers=recorded_headers(request.environ),
        body=body_text(data),
        status=status,
        fault=g.get("fault"),
    )
    rt.store.record_request(entry, rt.settings.journal_size)
    return True


def install(app: Flask) -> None:
    """Register the control blueprint and the /v2 hooks (LOGFILES_CONTROL=on)."""
    app.before_request(inject_fault)
    app.after_request(record_request)
    app.register_blueprint(bp)
