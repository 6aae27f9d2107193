"""Events: the feeds, what the service emits, posted events, paging, ids, retention (SPEC; design10).

The guide's pages' own examples, one by one, are in test_feeds_guide.py."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import TestResponse

from logfiles import Settings, create_app
from tests.api.support import MIB, assert_time, assert_uuid4, links_by_rel, padded
from tests.conftest import PROJECT, REGISTRATION, TOKEN, Api, assert_fault

OTHER_PROJECT = "220022"
WHEN = "2030-01-02T03:04:05.123456Z"
MEMBER_ORDER = ["id", "time", "event", "agent", "mode", "request_id", "links"]
OBSERVER = "token-observer"
CREATOR = "token-creator"
TOKENS = {
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    CREATOR: {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
    OBSERVER: {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
    "token-other-project": {"project_id": OTHER_PROJECT, "roles": ["admin"]},
}
# What each event type shows in each feed, as the feed pages' examples show it.
AGENT_FEED_KEYS = {
    "agent_registered": {"agent", "request_id"},
    "agent_activate": {"mode", "request_id"},
    "agent_heartbeat": {"agent"},
    "agent_shutdown": {"agent", "request_id"},
    "logfile_upload": {"agent", "request_id", "links"},
    "logfile_started": {"agent", "request_id"},
    "logfile_completed": {"agent", "request_id"},
}
PROJECT_FEED_KEYS = {
    **AGENT_FEED_KEYS,
    "agent_registered": {"agent"},
    "agent_activate": {"mode"},
    "agent_shutdown": {"agent"},
}
ACTIVATE = {"event": "agent_activate", "mode": "active"}


def feed(api: Api, agent_id: str | None = None, query: str = "", **kw: Any) -> dict[str, Any]:
    """A feed page, checked for its shape: events in the documented member order, both links."""
    response = api.list_events(agent_id, query, **kw)
    return checked_page(response, project_feed=agent_id is None)


def asc(api: Api, query: str = "", **kw: Any) -> dict[str, Any]:
    """The project's feed oldest first (its default is newest first)."""
    return feed(api, None, "&".join(filter(None, ["sort_dir=asc", query])), **kw)


def checked_page(response: TestResponse, project_feed: bool) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body: dict[str, Any] = json.loads(response.get_data())  # keeps the members' order
    assert set(body) == {"events", "links"}, body
    assert sorted(link["rel"] for link in body["links"]) == ["next", "previous"], body
    shapes = PROJECT_FEED_KEYS if project_feed else AGENT_FEED_KEYS
    for event in body["events"]:
        keys = list(event)
        assert keys == [k for k in MEMBER_ORDER if k in event], keys
        assert set(keys) == {"id", "time", "event", *shapes[event["event"]]}, event
        assert isinstance(event["id"], str) and event["id"].isascii() and event["id"].isdigit(), event
        assert str(int(event["id"])) == event["id"], event
        assert_time(event["time"])
    return body


def ids_of(body: dict[str, Any]) -> list[str]:
    return [event["id"] for event in body["events"]]


def names_of(body: dict[str, Any]) -> list[str]:
    return [event["event"] for event in body["events"]]


def follow(api: Api, href: str) -> dict[str, Any]:
    project_feed = "/agents/" not in urlsplit(href).path
    return checked_page(api.client.get(href, headers=api.headers()), project_feed)


def link_query(body: dict[str, Any], rel: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(links_by_rel(body)[rel]).query, keep_blank_values=True)


def direction(query: dict[str, list[str]], default: str = "asc") -> str:
    """The direction a link asks for (`default` when it names none: the agent's feed's)."""
    values = query.get("sort_dir", [default])
    assert len(values) == 1, query
    return values[0]


def post(api: Api, body: Any, agent_id: str | None = None, **kw: Any) -> None:
    response = api.post_event(body, agent_id, **kw)
    assert response.status_code == 202, (response.status_code, response.get_data(as_text=True))
    assert response.get_data() == b""


MODES = ("idle", "active", "real_time")


def posted_events(api: Api, count: int) -> list[str]:
    """`count` project-wide `agent_activate`s in a fresh project feed; their ids, oldest first."""
    assert feed(api)["events"] == []
    for n in range(count):
        post(api, {"event": "agent_activate", "mode": MODES[n % 3]})
    body = asc(api, "limit=1000")
    assert [e["mode"] for e in body["events"]] == [MODES[n % 3] for n in range(count)]
    return ids_of(body)


def only(body: dict[str, Any], name: str) -> dict[str, Any]:
    matching = [event for event in body["events"] if event["event"] == name]
    assert len(matching) == 1, body
    return matching[0]


# What the service emits.


def test_registration_emits_agent_registered(api: Api) -> None:
    now = api.freeze_clock(WHEN)
    agent_id = api.agent()
    (mine,) = feed(api, agent_id)["events"]
    (ours,) = feed(api)["events"]
    assert list(mine) == ["id", "time", "event", "agent", "request_id"]
    assert list(ours) == ["id", "time", "event", "agent"]  # the project page shows no request_id
    assert {k: v for k, v in mine.items() if k != "request_id"} == ours
    assert mine["event"] == "agent_registered"
    assert mine["time"] == now
    assert mine["agent"] == {
        "id": agent_id,
        "name": REGISTRATION["name"],
        "host": {"os": REGISTRATION["host"]["os"]},
    }
    assert_uuid4(mine["request_id"])
    assert mine["request_id"] != agent_id


def test_agent_registered_request_ids_are_new(api: Api) -> None:
    first, second = api.agent(), api.agent()
    assert (
        only(feed(api, first), "agent_registered")["request_id"]
        != only(feed(api, second), "agent_registered")["request_id"]
    )


def test_request_logfile_emits_logfile_upload_with_the_completed_logfile_link(api: Api) -> None:
    agent_id = api.agent()
    now = api.freeze_clock(WHEN)
    logfile_id = api.logfile(agent_id)
    event = only(feed(api, agent_id), "logfile_upload")
    assert list(event) == ["id", "time", "event", "agent", "request_id", "links"]
    assert event["agent"] == {"id": agent_id}
    assert event["request_id"] == logfile_id
    assert event["time"] == now
    (link,) = event["links"]
    assert link["rel"] == "logfile"
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    completed = api.get_logfile(agent_id, logfile_id).get_json()
    assert link["href"] == links_by_rel(completed)["logfile"]
    assert only(feed(api), "logfile_upload") == event


@pytest.mark.parametrize("name", ["logfile_started", "logfile_completed"])
def test_patch_emits_the_state_entered(api: Api, name: str) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    now = api.freeze_clock(WHEN)
    state = name.removeprefix("logfile_")
    assert api.patch_state(agent_id, logfile_id, state).status_code == 204
    event = only(feed(api, agent_id), name)
    assert list(event) == ["id", "time", "event", "agent", "request_id"]
    assert event["agent"] == {"id": agent_id}
    assert event["request_id"] == logfile_id
    assert event["time"] == now


def test_patch_events_follow_the_states_in_order_not_on_retries(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    for state in ("started", "started", "completed", "completed", "completed"):
        assert api.patch_state(agent_id, logfile_id, state).status_code == 204
    assert names_of(feed(api, agent_id)) == [
        "agent_registered",
        "logfile_upload",
        "logfile_started",
        "logfile_completed",
    ]


def test_patch_started_completed_at_once_emits_both(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert api.patch_state(agent_id, logfile_id, "started", "completed").status_code == 204
    body = feed(api, agent_id)
    assert names_of(body)[-2:] == ["logfile_started", "logfile_completed"]
    assert [e["request_id"] for e in body["events"][-2:]] == [logfile_id, logfile_id]
    assert int(body["events"][-2]["id"]) < int(body["events"][-1]["id"])


@pytest.mark.parametrize(
    ("values", "emitted"),
    [
        (("completed",), ["logfile_completed"]),
        (("started", "started"), ["logfile_started"]),
        (("completed", "completed"), ["logfile_completed"]),
        (("started", "started", "completed"), ["logfile_started", "logfile_completed"]),
    ],
)
def test_patch_from_requested_emits_one_event_per_state_entered(
    api: Api, values: tuple[str, ...], emitted: list[str]
) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert api.patch_state(agent_id, logfile_id, *values).status_code == 204
    assert names_of(feed(api, agent_id))[2:] == emitted


def test_rejected_patches_emit_nothing(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    before = asc(api)
    assert_fault(api.patch_state(agent_id, logfile_id, "started"), 409)
    assert_fault(api.patch_state(agent_id, logfile_id, "requested"), 400)
    other = api.logfile(agent_id)
    assert_fault(api.patch_state(agent_id, other, "started", "completed", "started"), 409)
    assert_fault(api.patch_state(agent_id, other, "started", "requested"), 400)
    after = asc(api)
    assert after["events"][: len(before["events"])] == before["events"]
    assert names_of(after)[len(before["events"]) :] == ["logfile_upload"]


def test_feeds_hold_the_agents_and_projects_events_only(api: Api) -> None:
    mine, neighbour = api.agent(), api.agent()
    theirs = api.agent(project_id=OTHER_PROJECT)
    api.logfile(mine)
    api.logfile(neighbour)
    assert api.request_logfile(theirs, project_id=OTHER_PROJECT).status_code == 202
    post(api, {"event": "agent_activate", "mode": "idle"})
    post(api, {"event": "shutdown"}, neighbour)
    post(api, ACTIVATE, project_id=OTHER_PROJECT)

    def agents_of(body: dict[str, Any]) -> list[str | None]:
        return [e.get("agent", {}).get("id") for e in body["events"]]

    assert agents_of(feed(api, mine)) == [mine, mine, None]
    assert names_of(feed(api, mine)) == ["agent_registered", "logfile_upload", "agent_activate"]
    assert agents_of(feed(api, neighbour)) == [neighbour, neighbour, None, neighbour]
    assert agents_of(asc(api)) == [mine, neighbour, mine, neighbour, None, neighbour]
    assert agents_of(feed(api)) == [neighbour, None, neighbour, mine, neighbour, mine]
    assert agents_of(asc(api, project_id=OTHER_PROJECT)) == [theirs, theirs, None]
    assert agents_of(feed(api, theirs, project_id=OTHER_PROJECT)) == [theirs, theirs, None]


def test_feed_of_unknown_agent_is_404(api: Api) -> None:
    assert_fault(api.list_events(str(uuid.uuid4())), 404)


def test_feed_of_other_projects_agent_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.list_events(agent_id, project_id=OTHER_PROJECT), 404)


def test_feed_of_deleted_agent_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert api.delete_agent(agent_id).status_code == 204
    assert_fault(api.list_events(agent_id), 404)


@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
def test_feed_without_token_is_401(api: Api, agent: bool) -> None:
    agent_id = api.agent() if agent else None
    assert_fault(api.list_events(agent_id, token=""), 401)


def test_empty_project_feed(api: Api) -> None:
    body = feed(api)
    assert body["events"] == []


# Posted events.


@pytest.mark.parametrize(
    ("posted", "shown"), [("shutdown", "agent_shutdown"), ("heartbeat", "agent_heartbeat")]
)
def test_post_agent_event_is_202_and_shows_in_both_feeds(api: Api, posted: str, shown: str) -> None:
    agent_id = api.agent()
    now = api.freeze_clock(WHEN)
    post(api, {"event": posted}, agent_id)
    mine, ours = only(feed(api, agent_id), shown), only(feed(api), shown)
    assert mine["agent"] == {"id": agent_id}
    assert mine["time"] == now
    if shown == "agent_shutdown":
        assert_uuid4(mine["request_id"])
        assert list(mine) == ["id", "time", "event", "agent", "request_id"]
        assert list(ours) == ["id", "time", "event", "agent"]
    else:
        assert list(mine) == list(ours) == ["id", "time", "event", "agent"]
    assert {k: v for k, v in mine.items() if k != "request_id"} == ours


def test_post_startup_shows_no_event_of_its_own(api: Api) -> None:
    agent_id = api.agent()
    before = feed(api, agent_id)
    post(api, {"event": "startup"}, agent_id)
    assert feed(api, agent_id) == before


def test_post_startup_posts_the_pending_requests_again_as_new_events(api: Api) -> None:
    """SPEC (ours): `startup` puts the agent's requests still pending into its feed again."""
    now = api.freeze_clock(WHEN)
    agent_id, other = api.agent(), api.agent()
    waiting, started, done, later = (api.logfile(agent_id) for _ in range(4))
    theirs = api.logfile(other)
    assert api.patch_state(agent_id, started, "started").status_code == 204
    assert api.patch_state(agent_id, done, "started", "completed").status_code == 204
    first = {e["request_id"]: e for e in feed(api, agent_id)["events"] if e["event"] == "logfile_upload"}
    newest = ids_of(feed(api, agent_id))[-1]
    post(api, {"event": "startup"}, agent_id)
    again = feed(api, agent_id, f"marker={newest}")["events"]
    assert [(e["event"], e["request_id"]) for e in again] == [
        ("logfile_upload", waiting),
        ("logfile_upload", later),
    ]
    for event in again:
        original = first[event["request_id"]]
        assert int(event["id"]) > int(newest)
        assert event["time"] == now
        assert (event["agent"], event["links"]) == (original["agent"], original["links"])
    # Only this agent's: its neighbour's pending request is not posted again.
    assert [e["request_id"] for e in feed(api, other)["events"] if e["event"] == "logfile_upload"] == [theirs]
    assert [e["request_id"] for e in feed(api)["events"][:2]] == [later, waiting]


def test_post_startup_with_nothing_pending_adds_nothing_but_hears_from_the_agent(api: Api) -> None:
    api.freeze_clock(WHEN)
    agent_id = api.agent()
    assert api.agent_status(agent_id).get_json()["online"] is False
    post(api, {"event": "startup"}, agent_id)
    assert api.agent_status(agent_id).get_json()["online"] is True
    assert names_of(feed(api, agent_id)) == ["agent_registered"]


def test_post_project_event_is_202_and_reaches_every_agent_of_the_project(api: Api) -> None:
    first, second = api.agent(), api.agent()
    theirs = api.agent(project_id=OTHER_PROJECT)
    now = api.freeze_clock(WHEN)
    post(api, ACTIVATE)
    event = only(feed(api, first), "agent_activate")
    assert list(event) == ["id", "time", "event", "mode", "request_id"]
    assert event["mode"] == "active"
    assert event["time"] == now
    assert_uuid4(event["request_id"])
    assert only(feed(api, second), "agent_activate") == event
    shown = only(feed(api), "agent_activate")
    assert list(shown) == ["id", "time", "event", "mode"]  # the project page shows no request_id
    assert shown == {k: v for k, v in event.items() if k != "request_id"}
    assert "agent_activate" not in names_of(feed(api, theirs, project_id=OTHER_PROJECT))
    assert "agent_activate" not in names_of(feed(api, project_id=OTHER_PROJECT))


@pytest.mark.parametrize("mode", ["active", "idle", "real_time"])
def test_agent_activate_for_one_agent_reaches_that_agent_only(api: Api, mode: str) -> None:
    """The agent page's note: posted there, "the activation applies to only a single agent"."""
    agent_id, neighbour = api.agent(), api.agent()
    post(api, {"event": "agent_activate", "mode": mode}, agent_id)
    event = only(feed(api, agent_id), "agent_activate")
    assert list(event) == ["id", "time", "event", "mode", "request_id"]
    assert event["mode"] == mode
    assert "agent_activate" not in names_of(feed(api, neighbour))
    assert only(feed(api), "agent_activate")["id"] == event["id"]


def test_post_event_mode_shows_on_agent_activate_only(api: Api) -> None:
    agent_id = api.agent()
    post(api, {"event": "shutdown", "mode": "idle"}, agent_id)
    post(api, {"event": "heartbeat", "mode": "active"}, agent_id)
    assert all("mode" not in e for e in feed(api, agent_id)["events"])


def test_post_event_ignores_other_members(api: Api) -> None:
    agent_id = api.agent()
    body = {
        "event": "shutdown",
        "id": "1",
        "time": "2001-01-01T00:00:00.000000Z",
        "agent": {"id": "someone-else"},
        "request_id": "mine",
        "links": [{"href": "x", "rel": "logfile"}],
        "surprise": [1, {"a": None}],
    }
    post(api, body, agent_id)
    event = only(feed(api, agent_id), "agent_shutdown")
    assert list(event) == ["id", "time", "event", "agent", "request_id"]
    assert event["agent"] == {"id": agent_id}
    assert event["id"] != "1" and event["time"] != body["time"]
    assert_uuid4(event["request_id"])


def test_post_event_content_type_with_charset_is_202(api: Api) -> None:
    post(api, ACTIVATE, content_type="Application/JSON; charset=UTF-8")


BAD_BODIES: list[tuple[Any, str]] = [
    ({}, "event"),
    ({"mode": "active"}, "event"),
    ({"event": ""}, "event"),
    ({"event": None}, "event"),
    ({"event": 1}, "event"),
    ({"event": ["startup"]}, "event"),
    ({"event": "x" * 256}, "event"),
    ({"event": "agent_heartbeat"}, "event"),
    ({"event": "agent_shutdown"}, "event"),
    ({"event": "Startup"}, "event"),
    ({"event": "backup_now"}, "event"),
    ({"event": "agent_activate"}, "mode"),
    ({"event": "agent_activate", "mode": None}, "mode"),
    ({"event": "agent_activate", "mode": "busy"}, "mode"),
    ({"event": "agent_activate", "mode": "Active"}, "mode"),
    ({"event": "agent_activate", "mode": 1}, "mode"),
    ({"event": "startup", "mode": "busy"}, "mode"),
    ({"event": "startup", "mode": True}, "mode"),
]


@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
@pytest.mark.parametrize(("body", "where"), BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_post_event_bad_body_is_400_naming_the_member(api: Api, agent: bool, body: Any, where: str) -> None:
    agent_id = api.agent() if agent else None
    before = feed(api)
    errors = assert_fault(api.post_event(body, agent_id), 400)["errors"]
    assert any(e.startswith(f"{where}: ") for e in errors), errors
    assert feed(api) == before


@pytest.mark.parametrize("name", ["startup", "shutdown", "heartbeat"])
def test_post_agent_events_to_the_project_are_400(api: Api, name: str) -> None:
    """The project's page allows `agent_activate` only."""
    errors = assert_fault(api.post_event({"event": name}), 400)["errors"]
    assert errors == ["event: must be one of: agent_activate"], errors


def test_post_agent_event_400_names_the_values_allowed(api: Api) -> None:
    errors = assert_fault(api.post_event({"event": "boot"}, api.agent()), 400)["errors"]
    assert errors == ["event: must be one of: startup, shutdown, heartbeat, agent_activate"], errors


@pytest.mark.parametrize("body", [[], [{"event": "startup"}], "startup", 1, None, True], ids=range(6))
def test_post_event_not_an_object_is_400(api: Api, body: Any) -> None:
    assert_fault(api.post_event(body, api.agent()), 400)
    assert_fault(api.post_event(body), 400)


@pytest.mark.parametrize("data", ["", "{", "nope", "{'event': 'x'}", "\xff", '{"event": NaN}'], ids=range(6))
def test_post_event_not_json_is_400(api: Api, data: str) -> None:
    assert_fault(api.post_event(data=data.encode("latin-1")), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json-patch+json", "application/xml", ""])
def test_post_event_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    agent_id = api.agent()
    before = feed(api)
    assert_fault(api.post_event({"event": "shutdown"}, agent_id, content_type=content_type), 415)
    assert_fault(api.post_event(ACTIVATE, content_type=content_type), 415)
    assert feed(api) == before


def test_post_event_without_content_type_is_415(api: Api) -> None:
    response = api.client.post(api.url("events"), data=json.dumps(ACTIVATE), headers=api.headers())
    assert_fault(response, 415)


def test_post_event_over_1_mib_is_413_and_exactly_1_mib_is_202(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.post_event(data=padded({"event": "shutdown"}, MIB + 1), agent_id=agent_id), 413)
    assert "agent_shutdown" not in names_of(feed(api))
    post(api, None, agent_id, data=padded({"event": "shutdown"}, MIB))
    assert names_of(feed(api)).count("agent_shutdown") == 1


def test_post_event_check_order_415_then_413_then_400(api: Api) -> None:
    oversized = b"{" * (MIB + 1)
    assert_fault(api.post_event(data=oversized, content_type="text/plain"), 415)
    assert_fault(api.post_event(data=oversized), 413)


def test_post_event_unknown_agent_is_404_before_415(api: Api) -> None:
    unknown = str(uuid.uuid4())
    assert_fault(api.post_event({"event": "startup"}, unknown), 404)
    assert_fault(api.post_event(data=b"x", agent_id=unknown, content_type="text/plain"), 404)


def test_post_event_agent_of_other_project_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.post_event({"event": "shutdown"}, agent_id, project_id=OTHER_PROJECT), 404)
    assert "agent_shutdown" not in names_of(feed(api))


@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
def test_post_event_without_token_is_401(api: Api, agent: bool) -> None:
    agent_id = api.agent() if agent else None
    before = feed(api)
    assert_fault(api.post_event(ACTIVATE, agent_id, token=""), 401)
    assert feed(api) == before


class TestWithTokensFile:
    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        path = tmp_path / "tokens.json"
        path.write_text(json.dumps(TOKENS))
        return Settings(store_url=store_url, tokens_file=str(path), control_open=True)

    @pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
    def test_observer_reads_but_cannot_post(self, api: Api, agent: bool) -> None:
        agent_id = api.agent() if agent else None
        before = feed(api, agent_id, token=OBSERVER)
        assert_fault(api.post_event(ACTIVATE, agent_id, token=OBSERVER), 403)
        assert feed(api, agent_id) == before

    @pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
    def test_creator_posts(self, api: Api, agent: bool) -> None:
        agent_id = api.agent() if agent else None
        post(api, ACTIVATE, agent_id, token=CREATOR)
        assert "agent_activate" in names_of(feed(api, agent_id))

    def test_observer_unknown_agent_bad_body_is_403(self, api: Api) -> None:
        response = api.post_event(data=b"x", agent_id="nobody", content_type="text/plain", token=OBSERVER)
        assert_fault(response, 403)

    def test_other_project_token_is_403_and_unknown_token_401(self, api: Api) -> None:
        agent_id = api.agent()
        for target in (agent_id, None):
            assert_fault(api.list_events(target, token="token-other-project"), 403)
            assert_fault(api.post_event({"event": "x"}, target, token="token-other-project"), 403)
            assert_fault(api.list_events(target, token="not-configured"), 401)
            assert_fault(api.post_event({"event": "x"}, target, token="not-configured"), 401)

    def test_feed_unknown_token_and_bad_marker_is_401(self, api: Api) -> None:
        assert_fault(api.list_events(None, "marker=abc", token="not-configured"), 401)


# Paging: marker, limit, sort_dir and the two links.


def test_project_feed_is_newest_first_by_default_and_the_agent_feed_oldest_first(api: Api) -> None:
    """SPEC, The whole service: the default `sort_dir` as each page says."""
    agent_id = api.agent()
    post(api, ACTIVATE)
    post(api, {"event": "heartbeat"}, agent_id)
    oldest_first = ids_of(feed(api, agent_id))
    assert len(oldest_first) == 3 and [int(i) for i in oldest_first] == sorted(int(i) for i in oldest_first)
    assert ids_of(feed(api)) == oldest_first[::-1]
    assert ids_of(feed(api, query="sort_dir=desc")) == oldest_first[::-1]
    assert ids_of(asc(api)) == oldest_first
    assert ids_of(feed(api, agent_id, "sort_dir=asc")) == oldest_first
    assert ids_of(feed(api, agent_id, "sort_dir=desc")) == oldest_first[::-1]


def test_feed_asc_is_oldest_first_and_marker_means_newer(api: Api) -> None:
    ids = posted_events(api, 5)
    assert [int(i) for i in ids] == sorted({int(i) for i in ids})
    assert ids_of(asc(api)) == ids
    assert ids_of(asc(api, f"marker={ids[1]}")) == ids[2:]
    assert ids_of(asc(api, f"marker={ids[1]}&limit=2")) == ids[2:4]
    assert ids_of(asc(api, "limit=2")) == ids[:2]
    assert ids_of(asc(api, f"marker={ids[-1]}")) == []
    assert ids_of(asc(api, "marker=0")) == ids
    assert ids_of(asc(api, f"marker={'9' * 18}")) == []


def test_feed_desc_is_newest_first_and_marker_means_older(api: Api) -> None:
    ids = posted_events(api, 5)
    newest_first = ids[::-1]
    for explicit in ("sort_dir=desc&", ""):  # desc is the project feed's default
        assert ids_of(feed(api, query=f"{explicit}limit=100")) == newest_first
        assert ids_of(feed(api, query=f"{explicit}limit=2")) == newest_first[:2]
        assert ids_of(feed(api, query=f"{explicit}marker={ids[3]}")) == [ids[2], ids[1], ids[0]]
        assert ids_of(feed(api, query=f"{explicit}marker={ids[3]}&limit=2")) == [ids[2], ids[1]]
        assert ids_of(feed(api, query=f"{explicit}marker={ids[0]}")) == []
        assert ids_of(feed(api, query=f"{explicit}marker={'9' * 18}")) == newest_first
        assert ids_of(feed(api, query=f"{explicit}marker=0")) == []


def test_feed_marker_between_ids_and_of_other_feeds(api: Api) -> None:
    ids = posted_events(api, 3)
    other = api.agent(project_id=OTHER_PROJECT)
    (theirs,) = ids_of(feed(api, other, project_id=OTHER_PROJECT))
    assert int(theirs) > int(ids[-1])
    # An id of another project's event is just a number: newer than it, or older than it.
    assert ids_of(asc(api, f"marker={theirs}")) == []
    assert ids_of(feed(api, query=f"marker={theirs}")) == ids[::-1]


def test_feed_default_limit_is_100_and_limit_1000_is_allowed(api: Api) -> None:
    ids = posted_events(api, 101)
    assert ids_of(asc(api)) == ids[:100]
    assert ids_of(asc(api, "limit=1000")) == ids
    assert ids_of(feed(api)) == ids[::-1][:100]


def test_asc_links_page_forward_and_back(api: Api) -> None:
    ids = posted_events(api, 5)
    first = asc(api, "limit=2")
    assert ids_of(first) == ids[:2]
    nxt, prev = link_query(first, "next"), link_query(first, "previous")
    # The project's feed names `asc` in its links: it is not that feed's default.
    assert (nxt["marker"], nxt["sort_dir"], nxt["limit"]) == ([ids[1]], ["asc"], ["2"])
    assert (prev["marker"], prev["sort_dir"], prev["limit"]) == ([ids[0]], ["desc"], ["2"])
    assert ids_of(follow(api, links_by_rel(first)["previous"])) == []

    second = follow(api, links_by_rel(first)["next"])
    assert ids_of(second) == ids[2:4]
    back = follow(api, links_by_rel(second)["previous"])
    assert ids_of(back) == [ids[1], ids[0]]
    third = follow(api, links_by_rel(second)["next"])
    assert ids_of(third) == ids[4:]
    empty = follow(api, links_by_rel(third)["next"])
    assert ids_of(empty) == []
    # An empty page's next link keeps the marker it was given: poll it for news.
    again = link_query(empty, "next")
    assert (again["marker"], again["sort_dir"], again["limit"]) == ([ids[4]], ["asc"], ["2"])
    post(api, ACTIVATE)
    news = follow(api, links_by_rel(empty)["next"])
    assert names_of(news) == ["agent_activate"]


def test_desc_links_page_back_and_forward(api: Api) -> None:
    ids = posted_events(api, 5)
    first = feed(api, query="limit=2")
    assert ids_of(first) == [ids[4], ids[3]]
    nxt, prev = link_query(first, "next"), link_query(first, "previous")
    assert (nxt["marker"], nxt["sort_dir"], nxt["limit"]) == ([ids[3]], ["desc"], ["2"])
    assert (prev["marker"], prev["sort_dir"], prev["limit"]) == ([ids[4]], ["asc"], ["2"])
    assert ids_of(follow(api, links_by_rel(first)["previous"])) == []

    second = follow(api, links_by_rel(first)["next"])
    assert ids_of(second) == [ids[2], ids[1]]
    forward = follow(api, links_by_rel(second)["previous"])
    assert ids_of(forward) == [ids[3], ids[4]]
    third = follow(api, links_by_rel(second)["next"])
    assert ids_of(third) == [ids[0]]
    empty = follow(api, links_by_rel(third)["next"])
    assert ids_of(empty) == []
    again = link_query(empty, "next")
    assert (again["marker"], again["sort_dir"]) == ([ids[0]], ["desc"])


def test_agent_feed_links_as_its_page_shows_them(api: Api) -> None:
    """The agent page's links: `next` `marker=<last>` (its default, asc, unnamed), `previous`
    `marker=<first>&sort_dir=desc`; a desc page names desc both ways it goes desc."""
    agent_id = api.agent()
    post(api, {"event": "heartbeat"}, agent_id)
    ids = ids_of(feed(api, agent_id))
    body = feed(api, agent_id)
    assert link_query(body, "next") == {"marker": [ids[-1]]}
    assert link_query(body, "previous") == {"marker": [ids[0]], "sort_dir": ["desc"]}
    body = feed(api, agent_id, "sort_dir=desc")
    assert link_query(body, "next") == {"marker": [ids[0]], "sort_dir": ["desc"]}
    assert link_query(body, "previous") == {"marker": [ids[-1]]}


def test_links_are_absolute_and_leave_out_a_limit_not_given(api: Api) -> None:
    agent_id = api.agent()
    ids = ids_of(feed(api, agent_id))
    for body, path in (
        (feed(api, agent_id), f"/v2/{PROJECT}/agents/{agent_id}/events"),
        (feed(api), f"/v2/{PROJECT}/events"),
    ):
        for rel in ("next", "previous"):
            parts = urlsplit(links_by_rel(body)[rel])
            assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"http://localhost{path}"
            query = link_query(body, rel)
            assert "limit" not in query, query
        assert link_query(body, "next")["marker"] == [ids[-1]]
        assert link_query(body, "previous")["marker"] == [ids[0]]


def test_empty_page_without_marker_has_a_next_link_without_marker(api: Api) -> None:
    agent_id = api.agent()
    for query, direction_of_next in (("limit=5", "desc"), ("limit=5&sort_dir=asc", "asc")):
        body = feed(api, query=query, project_id="empty")
        assert body["events"] == []
        nxt = link_query(body, "next")
        assert "marker" not in nxt and nxt["sort_dir"] == [direction_of_next] and nxt["limit"] == ["5"]
    body = feed(api, agent_id, "limit=5&marker=999999999")
    nxt = link_query(body, "next")
    assert nxt == {"marker": ["999999999"], "limit": ["5"]}
    body = feed(api, query="limit=5", project_id="later")
    post(api, ACTIVATE, project_id="later")
    assert names_of(follow(api, links_by_rel(body)["next"])) == ["agent_activate"]


def test_agent_feed_links_page_the_agent_feed(api: Api) -> None:
    agent_id = api.agent()
    for name in ("heartbeat", "shutdown", "heartbeat"):
        post(api, {"event": name}, agent_id)
    post(api, {"event": "shutdown"}, api.agent())
    body = feed(api, agent_id, "limit=2")
    names = names_of(body)
    while links_by_rel(body) and body["events"]:
        body = follow(api, links_by_rel(body)["next"])
        names += names_of(body)
    assert names == ["agent_registered", "agent_heartbeat", "agent_shutdown", "agent_heartbeat"]


@pytest.mark.parametrize(
    "marker", ["abc", "-1", "1.5", "", "9" * 19, " 1", "+1", "1e3", "\u0661", "0x10"], ids=range(10)
)
@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
def test_bad_marker_is_400(api: Api, agent: bool, marker: str) -> None:
    agent_id = api.agent() if agent else None
    errors = assert_fault(api.list_events(agent_id, f"marker={marker}"), 400)["errors"]
    assert any(e.startswith("marker: ") for e in errors), errors


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", "", "+5", "9" * 40], ids=range(8))
@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
def test_bad_limit_is_400(api: Api, agent: bool, limit: str) -> None:
    agent_id = api.agent() if agent else None
    errors = assert_fault(api.list_events(agent_id, f"limit={limit}"), 400)["errors"]
    assert any(e.startswith("limit: ") for e in errors), errors


@pytest.mark.parametrize("sort_dir", ["up", "", "ascending", "descending", "1", "DESC"])
@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
def test_bad_sort_dir_is_400(api: Api, agent: bool, sort_dir: str) -> None:
    agent_id = api.agent() if agent else None
    for query in (f"sort_dir={sort_dir}", f"marker=5&sort_dir={sort_dir}"):
        errors = assert_fault(api.list_events(agent_id, query), 400)["errors"]
        assert any(e.startswith("sort_dir: ") for e in errors), errors


def test_bad_marker_limit_and_sort_dir_all_listed(api: Api) -> None:
    errors = assert_fault(api.list_events(None, "marker=x&limit=0&sort_dir=up"), 400)["errors"]
    for where in ("marker", "limit", "sort_dir"):
        assert any(e.startswith(f"{where}: ") for e in errors), (where, errors)


def test_unknown_agent_with_bad_query_is_404(api: Api) -> None:
    assert_fault(api.list_events(str(uuid.uuid4()), "marker=x&limit=0&sort_dir=up"), 404)


def test_feed_ignores_parameters_it_does_not_know(api: Api) -> None:
    ids = posted_events(api, 2)
    assert ids_of(feed(api, query="foo=bar&event=e1")) == ids[::-1]
    assert ids_of(feed(api, query=f"marker={ids[1]}&foo=bar")) == ids[:1]


# Ids: decimal strings, increasing, never reused.


def test_ids_increase_across_kinds_and_feeds(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    api.patch_state(agent_id, logfile_id, "started", "completed")
    post(api, {"event": "shutdown"}, agent_id)
    post(api, ACTIVATE)
    ids = [int(i) for i in ids_of(asc(api))]
    assert len(ids) == 6
    assert ids == sorted(set(ids))
    assert ids_of(feed(api, agent_id)) == ids_of(asc(api))


def test_ids_never_reused_after_a_reset(api: Api) -> None:
    api.agent()
    post(api, ACTIVATE)
    before = max(int(i) for i in ids_of(feed(api)))
    api.reset()
    assert feed(api)["events"] == []
    agent_id = api.agent()
    (after,) = ids_of(feed(api, agent_id))
    assert int(after) > before
    # A marker from before the reset still means "newer than that".
    assert ids_of(asc(api, f"marker={before}")) == [after]


def test_ids_never_reused_after_a_delete(api: Api) -> None:
    doomed = api.agent()
    (gone,) = ids_of(feed(api, doomed))
    assert api.delete_agent(doomed).status_code == 204
    kept = api.agent()
    assert all(int(i) > int(gone) for i in ids_of(feed(api, kept)))


# Retention: 10 minutes of service-clock time.


def test_events_older_than_10_minutes_are_not_listed(api: Api) -> None:
    api.freeze_clock(WHEN)
    agent_id = api.agent()
    (registered,) = ids_of(feed(api, agent_id))
    api.advance_clock(300)
    post(api, {"event": "heartbeat"}, agent_id)
    (later,) = ids_of(feed(api, agent_id, f"marker={registered}"))
    api.advance_clock(299)
    assert ids_of(feed(api, agent_id)) == [registered, later]
    api.advance_clock(2)  # registered: 601 s old; later: 301 s
    assert ids_of(feed(api, agent_id)) == [later]
    assert ids_of(feed(api)) == [later]
    assert ids_of(asc(api)) == [later]
    # A marker naming a gone event still means "newer than that id".
    assert ids_of(feed(api, agent_id, f"marker={registered}")) == [later]
    assert ids_of(feed(api, query=f"marker={later}&sort_dir=desc")) == []
    api.advance_clock(300)
    assert feed(api, agent_id)["events"] == []
    assert feed(api)["events"] == []


def test_retention_keeps_paging_links_working(api: Api) -> None:
    api.freeze_clock(WHEN)
    ids = posted_events(api, 3)
    page = asc(api, "limit=2")
    api.advance_clock(601)
    post(api, ACTIVATE)
    nxt = follow(api, links_by_rel(page)["next"])
    assert names_of(nxt) == ["agent_activate"]
    assert int(nxt["events"][0]["id"]) > int(ids[-1])


# X-Agent-Id in the request journal.


def journal(api: Api, query: str = "") -> list[dict[str, Any]]:
    response = api.control("get", "requests" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.get_json()
    entries: list[dict[str, Any]] = response.get_json()["requests"]
    return entries


def test_x_agent_id_is_recorded_and_filters_the_journal(api: Api) -> None:
    first, second = api.agent(), api.agent()
    assert api.control("delete", "requests").status_code == 204
    api.get_agent(first, extra_headers={"X-Agent-Id": first})
    api.list_events(first, extra_headers={"X-Agent-Id": first})
    api.get_agent(second, extra_headers={"X-Agent-Id": second})
    api.get_agent(first)
    api.client.get(f"/v2/{PROJECT}/nothing/here", headers=api.headers(**{"X-Agent-Id": first}))
    entries = journal(api, f"agent_id={first}")
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", f"/v2/{PROJECT}/agents/{first}", 200),
        ("GET", f"/v2/{PROJECT}/agents/{first}/events", 200),
        ("GET", f"/v2/{PROJECT}/nothing/here", 404),
    ]
    assert all(e["headers"]["X-Agent-Id"] == first for e in entries), entries
    assert [e["path"] for e in journal(api, f"agent_id={second}")] == [f"/v2/{PROJECT}/agents/{second}"]
    assert journal(api, f"agent_id={uuid.uuid4()}") == []
    assert len(journal(api)) >= 5


def test_x_agent_id_is_never_required(api: Api) -> None:
    agent_id = api.agent()
    assert api.get_agent(agent_id).status_code == 200
    response = api.get_agent(agent_id, extra_headers={"X-Agent-Id": "not-an-agent"})
    assert response.status_code == 200


# Ids across workers and restarts: two apps on one SQLite file are two workers, or a restart.


def sqlite_api(path: Path) -> tuple[Api, Any]:
    app = create_app(Settings(store_url=f"sqlite:///{path}"))
    return Api(app.test_client()), app


def test_ids_increase_across_workers_sharing_a_sqlite_store(tmp_path: Path) -> None:
    (one, app_one), (two, app_two) = sqlite_api(tmp_path / "s.db"), sqlite_api(tmp_path / "s.db")
    try:
        agent_id = one.agent()
        post(two, {"event": "shutdown"}, agent_id)
        post(one, {"event": "agent_activate", "mode": "idle"})
        post(two, {"event": "heartbeat"}, agent_id)
        for api in (one, two):
            body = feed(api, agent_id)
            assert names_of(body) == [
                "agent_registered",
                "agent_shutdown",
                "agent_activate",
                "agent_heartbeat",
            ]
            ids = [int(i) for i in ids_of(body)]
            assert ids == sorted(set(ids))
        assert feed(one) == feed(two)
        assert feed(one, agent_id) == feed(two, agent_id)
    finally:
        app_one.extensions["logfiles"].store.close()
        app_two.extensions["logfiles"].store.close()


def test_ids_never_reused_after_a_restart_and_a_reset(tmp_path: Path) -> None:
    api, app = sqlite_api(tmp_path / "s.db")
    api.agent()
    (before,) = ids_of(feed(api))
    app.extensions["logfiles"].store.close()
    api, app = sqlite_api(tmp_path / "s.db")
    try:
        assert ids_of(feed(api)) == [before]
        api.reset()
        api.agent()
        (after,) = ids_of(feed(api))
        assert int(after) > int(before)
    finally:
        app.extensions["logfiles"].store.close()
    api, app = sqlite_api(tmp_path / "s.db")
    try:
        api.agent()
        assert int(ids_of(feed(api))[0]) > int(after)  # newest first
    finally:
        app.extensions["logfiles"].store.close()
