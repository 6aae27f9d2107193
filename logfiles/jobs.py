"""Backups, restores and cleanups: each kind's table of moves, the create rules of each start
page, and the events a job emits (stdlib and the jobs' schemas only).

A job is a document of its kind (kinds.BACKUP, RESTORE, CLEANUP) built by
activities.job_document, so the activities lists read it as they are; its body holds the
members its pages show (job_results.py renders them and applies an agent's results).

The tables (SPEC "The whole service", each kind from its own pages): a job is created in a
start state, the agent moves it forward (it may skip steps, never go back), the user may ask
`stop_requested` while it is not final, and a final state takes no change at all (409 with the
message its PATCH page shows). Who may make which move is not guessed (SPEC): any caller with
the update right may make any legal one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .activities import Job, job_document
from .configurations import agent_of
from .documents import Document, Kind
from .errors import Conflict, Invalid
from .events import Event
from .kinds import BACKUP, CLEANUP, RESTORE
from .model import format_time

STOP_REQUESTED = "stop_requested"


@dataclass(frozen=True, slots=True)
class Table:
    """One kind's states: where a job starts, the steps forward in order, the final states a
    PATCH may reach, and those final states only a seed sets (a backup's `missed`)."""

    kind: Kind
    starts: tuple[str, ...]
    steps: tuple[str, ...]
    finals: tuple[str, ...]
    seeded_finals: tuple[str, ...] = ()

    @property
    def final(self) -> tuple[str, ...]:
        """Every final state, in the order its PATCH page's 409 message lists them."""
        return (*self.finals, *self.seeded_finals)

    @property
    def targets(self) -> tuple[str, ...]:
        """The states a PATCH may name."""
        return (*self.steps, STOP_REQUESTED, *self.finals)

    def rank(self, state: str) -> int:
        """How far forward a state is: starts 0, then the steps in order; the rest past them."""
        if state in self.starts:
            return 0
        if state in self.steps:
            return 1 + self.steps.index(state)
        return 1 + len(self.steps)

    def may_move(self, before: str, after: str) -> bool:
        """Whether a job in `before` (not final) may go to `after`; a same value is always a retry."""
        if after == before:
            return True
        if after == STOP_REQUESTED or after in self.finals:
            return True
        if after in self.steps:
            return before != STOP_REQUESTED and self.rank(after) > self.rank(before)
        return False

    def final_conflict(self) -> Conflict:
        listed = "[" + ", ".join(f"'{state}'" for state in self.final) + "]"
        return Conflict(
            f"Modifying a {self.kind.name} that is already in a state of {listed} is not allowed.",
            [f"state: the {self.kind.name} is final"],
        )

    def move_conflict(self, before: str, after: str) -> Conflict:
        return Conflict(
            f"A {self.kind.name} cannot go from '{before}' to '{after}'.",
            [f"/state: '{after}' is not a move forward from '{before}'"],
        )


_FINALS = ("completed", "completed_with_errors", "failed", "stopped")
TABLES: dict[str, Table] = {
    BACKUP.name: Table(
        BACKUP,
        ("start_requested", "start_scheduled"),
        ("queued", "preparing", "in_progress"),
        (*_FINALS, "skipped"),
        ("missed",),
    ),
    RESTORE.name: Table(RESTORE, ("start_requested",), ("queued", "preparing", "in_progress"), _FINALS),
    CLEANUP.name: Table(CLEANUP, ("start_requested", "start_scheduled"), ("queued", "in_progress"), _FINALS),
}
# A backup a restore may start from (the details page's `restorable`).
RESTORABLE_STATES = ("completed", "completed_with_errors")


def table(kind: str) -> Table:
    return TABLES[kind]


def is_final(kind: str, state: str) -> bool:
    return state in TABLES[kind].final


def entered_states(kind: str, before: str, states: Sequence[str]) -> list[str]:
    """The states a PATCH's `/state` values move a job through, in order (a same value enters
    nothing); Conflict for a final job (the page's message) or a move back."""
    rules = TABLES[kind]
    if before in rules.final:
        raise rules.final_conflict()
    entered: list[str] = []
    current = before
    for state in states:
        if current in rules.final and state != current:
            raise rules.move_conflict(current, state)
        if not rules.may_move(current, state):
            raise rules.move_conflict(current, state)
        if state != current:
            entered.append(state)
            current = state
    return entered


# The members each kind's details page shows besides the common ones, with their values before
# the agent reports any (the start pages' 201 examples).
RESULT_DEFAULTS: dict[str, dict[str, Any]] = {
    BACKUP.name: {
        "snapshot_id": None,
        "files_searched": 0,
        "files_backed_up": 0,
        "bytes_searched": 0,
        "bytes_backed_up": 0,
        "bytes_in_db": 0,
        "bandwidth_avg_bps": 0,
        "restorable": False,
    },
    RESTORE.name: {"files_restored": 0, "bytes_restored": 0},
    CLEANUP.name: {"snapshot_ids": [], "bytes_before": 0, "bytes_after": 0},
}


def empty_errors() -> dict[str, Any]:
    return {"count": 0, "reason": "", "diagnostics": "", "list": []}


def _document(job: Job, extra: Mapping[str, Any]) -> Document:
    body = {
        "started_time": None,
        "ended_time": None,
        "errors": empty_errors(),
        **RESULT_DEFAULTS[job.kind],
        **extra,
    }
    return job_document(job, body)


def require_scheduler(state: str, agent_id: str, caller: str | None, where: str) -> None:
    """The start page: `start_scheduled` needs `X-Agent-Id` naming the job's agent (else 400)."""
    if state != "start_scheduled":
        return
    if caller is None or not caller.strip():
        raise Invalid(
            "The X-Agent-Id header is required with the state start_scheduled.",
            ["X-Agent-Id: required when state is 'start_scheduled'"],
        )
    if caller.strip() != agent_id:
        raise Invalid(
            "The X-Agent-Id header must name the agent that runs the job.",
            [f"X-Agent-Id: '{caller.strip()}' is not the {where} agent '{agent_id}'"],
        )


def new_backup(
    project_id: str, backup_id: str, configuration: Document, state: str, now: datetime, request_id: str
) -> Document:
    """A backup of the configuration, run by the configuration's agent."""
    job = Job(
        BACKUP.name,
        project_id,
        backup_id,
        agent_of(configuration),
        state,
        now,
        configuration_id=configuration.id,
    )
    return _document(job, {"created_time": format_time(now), "request_id": request_id})


def new_cleanup(
    project_id: str, cleanup_id: str, agent_id: str, state: str, now: datetime, request_id: str
) -> Document:
    job = Job(CLEANUP.name, project_id, cleanup_id, agent_id, state, now)
    return _document(job, {"created_time": format_time(now), "request_id": request_id})


def require_restorable(backup: Document) -> None:
    """SPEC: a restore starts from a completed backup (the details page's `restorable`), else 409."""
    state = backup.body.get("state")
    if state not in RESTORABLE_STATES and backup.body.get("restorable") is not True:
        raise Conflict(
            "A restore can start only from a completed backup.",
            [f"backup_id: backup '{backup.id}' is '{state}', not completed"],
        )


def new_restore(
    project_id: str,
    restore_id: str,
    backup: Document,
    body: Mapping[str, Any],
    now: datetime,
    request_id: str,
) -> Document:
    """A restore of `backup` (a checked create body) to its destination agent, which keeps it."""
    configuration_id = backup.body.get("configuration_id")
    job = Job(
        RESTORE.name,
        project_id,
        restore_id,
        body["destination_agent_id"],
        "start_requested",
        now,
        configuration_id=configuration_id if isinstance(configuration_id, str) else None,
        backup_id=backup.id,
    )
    snapshot_id = backup.body.get("snapshot_id")
    extra = {
        "destination_path": body["destination_path"],
        "overwrite_files": body["overwrite_files"],
        "inclusions": body["inclusions"],
        "exclusions": body["exclusions"],
        "encrypted_password_hex": body["encrypted_password_hex"],
        "source_agent_id": backup.parent,
        "snapshot_id": snapshot_id,
        "created_time": format_time(now),
        "request_id": request_id,
    }
    return _document(job, extra)


def seeded_document(job: Job) -> Document:
    """A seeded job (the control plane's `jobs`): the body its routes show, with the start
    pages' defaults, so that it reads and PATCHes like one the routes made. A seeded backup in
    a completed state is restorable."""
    extra: dict[str, Any] = {"created_time": format_time(job.last_updated_time)}
    if job.kind == BACKUP.name and job.state in RESTORABLE_STATES:
        extra["restorable"] = True
    if job.kind == RESTORE.name:
        extra.update(destination_path=None, overwrite_files=False, inclusions=[], exclusions=[])
    return _document(job, extra)


# Events (each kind's events page names its types): `<kind>_<state>` for each state a job
# enters, bar the requests, which the pages name `<kind>_start_request` and
# `<kind>_stop_request`, and a scheduled start, `backup_start` (the backup events page's
# `request_id` list).
_REQUEST_EVENTS = {
    "start_requested": "start_request",
    "start_scheduled": "start",
    STOP_REQUESTED: "stop_request",
}
# The events that carry a `request_id` (the events pages' tables).
_WITH_REQUEST_ID = frozenset({"start_request", "start", "stop_request", "skipped", "missed"})


def event_type(kind: str, state: str) -> str:
    return f"{kind}_{_REQUEST_EVENTS.get(state, state)}"


def job_event(
    document: Document, state: str, now: datetime, request_id: str, vault: Mapping[str, Any] | None = None
) -> Event:
    """The event of a job entering `state`, in its agent's feed (and so its project's), with
    what its kind's events page shows: the agent, the configuration (a cleanup has none), the
    job; a start request also what the agent needs to do it (`vault`: the agent's vault for a
    cleanup, the backup's agent's for a restore)."""
    body = document.body
    kind = document.kind
    suffix = _REQUEST_EVENTS.get(state, state)
    agent: dict[str, Any] = {"id": document.parent}
    details: dict[str, Any] = {"agent": agent}
    starting = state in ("start_requested", "start_scheduled")
    if kind == CLEANUP.name and starting and vault is not None:
        agent["vault"] = dict(vault)
    if kind == RESTORE.name and starting and vault is not None:
        details["source_agent"] = {"vault": dict(vault)}
    configuration_id = body.get("configuration_id")
    if kind != CLEANUP.name and isinstance(configuration_id, str):
        details["configuration"] = {"id": configuration_id}
    if kind == RESTORE.name and starting:
        details["backup"] = {"snapshot_id": body.get("snapshot_id")}
        details["restore"] = {
            "id": document.id,
            **{
                name: body.get(name)
                for name in ("destination_path", "overwrite_files", "inclusions", "exclusions")
            },
        }
    else:
        details[kind] = {"id": document.id}
    if suffix in _WITH_REQUEST_ID:
        details["request_id"] = request_id
    return Event(document.project_id, document.parent, now, event_type(kind, state), details)


def names_job(event: Event, kind: str, job_id: str) -> bool:
    """Whether the event is one of the job's (its events route)."""
    named = event.details.get(kind)
    return isinstance(named, Mapping) and named.get("id") == job_id


# States whose request the agent has not acted on yet: its `startup` posts them again (SPEC).
PENDING_STATES = ("start_requested", "start_scheduled", STOP_REQUESTED)


def pending_event(document: Document, now: datetime, vault: Mapping[str, Any] | None) -> Event | None:
    """The request a job still waits on, as a new event (its request id kept), or None."""
    state = document.body.get("state")
    if state not in PENDING_STATES or not isinstance(state, str):
        return None
    kept = document.body.get("stop_request_id" if state == STOP_REQUESTED else "request_id")
    request_id = kept if isinstance(kept, str) else ""
    return job_event(document, state, now, request_id, vault)
