"""A job's PATCH (the agent's moves and results) and the bodies its pages show (stdlib and the
jobs' schemas only).

The PATCH has the log-file PATCH's rules (SPEC): a non-empty RFC 6902 array; `add` and
`replace` alike (each page: "interpreted identically"); the paths its page lists; every problem
listed, one entry per bad member (400) before any state is looked at (409); all or nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from marshmallow import ValidationError

from .activities import job_document, job_of
from .documents import Document
from .errors import MAX_LISTED_ERRORS, Invalid
from .jobs import RESTORABLE_STATES, RESULT_DEFAULTS, STOP_REQUESTED, TABLES, empty_errors, entered_states
from .kinds import BACKUP, CLEANUP, RESTORE
from .model import format_time, parse_time
from .schemas import flatten_messages
from .schemas.jobs import JOB_ERRORS, MAX_COUNT, MAX_SNAPSHOT_IDS

_OPS = ("add", "replace")
Operation = tuple[str, Any]  # (member, checked value)
# A member's check: (the value kept, None) or (None, the problem).
Check = Callable[[Any], tuple[Any, str | None]]


def _count(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value, None
    return None, f"must be an integer from 0 to {MAX_COUNT}"


def _snapshot_id(value: Any) -> tuple[Any, str | None]:
    return (None, None) if value is None else _count(value)


def _snapshot_ids(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, list) or len(value) > MAX_SNAPSHOT_IDS:
        return None, f"must be a list of at most {MAX_SNAPSHOT_IDS} snapshot ids"
    if not all(_count(item)[1] is None for item in value):
        return None, f"every snapshot id must be an integer from 0 to {MAX_COUNT}"
    return value, None


def _time(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and len(value) <= 64:
        try:
            return format_time(parse_time(value)), None
        except ValueError:
            pass
    return None, "must be an ISO-8601 time with a timezone"


def _errors(value: Any) -> tuple[Any, str | None]:
    """Checked by the schema; its problems are listed by `_problems`, one per bad member."""
    try:
        loaded = JOB_ERRORS.load(value)
    except ValidationError:
        return None, "invalid"
    if loaded["count"] is None:
        loaded["count"] = len(loaded["list"])
    return loaded, None


def _state(kind: str) -> Check:
    targets = TABLES[kind].targets

    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, str) and value in targets:
            return value, None
        return None, f"must be one of {', '.join(targets)}"

    return check


def _paths(kind: str, extra: Mapping[str, tuple[str, Check]]) -> dict[str, tuple[str, Check]]:
    return {
        "/state": ("state", _state(kind)),
        "/started_time": ("started_time", _time),
        "/ended_time": ("ended_time", _time),
        "/errors": ("errors", _errors),
        **extra,
    }


# Each kind's paths (its PATCH page) -> (the member, its check). The restore page's table spells
# four of them with hyphens (`/started-time`, `/files_restores`...) where its example uses the
# members' names: both are accepted, as an agent's `/log-level` is.
PATHS: dict[str, dict[str, tuple[str, Check]]] = {
    BACKUP.name: _paths(
        BACKUP.name,
        {
            "/snapshot_id": ("snapshot_id", _snapshot_id),
            **{
                f"/{name}": (name, _count)
                for name in (
                    "files_searched",
                    "files_backed_up",
                    "bytes_searched",
                    "bytes_backed_up",
                    "bytes_in_db",
                    "bandwidth_avg_bps",
                )
            },
        },
    ),
    RESTORE.name: _paths(
        RESTORE.name,
        {
            "/files_restored": ("files_restored", _count),
            "/bytes_restored": ("bytes_restored", _count),
            "/started-time": ("started_time", _time),
            "/ended-time": ("ended_time", _time),
            "/files_restores": ("files_restored", _count),
            "/bytes-restored": ("bytes_restored", _count),
        },
    ),
    CLEANUP.name: _paths(
        CLEANUP.name,
        {
            "/snapshot_ids": ("snapshot_ids", _snapshot_ids),
            "/bytes_before": ("bytes_before", _count),
            "/bytes_after": ("bytes_after", _count),
        },
    ),
}


def _problems(
    index: int, operation: Any, paths: Mapping[str, tuple[str, Check]]
) -> tuple[Operation | None, list[str]]:
    where = f"/{index}"
    if not isinstance(operation, dict):
        return None, [f"{where}: must be an operation object"]
    problems: list[str] = []
    op, path = operation.get("op"), operation.get("path")
    if "op" not in operation:
        problems.append(f"{where}/op: Missing data for required field.")
    elif op not in _OPS:
        problems.append(f"{where}/op: must be 'add' or 'replace'")
    target = paths.get(path) if isinstance(path, str) else None
    if "path" not in operation:
        problems.append(f"{where}/path: Missing data for required field.")
    elif target is None:
        problems.append(f"{where}/path: must be one of {', '.join(paths)}")
    if "value" not in operation:
        problems.append(f"{where}/value: Missing data for required field.")
    elif target is not None:
        member, check = target
        value, problem = check(operation["value"])
        if problem == "invalid":  # the errors' schema: one entry per bad member
            try:
                JOB_ERRORS.load(operation["value"])
            except ValidationError as exc:
                problems.extend(flatten_messages(exc.messages, style="pointer", where=f"{where}/value"))
        elif problem is not None:
            problems.append(f"{where}/value: {problem}")
        if not problems:
            return (member, value), []
    return None, problems


def parse_patch(kind: str, document: Any) -> list[Operation]:
    """The (member, value) pairs of a job's PATCH, in order; Invalid listing every problem."""
    message = f"The request body is not a JSON Patch document this {kind} accepts."
    if not isinstance(document, list):
        raise Invalid(message, ["body: must be a JSON array of operation objects"])
    if not document:
        raise Invalid(message, ["body: must hold at least one operation"])
    paths = PATHS[kind]
    operations: list[Operation] = []
    listed: list[str] = []
    unlisted = 0
    for index, operation in enumerate(document):
        checked, problems = _problems(index, operation, paths)
        if checked is not None:
            operations.append(checked)
        elif len(listed) > MAX_LISTED_ERRORS:
            unlisted += len(problems)
        else:
            listed.extend(problems)
    if listed:
        raise Invalid(message, listed, unlisted=unlisted)
    return operations


def _same(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether a change changes nothing but its time."""
    return {k: v for k, v in before.items() if k != "last_updated_time"} == {
        k: v for k, v in after.items() if k != "last_updated_time"
    }


def patched(
    document: Document, operations: list[Operation], now: datetime, request_id: str | None = None
) -> Document:
    """The job after the operations, in order; `document` itself when nothing changes (a
    same-value retry). Conflict for a final job or a move back (nothing applied).

    (ours) A job's `started_time` is the time it first left its start state and `ended_time`
    the time it reached a final state, unless the agent reports them. `request_id`: the id of the
    stop request this PATCH may make (kept, so that an agent's `startup` posts it again)."""
    job = job_of(document)
    entered = entered_states(
        document.kind, job.state, [value for member, value in operations if member == "state"]
    )
    body = dict(document.body)
    for member, value in operations:
        if member != "state":
            body[member] = value
    state = entered[-1] if entered else job.state
    rules = TABLES[document.kind]
    if entered:
        if body.get("started_time") is None and state not in rules.starts:
            body["started_time"] = format_time(now)
        if body.get("ended_time") is None and state in rules.final:
            body["ended_time"] = format_time(now)
    if STOP_REQUESTED in entered and request_id is not None:
        body["stop_request_id"] = request_id
    if document.kind == BACKUP.name and state in RESTORABLE_STATES:
        body["restorable"] = True
    body["state"] = state
    if _same(document.body, body):
        return document
    changed = dataclasses.replace(job, state=state, last_updated_time=now)
    return dataclasses.replace(job_document(changed, body), version=document.version)


def entered(document: Document, operations: list[Operation]) -> list[str]:
    """The states the operations move the job through (for its events)."""
    return entered_states(
        document.kind, job_of(document).state, [value for member, value in operations if member == "state"]
    )


# Bodies. Each is read leniently from what the document keeps (an imported one may hold anything).
def _segment(value: str) -> str:
    return quote(value, safe="")


def job_url(host: str, kind: str, project_id: str, job_id: str) -> str:
    return f"{host}/v2/{_segment(project_id)}/{kind}s/{_segment(job_id)}"


def _ref(url: str, item_id: Any) -> dict[str, Any]:
    return {"id": item_id, "links": [{"href": url, "rel": "full"}]}


def _errors_of(body: Mapping[str, Any]) -> dict[str, Any]:
    errors = body.get("errors")
    return dict(errors) if isinstance(errors, Mapping) else empty_errors()


def details_body(host: str, document: Document) -> dict[str, Any]:
    """The details page's body of the job (the start pages' 201 and the lists show the same)."""
    body = document.body
    kind, project_id = document.kind, document.project_id
    url = job_url(host, kind, project_id, document.id)
    base = f"{host}/v2/{_segment(project_id)}"
    agent_id = document.parent or ""
    shown: dict[str, Any] = {"project_id": project_id, "id": document.id}
    if kind == RESTORE.name:
        backup_id = body.get("backup_id")
        shown["backup"] = _ref(f"{base}/backups/{_segment(str(backup_id))}", backup_id)
        shown["destination_agent"] = _ref(f"{base}/agents/{_segment(agent_id)}", agent_id)
        for name, default in (("destination_path", None), ("overwrite_files", False)):
            shown[name] = body.get(name, default)
        shown["inclusions"] = body.get("inclusions", [])
        shown["exclusions"] = body.get("exclusions", [])
    else:
        shown["agent"] = _ref(f"{base}/agents/{_segment(agent_id)}", agent_id)
    if kind == BACKUP.name:
        configuration_id = body.get("configuration_id")
        shown["configuration"] = _ref(
            f"{base}/configurations/{_segment(str(configuration_id))}", configuration_id
        )
    shown["state"] = body.get("state")
    shown["started_time"] = body.get("started_time")
    shown["ended_time"] = body.get("ended_time")
    results = _results(kind, body)
    if kind == BACKUP.name:
        shown["snapshot_id"] = results.pop("snapshot_id")
    if kind == CLEANUP.name:
        shown["snapshot_ids"] = results.pop("snapshot_ids")
    errors = _errors_of(body)
    shown["errors"] = {
        "count": errors.get("count", 0),
        "reason": errors.get("reason", ""),
        "diagnostics": errors.get("diagnostics", ""),
        "links": [{"href": f"{url}/errors", "rel": "full"}],
    }
    shown.update(results)
    shown["links"] = [{"href": url, "rel": "self"}, {"href": f"{url}/events", "rel": "events"}]
    return shown


def _results(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {name: body.get(name, default) for name, default in RESULT_DEFAULTS[kind].items()}


# The description the errors pages show for each error type the agent reports (the pages'
# examples); another type shows the description the agent gave, if any.
ERROR_DESCRIPTIONS = {
    "file_or_folder_missing": (
        "The item was found during the search but was missing when we tried to back it up."
    ),
    "file_missing_blocks": "A vault validation determined that the specified file is missing blocks.",
    "phx_exception": "The agent experience a problem (Phoenix).",
}


def errors_body(host: str, document: Document) -> dict[str, Any]:
    """The errors page's body: the agent's report with each item's description."""
    errors = _errors_of(document.body)
    items = errors.get("list")
    shown_items = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        description = ERROR_DESCRIPTIONS.get(kind, "") if isinstance(kind, str) else ""
        shown_items.append(
            {
                "index": item.get("index"),
                "path": item.get("path"),
                "type": kind,
                "description": item.get("description") or description,
                "exception": item.get("exception"),
            }
        )
    url = job_url(host, document.kind, document.project_id, document.id)
    return {
        "count": errors.get("count", 0),
        "reason": errors.get("reason", ""),
        "diagnostics": errors.get("diagnostics", ""),
        "list": shown_items,
        "links": [{"href": f"{url}/errors", "rel": "self"}],
    }
