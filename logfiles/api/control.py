"""The control plane under /_control/: reset, state, journal, faults, clock (moto's /moto-api/)."""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema

from ..clock import ClockCommand, ClockSetting
from ..errors import Invalid, Unauthorized
from ..journal import JournalEntry
from ..model import Agent, LogFile, LogFileState, format_time
from ..schemas import (
    CLOCK_COMMAND,
    FAULT_RULE,
    JOURNAL_QUERY,
    REGISTRATION,
    STATE_DOCUMENT,
)
from . import checks, no_content, now, runtime

bp = Blueprint("control", __name__, url_prefix="/_control")

# Seeding documents may be far larger than the contract's 1 MiB bodies.
CONTROL_MAX_BODY = 256 * 1024 * 1024
# The answer to a seed lists at most this many new log-file ids (bulk `generate` makes more).
MAX_LISTED_IDS = 1000

# A seeded agent that names no registration shows this generic one (loaded once, like a
# registration the service accepted).
DEFAULT_REGISTRATION: dict[str, Any] = REGISTRATION.load(
    {
        "name": "seeded agent",
        "version": "1.0.0",
        "host": {
            "flavor": "nova",
            "region": "DFW",
            "machine": {"id": "00000000-0000-4000-8000-000000000000"},
            "os": {"name": "Ubuntu", "version": "22.04", "architecture": "64-bit"},
            "fingerprint": "seeded",
            "addresses": [],
        },
        "rsa_public_key": {"modulus": "00", "exponent": 10001},
        "vault": {"use_internal": False},
    }
)


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
    moment = now()
    agents = [
        Agent(
            id=item.get("id") or rt.new_id(),
            project_id=item["project_id"],
            registered_time=item.get("registered_time") or moment,
            registration=item.get("registration") or DEFAULT_REGISTRATION,
            enabled=item["enabled"],
            log_level=item["log_level"],
        )
        for item in document["agents"]
    ]
    projects = {agent.id: agent.project_id for agent in agents}
    if not replace:
        known, _ = rt.store.export_state()
        projects = {agent.id: agent.project_id for agent in known} | projects
    problems = [
        f"{kind}.{index}.agent_id: no agent '{item['agent_id']}' in the state"
        for kind in ("logfiles", "generate")
        for index, item in enumerate(document[kind])
        if item["agent_id"] not in projects
    ]
    if problems:
        raise Invalid("The state document is not valid.", problems)
    logfiles = [
        LogFile(
            id=item.get("id") or rt.new_id(),
            project_id=projects[item["agent_id"]],
            agent_id=item["agent_id"],
            date=item.get("date") or moment,
            state=LogFileState(item["state"]),
        )
        for item in document["logfiles"]
    ]
    for item in document["generate"]:
        project_id, agent_id = projects[item["agent_id"]], item["agent_id"]
        date, state = item.get("date") or moment, LogFileState(item["state"])
        # One microsecond apart, as if requested one after another: distinct dates, so
        # completed ones get distinct object URLs, and dates that follow the list order.
        logfiles.extend(
            LogFile(rt.new_id(), project_id, agent_id, date + timedelta(microseconds=n), state)
            for n in range(item["count"])
        )
    rt.store.import_state(agents, logfiles, replace=replace)
    listed = logfiles[:MAX_LISTED_IDS]
    return jsonify(
        {
            "agents": [{"id": a.id, "project_id": a.project_id} for a in agents],
            "logfiles": [{"id": lf.id, "agent_id": lf.agent_id} for lf in listed],
            "counts": {"agents": len(agents), "logfiles": len(logfiles)},
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


@bp.get("/requests")
def list_requests() -> Response:
    selected = checks.load_query(JOURNAL_QUERY, "The journal filter is not valid.").apply(
        runtime().store.list_requests()
    )
    return jsonify({"requests": [_entry_body(entry) for entry in selected]})


@bp.delete("/requests")
def clear_requests() -> Response:
    runtime().store.clear_requests()
    return no_content()


# Fault rules.


@bp.post("/faults")
def add_fault() -> tuple[Response, int]:
    rule = replace(load(FAULT_RULE, "fault rule"), id=runtime().new_id())
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
