"""An agent's backups, restores and cleanups, and its vault, as the dashboard shows them (stdlib only).

A job is read from its document (activities.job_of for what every job has; the body, as the
details pages show it, for its times and results), leniently: a seeded or imported job may hold
any members, so a missing or odd one shows as empty rather than failing the page. Its progress
is drawn from its kind's table (jobs.TABLES, the one its PATCH checks): the steps a job goes
through, which one it is at, and the final state it ended in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..activities import job_of
from ..documents import Document
from ..events import Event
from ..jobs import TABLES, names_job
from ..kinds import BACKUP, CLEANUP, RESTORE
from ..model import format_time

# A backup that never ran: the steps before its end were not taken.
NOT_RUN_STATES = frozenset(("skipped", "missed"))

# The results each kind's details page shows once the job is final, in the page's order.
RESULTS: Mapping[str, tuple[str, ...]] = {
    BACKUP.name: (
        "files_searched",
        "files_backed_up",
        "bytes_searched",
        "bytes_backed_up",
        "bytes_in_db",
        "bandwidth_avg_bps",
        "snapshot_id",
        "restorable",
    ),
    RESTORE.name: ("files_restored", "bytes_restored"),
    CLEANUP.name: ("bytes_before", "bytes_after", "snapshot_ids"),
}
TITLES: Mapping[str, str] = {BACKUP.name: "Backups", RESTORE.name: "Restores", CLEANUP.name: "Cleanups"}
# Characters of a member's text shown (an error's reason, an odd value); the rest is cut.
MAX_TEXT = 200
_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")
# The job's events shown in its pane, the newest (its events route lists them all).
HISTORY_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a job's progress: `status` is done, current, todo, unknown (a stop was
    asked: where the job was is not kept), not_run (skipped or missed) or final."""

    state: str
    status: str


@dataclass(frozen=True, slots=True)
class JobRow:
    kind: str
    id: str
    project_id: str
    agent_id: str
    state: str
    final: bool
    last_updated_time: str
    created_time: str  # when the start route made it ("" for a job that does not say)
    started_time: str
    ended_time: str
    configuration_id: str
    backup_id: str
    errors: int | None  # errors.count; None while the body has none
    reason: str
    results: tuple[tuple[str, str], ...]  # (member, value as shown), final jobs only
    steps: tuple[Step, ...]


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def size_text(size: int) -> str:
    """Bytes as a person reads them: `1,512 B`, `121.1 MiB (127,000,000 B)`."""
    exact = f"{size:,} B"
    if abs(size) < 1024:
        return exact
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == _UNITS[-1]:
            break
    return f"{value:,.1f} {unit} ({exact})"


def value_text(member: str, value: Any) -> str:
    """A result as shown: sizes in units, counts with separators, ids as they are, a list
    joined, else its text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int):
        if member.startswith("snapshot_id"):  # an id, not a quantity
            return str(value)
        if member.startswith("bytes_"):
            return size_text(value)
        if member == "bandwidth_avg_bps":
            return f"{size_text(value)}/s"
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(value_text(member, each) for each in value[:MAX_TEXT])[:MAX_TEXT]
    if isinstance(value, str):
        return _text(value)
    return _text(repr(value))


def progress(kind: str, state: str) -> tuple[Step, ...]:
    """The kind's steps to its end, from the table its PATCH checks (jobs.TABLES), each marked
    by where `state` is. The first is the start the job took (`start_requested` unless it is in
    another); the end step is named by the final state once the job is in one (`final state`
    while it is not), or `stop_requested`."""
    table = TABLES[kind]
    start = state if state in table.starts else table.starts[0]
    path = [start, *table.steps]
    if state in path:
        at = path.index(state)
        steps = [Step(s, "done" if n < at else "current" if n == at else "todo") for n, s in enumerate(path)]
        return (*steps, Step("final state", "todo"))
    if state in table.final:
        before = "not_run" if state in NOT_RUN_STATES else "done"
        return (*(Step(s, before) for s in path), Step(state, "final"))
    # stop_requested (or a state this kind does not have): where the job was is not known.
    return (*(Step(s, "unknown") for s in path), Step(state, "current"))


def job_row(document: Document) -> JobRow:
    """A job's row and progress from its document."""
    job = job_of(document)
    body = document.body
    errors = body.get("errors")
    errors = errors if isinstance(errors, Mapping) else {}
    final = job.kind in TABLES and job.state in TABLES[job.kind].final
    results: tuple[tuple[str, str], ...] = ()
    if final:
        shown = ((member, value_text(member, body.get(member))) for member in RESULTS.get(job.kind, ()))
        results = tuple((member, text) for member, text in shown if text)
    return JobRow(
        kind=job.kind,
        id=job.id,
        project_id=job.project_id,
        agent_id=job.agent_id,
        state=job.state,
        final=final,
        last_updated_time=format_time(job.last_updated_time),
        created_time=_text(body.get("created_time")),
        started_time=_text(body.get("started_time")),
        ended_time=_text(body.get("ended_time")),
        configuration_id=job.configuration_id or "",
        backup_id=job.backup_id or "",
        errors=_count(errors.get("count")),
        reason=_text(errors.get("reason")),
        results=results,
        steps=progress(job.kind, job.state),
    )


def history(newest_first: Iterable[Event], kind: str, job_id: str) -> list[tuple[str, str]]:
    """(time, event type) of the job's newest events (those its events route lists), oldest
    first, at most HISTORY_SHOWN, from a feed read newest first."""
    found = []
    for event in newest_first:
        if names_job(event, kind, job_id):
            found.append((format_time(event.time), event.event))
            if len(found) == HISTORY_SHOWN:
                break
    return found[::-1]
