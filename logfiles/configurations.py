"""Backup configurations: the create page's rules, the PATCH page's change, and the answers.

A configuration is a document of kind CONFIGURATION (kinds.py) whose parent is its agent;
its body is what the create body loads to (schemas/configurations.py) plus `schedule.start`
and `backups.last_completed`. Next run times are not kept: they are computed from the
schedule on the service clock when shown (schedule.py). No Flask here: URLs are built from
the `<scheme>://<host>` the caller gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from marshmallow import ValidationError

from . import schedule
from .documents import Document
from .errors import MAX_LISTED_ERRORS, Invalid
from .kinds import CONFIGURATION
from .schemas.base import flatten_messages
from .schemas.configurations import CONFIGURATION as SCHEMA
from .schemas.configurations import PATCH_PATHS

# The PATCH page: only `replace`, only these paths.
PATCH_OPS = ("replace",)
MESSAGE = "The configuration is not valid."
PATCH_MESSAGE = "The request body is not a JSON Patch document this configuration accepts."
# The members a configuration's body keeps, in the pages' order.
_MEMBERS = ("name", "enabled", "schedule", "retention", "inclusions", "exclusions", "notifications")
_SEPARATORS = ("/", "\\")


# The create page's rules.


def _norm(path: str) -> str:
    """A path compared as a folder: `/web/` and `/web` are one path; the root stays itself."""
    return path.rstrip("/\\") or path


def _ancestors(path: str) -> list[str]:
    """Every folder `path` is under, normalised: `/web/cache` -> `/`, `/web`."""
    found = [path[:i] for i, ch in enumerate(path) if ch in _SEPARATORS and i > 0]
    if path[:1] in _SEPARATORS and len(path) > 1:
        found.append(path[0])
    return found


def problems(body: Mapping[str, Any]) -> list[str]:
    """The create page's restrictions on a body the schema loaded, one entry per problem."""
    out: list[str] = []
    inclusions, exclusions = body["inclusions"], body["exclusions"]
    included = {_norm(item["path"]) for item in inclusions}
    # Each folder's normalised path, to the path as the client wrote it (for the messages).
    included_folders = {_norm(i["path"]): i["path"] for i in inclusions if i["type"] == "folder"}
    excluded_folders = {_norm(i["path"]): i["path"] for i in exclusions if i["type"] == "folder"}
    seen: set[str] = set()
    for index, item in enumerate(inclusions):
        path = _norm(item["path"])
        where = f"inclusions.{index}.path: '{item['path']}'"
        if path in seen:
            out.append(f"{where} is included twice")
        seen.add(path)
        ancestors = _ancestors(path)
        over = next((f for f in ancestors if f in included_folders), None)
        if over is not None:
            out.append(f"{where} is under the included folder '{included_folders[over]}'")
        under = next((f for f in ancestors if f in excluded_folders), None)
        if under is not None:
            out.append(f"{where} is under the excluded folder '{excluded_folders[under]}'")
    seen = set()
    for index, item in enumerate(exclusions):
        path = _norm(item["path"])
        where = f"exclusions.{index}.path: '{item['path']}'"
        if path in seen:
            out.append(f"{where} is excluded twice")
        seen.add(path)
        if path in included:
            out.append(f"{where} is also an inclusion")
            continue
        ancestors = _ancestors(path)
        under = next((f for f in ancestors if f in excluded_folders), None)
        if under is not None:
            out.append(f"{where} is under the excluded folder '{excluded_folders[under]}'")
        if not any(f in included_folders for f in ancestors):
            out.append(f"{where} is not under an included folder")
    if not any(n["on_failure"] for n in body["notifications"]):
        out.append("notifications: at least one notification must have on_failure true")
    return out


def _recurrences(body_schedule: Mapping[str, Any]) -> list[schedule.Recurrence]:
    return [schedule.parse_recurrence(text) for text in body_schedule["recurrence"]]


def load(data: Any, now: datetime, start: str | None = None) -> dict[str, Any]:
    """A body checked by the schema and the page's rules, as kept: Invalid listing each problem.

    `schedule.start` is the one given, else `start` (a PATCH keeps the schedule's), else now.
    """
    try:
        loaded: dict[str, Any] = SCHEMA.load(data)
    except ValidationError as exc:
        raise Invalid(MESSAGE, flatten_messages(exc.messages)) from None
    found = problems(loaded)
    body: dict[str, Any] = {"agent_id": loaded["agent_id"]}
    for name in _MEMBERS:
        body[name] = loaded[name]
    plan = loaded["schedule"]
    if plan is not None:
        moment = plan.get("start") or (schedule.parse_start(start) if start else now)
        kept = {
            "start": schedule.format_schedule_time(moment),
            "recurrence": plan["recurrence"],
            "time_zone": plan["time_zone"],
        }
        try:
            schedule.first_runs(_recurrences(kept), schedule.time_zone(kept["time_zone"]), moment, now)
        except ValueError as exc:
            found.append(f"schedule.recurrence.0: {exc}")
        body["schedule"] = kept
    if found:
        raise Invalid(MESSAGE, found)
    body["backups"] = {"last_completed": None}
    return body


def seeded_body(item: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A configuration a state document seeds: kept as the create route keeps it when it is a
    valid create body (its `schedule.start` the seed's moment unless given; a `backups` given is
    kept, so a test can seed a completed backup), else as given (a test may seed a short one)."""
    try:
        kept = load(item, now)
    except Invalid:
        return dict(item)
    backups = item.get("backups")
    if isinstance(backups, dict):
        kept["backups"] = backups
    return kept


def new_configuration(project_id: str, configuration_id: str, body: Mapping[str, Any]) -> Document:
    return Document(CONFIGURATION.name, project_id, configuration_id, dict(body), parent=body["agent_id"])


# Reading a kept body. A configuration made by the routes has every member; one seeded or
# imported through the control plane holds what the test gave (any JSON object), so what is
# shown is read leniently: a missing member shows as null, a schedule that cannot run as none.


def _member(document: Document, name: str) -> Any:
    return document.body.get(name)


def agent_of(document: Document) -> str:
    """The configuration's agent: its document's parent (always kept)."""
    return document.parent or str(document.body.get("agent_id", ""))


# The PATCH page.


def parse_patch(document: Any) -> list[tuple[str, Any]]:
    """(path, value) of each operation; Invalid with one `/<i>/<member>` entry per problem."""
    if not isinstance(document, list):
        raise Invalid(PATCH_MESSAGE, ["body: must be a JSON array of operation objects"])
    if not document:
        raise Invalid(PATCH_MESSAGE, ["body: must hold at least one operation"])
    listed: list[str] = []
    unlisted = 0
    for index, operation in enumerate(document):
        found: list[str] = []
        if not isinstance(operation, dict):
            found.append(f"/{index}: must be an operation object")
        else:
            if operation.get("op") not in PATCH_OPS:
                found.append(f"/{index}/op: must be 'replace' (the only operation a configuration takes)")
            if operation.get("path") not in PATCH_PATHS:
                found.append(f"/{index}/path: must be one of {', '.join(PATCH_PATHS)}")
            if "value" not in operation:
                found.append(f"/{index}/value: Missing data for required field.")
        if len(listed) > MAX_LISTED_ERRORS:
            unlisted += len(found)
        else:
            listed.extend(found)
    if listed:
        raise Invalid(PATCH_MESSAGE, listed, unlisted=unlisted)
    return [(operation["path"], operation["value"]) for operation in document]


def patched(document: Document, operations: Sequence[tuple[str, Any]], now: datetime) -> Document:
    """The configuration after the operations, checked whole by the create rules (Invalid);
    `document` itself when nothing changes (a same-value retry writes nothing)."""
    body = document.body
    target: dict[str, Any] = {"agent_id": agent_of(document)}
    # Nothing here is changed in place (`load` builds its answer anew), so nothing is copied:
    # a value nested as deep as the JSON reader allows must not meet a recursive copy.
    for name in _MEMBERS:
        if name in body:
            target[name] = body[name]
    for path, value in operations:
        if path == "/retention/days":
            retention = target.get("retention")
            retention = retention if isinstance(retention, dict) else {}
            target["retention"] = {**retention, "days": value}
        else:
            target[path[1:]] = value
    old_plan = body.get("schedule")
    start = old_plan.get("start") if isinstance(old_plan, Mapping) else None
    start = start if isinstance(start, str) and _readable(start) else None
    loaded = load(target, now, start)
    backups = body.get("backups")
    loaded["backups"] = backups if isinstance(backups, dict) else {"last_completed": None}
    if loaded == dict(body):
        return document
    return dataclasses.replace(document, body=loaded)


def with_last_completed(document: Document, backup_id: str) -> Document:
    """The configuration once `backup_id` completed (SPEC: its `backups.last_completed`)."""
    backups = document.body.get("backups")
    kept = dict(backups) if isinstance(backups, Mapping) else {}
    if kept.get("last_completed") == {"id": backup_id}:
        return document
    kept["last_completed"] = {"id": backup_id}
    return dataclasses.replace(document, body={**document.body, "backups": kept})


# What the pages show.


def url_segment(value: str) -> str:
    return quote(value, safe="")


def agent_url(host: str, project_id: str, agent_id: str) -> str:
    return f"{host}/v2/{url_segment(project_id)}/agents/{url_segment(agent_id)}"


def configuration_url(host: str, project_id: str, configuration_id: str) -> str:
    return f"{host}/v2/{url_segment(project_id)}/configurations/{url_segment(configuration_id)}"


def backup_url(host: str, project_id: str, backup_id: str) -> str:
    return f"{host}/v2/{url_segment(project_id)}/backups/{url_segment(backup_id)}"


def _readable(text: str) -> bool:
    try:
        schedule.parse_start(text)
    except ValueError:
        return False
    return True


def run_times(body: Mapping[str, Any], now: datetime, count: int) -> list[datetime] | None:
    """The next `count` run times of the schedule after now; None for a manual configuration
    (or a kept schedule that cannot run: one seeded with members the create page refuses).
    A schedule kept without a readable `start` runs from now."""
    plan = body.get("schedule")
    if not isinstance(plan, Mapping):
        return None
    try:
        start_text = plan.get("start")
        start = schedule.parse_start(start_text) if isinstance(start_text, str) else now
        rules = plan["recurrence"]
        if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
            return None
        zone = schedule.time_zone(str(plan["time_zone"]))
        return schedule.next_times([schedule.parse_recurrence(r) for r in rules], zone, start, now, count)
    except (KeyError, ValueError, OverflowError):
        return None


def next_run(body: Mapping[str, Any], now: datetime) -> dict[str, str] | None:
    """`{"scheduled_time": ...}`, or None when no backup is scheduled: a manual configuration,
    or a disabled one (ours: it runs nothing until enabled again)."""
    if body.get("enabled") is not True:
        return None
    times = run_times(body, now, 1)
    return {"scheduled_time": schedule.format_schedule_time(times[0])} if times else None


def _last_completed(host: str, project_id: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
    backups = body.get("backups")
    last = backups.get("last_completed") if isinstance(backups, Mapping) else None
    if not isinstance(last, Mapping) or not isinstance(last.get("id"), str):
        return None
    return {"id": last["id"], "links": [{"href": backup_url(host, project_id, last["id"]), "rel": "full"}]}


def _head(host: str, document: Document) -> dict[str, Any]:
    agent_id = agent_of(document)
    return {
        "project_id": document.project_id,
        "id": document.id,
        "agent": {
            "id": agent_id,
            "links": [{"href": agent_url(host, document.project_id, agent_id), "rel": "full"}],
        },
        "name": _member(document, "name"),
        "enabled": _member(document, "enabled"),
        "schedule": _member(document, "schedule"),
        "retention": _member(document, "retention"),
    }


def _links(host: str, document: Document, first: str) -> list[dict[str, str]]:
    url = configuration_url(host, document.project_id, document.id)
    return [
        {"href": url, "rel": first},
        {"href": f"{url}/activities", "rel": "activities"},
        {"href": f"{url}/events", "rel": "events"},
    ]


def _paths(document: Document) -> dict[str, Any]:
    return {
        "inclusions": _member(document, "inclusions"),
        "exclusions": _member(document, "exclusions"),
        "notifications": _member(document, "notifications"),
        "deleted": False,
    }


def created_body(host: str, document: Document, now: datetime) -> dict[str, Any]:
    """The create page's 201 body. Its example puts `next` beside `backups`, its own response
    table (and the details page) inside it as `backups.next`: both are shown, the same value,
    so a client written from either finds it."""
    shown = _head(host, document) | _paths(document)
    upcoming = next_run(document.body, now)
    shown["backups"] = {
        "last_completed": _last_completed(host, document.project_id, document.body),
        "next": upcoming,
    }
    shown["next"] = upcoming
    shown["links"] = _links(host, document, "self")
    return shown


def details_body(host: str, document: Document, now: datetime) -> dict[str, Any]:
    """The details page's body: `backups` holds `last_completed` and `next`."""
    shown = _head(host, document) | _paths(document)
    shown["backups"] = {
        "last_completed": _last_completed(host, document.project_id, document.body),
        "next": next_run(document.body, now),
    }
    shown["links"] = _links(host, document, "self")
    return shown


def list_item(host: str, document: Document, now: datetime) -> dict[str, Any]:
    """A configuration in a list, as both list pages show it: no paths or notifications, and
    its first link's rel is `full`."""
    shown = _head(host, document)
    shown["backups"] = {
        "last_completed": _last_completed(host, document.project_id, document.body),
        "next": next_run(document.body, now),
    }
    shown["links"] = _links(host, document, "full")
    return shown


def restorable(document: Document) -> bool:
    """`?restorable=true`: the configuration has a completed backup to restore from."""
    return _last_completed("", document.project_id, document.body) is not None
