"""Events: what an agent polls to learn it has work, and what the service emits (stdlib only)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
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
AGENT_HEARTBEAT = "agent_heartbeat"
AGENT_SHUTDOWN = "agent_shutdown"
CONFIGURATION_CHANGED = "configuration_changed"
ENTERED_EVENTS: Mapping[LogFileState, str] = {
    LogFileState.STARTED: "logfile_started",
    LogFileState.COMPLETED: "logfile_completed",
}
# The members an event may carry besides id, time and event, in the guide's order (its
# `agent_activate` shows `mode` before `request_id`).
DETAIL_ORDER = ("agent", "mode", "request_id", "links")

# Posted events. An agent posts `startup` and `shutdown` (its page) and, (ours), `heartbeat`
# (the project events page says an activated agent posts heartbeats); `agent_activate` too,
# for itself alone (the page's note: posted there, "the activation applies to only a single
# agent"). A project posts `agent_activate`. The feeds show each as the guide's feeds name it;
# `startup` shows as no event of its own (no feed page has one): it posts the agent's pending
# work again (`pending_work`).
STARTUP = "startup"
SHUTDOWN = "shutdown"
HEARTBEAT = "heartbeat"
SHOWN_AS: Mapping[str, str | None] = {
    STARTUP: None,
    SHUTDOWN: AGENT_SHUTDOWN,
    HEARTBEAT: AGENT_HEARTBEAT,
    AGENT_ACTIVATE: AGENT_ACTIVATE,
}
AGENT_POSTED = (STARTUP, SHUTDOWN, HEARTBEAT, AGENT_ACTIVATE)
PROJECT_POSTED = (AGENT_ACTIVATE,)
# `agent_activate`'s modes, as the project events page lists them.
ACTIVATE_MODES = ("idle", "active", "real_time")
# The project's feed shows no `request_id` on these, where the agent's feed does: each page's
# table and example say so (the project page lists `request_id` only for the vault, browse and
# log-file events).
AGENT_FEED_REQUEST_ID = frozenset({AGENT_REGISTERED, AGENT_ACTIVATE, AGENT_SHUTDOWN, CONFIGURATION_CHANGED})
# (ours) `startup` posts at most this many pending requests again, the oldest first.
MAX_PENDING_REPOSTED = 1000


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


def logfile_upload(logfile: LogFile, upload_url: str, time: datetime | None = None) -> Event:
    """The agent's work order: upload the log to `upload_url` (the log file's `logfile` link).

    At the request's date, or at `time` when posted again (an agent's `startup`)."""
    return Event(
        logfile.project_id,
        logfile.agent_id,
        logfile.date if time is None else time,
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
) -> Event | None:
    """The event a client posted (a body the schema accepted), as the feeds show it; None for
    `startup`, which shows as its pending work instead (`pending_work`).

    `agent_shutdown` carries the agent and a new `request_id`; `agent_heartbeat` the agent
    only; `agent_activate` its `mode` and a new `request_id`, and no agent (the guide's feeds
    show none, whether posted for the project or for one agent). Other members are ignored.
    """
    shown = SHOWN_AS[body["event"]]
    if shown is None:
        return None
    details: dict[str, Any] = {}
    if shown == AGENT_ACTIVATE:
        details["mode"] = body["mode"]
    elif agent_id is not None:
        details["agent"] = {"id": agent_id}
    if shown != AGENT_HEARTBEAT:
        details["request_id"] = request_id
    return Event(project_id, agent_id, now, shown, details)


def pending_work(
    logfiles: Iterable[LogFile], upload_url: Callable[[LogFile], str], now: datetime
) -> list[Event]:
    """SPEC (ours): an agent's `startup` puts its requests still pending into its feed again, as
    new events: a `logfile_upload` (same `request_id` and link) for each log file still
    `requested`, in request order, at most MAX_PENDING_REPOSTED."""
    pending = (logfile for logfile in logfiles if logfile.state is LogFileState.REQUESTED)
    return [
        logfile_upload(logfile, upload_url(logfile), now)
        for logfile in itertools.islice(pending, MAX_PENDING_REPOSTED)
    ]


def event_body(event: Event, project_feed: bool = False) -> dict[str, Any]:
    """The guide's event: id (a decimal string), time, event, then its details in the guide's
    order; in the project's feed without the `request_id` its page does not show."""
    body: dict[str, Any] = {"id": str(event.id), "time": format_time(event.time), "event": event.event}
    details = event.details
    hidden = "request_id" if project_feed and event.event in AGENT_FEED_REQUEST_ID else None
    for name in DETAIL_ORDER:
        if name in details and name != hidden:
            body[name] = details[name]
    for name, value in details.items():
        if name not in body and name != hidden:
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
