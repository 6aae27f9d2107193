"""Events: what an agent polls to learn it has work, and what the service emits (stdlib only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .model import Agent, LogFile, LogFileState, format_time

# SPEC (ours): the guide calls events transient; each is listed for this much service-clock time.
EVENT_LIFETIME = timedelta(minutes=10)
# (ours) And at most this many are kept, newest first: with a frozen clock none expires.
MAX_EVENTS_KEPT = 1_000_000
# A feed's `marker` is 1 to 18 digits (schemas.MAX_MARKER_DIGITS), so no number may pass this.
MAX_EVENT_ID = 10**18 - 1
# (ours) A seeded event's own number is at most 17 digits, so the service's counter, which
# moves past every number seeded, keeps 9 * 10^17 numbers of room below the 18-digit bound:
# at a million events a second (the stub makes thousands) that lasts over 28,000 years. An
# export imports again unless it was seeded within a few numbers of this bound and then
# numbered events past it (they have 18 digits): seed test numbers well below it.
MAX_SEEDED_EVENT_ID = 10**17 - 1
# A counter past this can only come from a seed made before the bound above (nothing since
# makes 4 * 10^17 events): such a store is mended when nothing numbered past it is held.
MENDED_PAST = 5 * 10**17


def mended_counter(counter: int, newest_held: int | None) -> int | None:
    """The event counter a store should take instead of `counter`, or None to keep it.

    A counter left near 10^18 by an old, unbounded seed would number the next event with 19
    digits, which no feed marker can name; once no event numbered past MENDED_PAST is held,
    the counter comes back to just above what is held (or the seeded bound)."""
    if counter <= MENDED_PAST or (newest_held is not None and newest_held > MENDED_PAST):
        return None
    return max(newest_held or 0, MAX_SEEDED_EVENT_ID)


AGENT_REGISTERED = "agent_registered"
LOGFILE_UPLOAD = "logfile_upload"
AGENT_ACTIVATE = "agent_activate"
ENTERED_EVENTS: Mapping[LogFileState, str] = {
    LogFileState.STARTED: "logfile_started",
    LogFileState.COMPLETED: "logfile_completed",
}
# The members an event may carry besides id, time and event, in the guide's order.
DETAIL_ORDER = ("agent", "request_id", "mode", "links")


@dataclass(frozen=True, slots=True)
class Event:
    """One event. `agent_id` None: posted for every agent of the project (shown in each feed).

    `id` is 0 until a store keeps it; the store numbers events in the order it keeps them,
    increasing and never reused (reset included).
    """

    project_id: str
    agent_id: str | None
    time: datetime
    event: str
    details: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A feed's query. Ascending: ids after `marker`; descending: ids before it, newest first."""

    limit: int
    marker: int | None = None
    descending: bool = False

    def accepts(self, event_id: int) -> bool:
        if self.marker is None:
            return True
        return event_id < self.marker if self.descending else event_id > self.marker


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[Event]
    more: bool


def oldest_kept(now: datetime) -> datetime:
    """Events before this are gone from the feeds."""
    return now - EVENT_LIFETIME


def agent_registered(agent: Agent, request_id: str) -> Event:
    registration = agent.registration
    host = registration.get("host") or {}
    shown: dict[str, Any] = {"id": agent.id}
    if "name" in registration:
        shown["name"] = registration["name"]
    if isinstance(host, Mapping) and "os" in host:
        shown["host"] = {"os": host["os"]}
    return Event(
        agent.project_id,
        agent.id,
        agent.registered_time,
        AGENT_REGISTERED,
        {"agent": shown, "request_id": request_id},
    )


def logfile_upload(logfile: LogFile, upload_url: str) -> Event:
    """The agent's work order: upload the log to `upload_url` (the log file's `logfile` link)."""
    return Event(
        logfile.project_id,
        logfile.agent_id,
        logfile.date,
        LOGFILE_UPLOAD,
        {
            "agent": {"id": logfile.agent_id},
            "request_id": logfile.id,
            "links": [{"href": upload_url, "rel": "logfile"}],
        },
    )


def states_events(logfile: LogFile, entered: Sequence[LogFileState], now: datetime) -> list[Event]:
    """`logfile_started` / `logfile_completed` for each state a PATCH moved the log file into."""
    return [
        Event(
            logfile.project_id,
            logfile.agent_id,
            now,
            ENTERED_EVENTS[state],
            {"agent": {"id": logfile.agent_id}, "request_id": logfile.id},
        )
        for state in entered
        if state in ENTERED_EVENTS
    ]


def posted(
    project_id: str, agent_id: str | None, now: datetime, body: Mapping[str, Any], request_id: str
) -> Event:
    """An event a client posted: its `event` and `mode`, a new `request_id`, and the agent if any."""
    details: dict[str, Any] = {}
    if agent_id is not None:
        details["agent"] = {"id": agent_id}
    details["request_id"] = request_id
    if body.get("mode") is not None:
        details["mode"] = body["mode"]
    return Event(project_id, agent_id, now, body["event"], details)


def event_body(event: Event) -> dict[str, Any]:
    """The guide's event: id (a decimal string), time, event, then its details in the guide's order."""
    body: dict[str, Any] = {"id": str(event.id), "time": format_time(event.time), "event": event.event}
    details = event.details
    for name in DETAIL_ORDER:
        if name in details:
            body[name] = details[name]
    for name, value in details.items():
        if name not in body:
            body[name] = value
    return body


# Configurations (configurations.py): every create, PATCH and delete tells the agent.
CONFIGURATION_CHANGED = "configuration_changed"


def configuration_changed(
    project_id: str, agent_id: str, configuration_id: str, now: datetime, request_id: str
) -> Event:
    """The agent's cue to read its configuration again (the agent events page's example),
    naming the configuration as the configuration events page's events do."""
    return Event(
        project_id,
        agent_id,
        now,
        CONFIGURATION_CHANGED,
        {"agent": {"id": agent_id}, "request_id": request_id, "configuration": {"id": configuration_id}},
    )
