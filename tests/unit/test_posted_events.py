"""Posted events and the feeds' event members, pure (the guide's four event pages; SPEC "The
whole service": startup, shutdown, heartbeat, agent_activate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marshmallow import ValidationError

from logfiles import events
from logfiles.events import Event, EventQuery, event_body
from logfiles.model import LogFile, LogFileState
from logfiles.schemas import AGENT_EVENT, EVENT_QUERY, PROJECT_EVENT, PROJECT_EVENT_QUERY

PROJECT = "110011"
AGENT = "8f135b4f-7a69-4b8a-947f-5e80d772fd97"
T0 = datetime(2014, 10, 9, 12, 26, 14, 233501, tzinfo=UTC)


def shown(event: Event | None, project_feed: bool = False) -> dict[str, Any]:
    assert event is not None
    return event_body(
        Event(event.project_id, event.agent_id, event.time, event.event, event.details, 7), project_feed
    )


# What each posted event shows as (the feed pages' examples, key sets and order).


def test_shutdown_shows_as_agent_shutdown_with_agent_and_a_request_id() -> None:
    body = shown(events.posted(PROJECT, AGENT, T0, {"event": "shutdown"}, "req-1"))
    assert list(body) == ["id", "time", "event", "agent", "request_id"]
    assert (body["event"], body["agent"], body["request_id"]) == ("agent_shutdown", {"id": AGENT}, "req-1")


def test_heartbeat_shows_as_agent_heartbeat_with_the_agent_only() -> None:
    body = shown(events.posted(PROJECT, AGENT, T0, {"event": "heartbeat"}, "req-1"))
    assert list(body) == ["id", "time", "event", "agent"]
    assert (body["event"], body["agent"]) == ("agent_heartbeat", {"id": AGENT})


def test_startup_shows_as_no_event_of_its_own() -> None:
    assert events.posted(PROJECT, AGENT, T0, {"event": "startup"}, "req-1") is None


@pytest.mark.parametrize("agent_id", [None, AGENT], ids=["project", "agent"])
@pytest.mark.parametrize("mode", ["idle", "active", "real_time"])
def test_agent_activate_shows_its_mode_and_a_request_id_and_no_agent(agent_id: str | None, mode: str) -> None:
    emitted = events.posted(PROJECT, agent_id, T0, {"event": "agent_activate", "mode": mode}, "req-2")
    body = shown(emitted)
    assert list(body) == ["id", "time", "event", "mode", "request_id"]
    assert (body["mode"], body["request_id"]) == (mode, "req-2")
    assert emitted is not None and emitted.agent_id == agent_id


def test_posted_ignores_other_members() -> None:
    forged = {"event": "shutdown", "agent": {"id": "forged"}, "request_id": "forged", "mode": "idle", "x": 1}
    body = shown(events.posted(PROJECT, AGENT, T0, forged, "req-3"))
    assert body == {
        "id": "7",
        "time": "2014-10-09T12:26:14.233501Z",
        "event": "agent_shutdown",
        "agent": {"id": AGENT},
        "request_id": "req-3",
    }


# The project's feed shows no request_id where its page shows none.


@pytest.mark.parametrize(
    "name", ["agent_registered", "agent_activate", "agent_shutdown", "configuration_changed"]
)
def test_project_feed_leaves_out_the_request_id_its_page_does_not_show(name: str) -> None:
    details = (
        {"agent": {"id": AGENT}, "request_id": "r"}
        if name != "agent_activate"
        else {"mode": "idle", "request_id": "r"}
    )
    event = Event(PROJECT, AGENT, T0, name, details, 9)
    assert "request_id" in event_body(event)
    assert "request_id" not in event_body(event, project_feed=True)


@pytest.mark.parametrize("name", ["logfile_upload", "logfile_started", "logfile_completed", "host_browse"])
def test_project_feed_keeps_the_request_id_of_work_events(name: str) -> None:
    event = Event(PROJECT, AGENT, T0, name, {"agent": {"id": AGENT}, "request_id": "r"}, 9)
    assert event_body(event, project_feed=True) == event_body(event)


# startup: the agent's pending requests again, as new events.


def logfile(n: int, state: LogFileState = LogFileState.REQUESTED) -> LogFile:
    return LogFile(f"lf-{n}", PROJECT, AGENT, T0 + timedelta(seconds=n), state)


def test_pending_work_reposts_each_requested_logfile_in_order_at_now() -> None:
    files = [
        logfile(1),
        logfile(2, LogFileState.STARTED),
        logfile(3),
        logfile(4, LogFileState.COMPLETED),
    ]
    now = T0 + timedelta(hours=1)
    made = events.pending_work(files, lambda lf: f"https://store/{lf.id}.gz", now)
    assert [e.details["request_id"] for e in made] == ["lf-1", "lf-3"]
    for event in made:
        assert (event.event, event.time, event.agent_id, event.id) == ("logfile_upload", now, AGENT, 0)
        assert event.details["links"] == [
            {"href": f"https://store/{event.details['request_id']}.gz", "rel": "logfile"}
        ]
        assert event.details["agent"] == {"id": AGENT}


def test_pending_work_is_bounded() -> None:
    many = (logfile(n) for n in range(events.MAX_PENDING_REPOSTED + 5))
    made = events.pending_work(many, lambda lf: "u", T0)
    assert len(made) == events.MAX_PENDING_REPOSTED
    assert made[-1].details["request_id"] == f"lf-{events.MAX_PENDING_REPOSTED - 1}"


def test_pending_work_of_nothing_pending_is_empty() -> None:
    assert events.pending_work([logfile(1, LogFileState.COMPLETED)], lambda lf: "u", T0) == []


# The posted bodies' schemas: the values each page allows.


@pytest.mark.parametrize("name", ["startup", "shutdown", "heartbeat"])
def test_agent_event_schema_takes_the_agent_events(name: str) -> None:
    assert AGENT_EVENT.load({"event": name}) == {"event": name}


def test_agent_event_schema_takes_agent_activate_with_a_mode() -> None:
    assert AGENT_EVENT.load({"event": "agent_activate", "mode": "idle"})["mode"] == "idle"


@pytest.mark.parametrize("name", ["startup", "shutdown", "heartbeat", "agent_heartbeat", "Startup", "x"])
def test_project_event_schema_takes_agent_activate_only(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PROJECT_EVENT.load({"event": name})
    assert set(caught.value.messages) == {"event"}


@pytest.mark.parametrize(
    "body",
    [{"event": "agent_shutdown"}, {"event": "agent_registered"}, {"event": "STARTUP"}, {"event": ""}],
)
def test_agent_event_schema_refuses_other_values(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        AGENT_EVENT.load(body)
    assert set(caught.value.messages) == {"event"}


@pytest.mark.parametrize("mode", [None, "busy", "Active", "realtime"])
def test_agent_activate_needs_one_of_the_pages_modes(mode: str | None) -> None:
    body: dict[str, Any] = {"event": "agent_activate"}
    if mode is not None:
        body["mode"] = mode
    for schema in (AGENT_EVENT, PROJECT_EVENT):
        with pytest.raises(ValidationError) as caught:
            schema.load(body)
        assert set(caught.value.messages) == {"mode"}


# The feeds' query: each page's default direction.


def test_agent_feed_is_ascending_and_project_feed_descending_by_default() -> None:
    assert EVENT_QUERY.load({}) == EventQuery(limit=100)
    assert PROJECT_EVENT_QUERY.load({}) == EventQuery(limit=100, descending=True)
    assert PROJECT_EVENT_QUERY.load({"sort_dir": "asc", "marker": "5"}) == EventQuery(100, 5, False)
    assert EVENT_QUERY.load({"sort_dir": "desc", "marker": "5"}) == EventQuery(100, 5, True)
