"""Events: the feeds, what the service emits, posted events, paging, ids, retention (SPEC; design10)."""

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
MEMBER_ORDER = ["id", "time", "event", "agent", "request_id", "mode", "links"]
OBSERVER = "token-observer"
CREATOR = "token-creator"
TOKENS = {
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    CREATOR: {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
    OBSERVER: {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
    "token-other-project": {"project_id": OTHER_PROJECT, "roles": ["admin"]},
}


def feed(api: Api, agent_id: str | None = None, query: str = "", **kw: Any) -> dict[str, Any]:
    """A feed page, checked for its shape: events in the documented member order, both links."""
    response = api.list_events(agent_id, query, **kw)
    return checked_page(response)


def checked_page(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body: dict[str, Any] = json.loads(response.get_data())  # keeps the members' order
    assert set(body) == {"events", "links"}, body
    assert sorted(link["rel"] for link in body["links"]) == ["next", "previous"], body
    for event in body["events"]:
        keys = list(event)
        assert keys == [k for k in MEMBER_ORDER if k in event], keys
        assert {"id", "time", "event", "request_id"} <= set(keys), event
        assert isinstance(event["id"], str) and event["id"].isascii() and event["id"].isdigit(), event
        assert str(int(event["id"])) == event["id"], event
        assert_time(event["time"])
    return body


def ids_of(body: dict[str, Any]) -> list[str]:
    return [event["id"] for event in body["events"]]


def names_of(body: dict[str, Any]) -> list[str]:
    return [event["event"] for event in body["events"]]


def follow(api: Api, href: str) -> dict[str, Any]:
    return checked_page(api.client.get(href, headers=api.headers()))


def link_query(body: dict[str, Any], rel: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(links_by_rel(body)[rel]).query, keep_blank_values=True)


def direction(query: dict[str, list[str]]) -> str:
    """The direction a link asks for (asc is the default)."""
    values = query.get("sort_dir", ["asc"])
    assert len(values) == 1, query
    return values[0]


def post(api: Api, body: Any, agent_id: str | None = None, **kw: Any) -> None:
    response = api.post_event(body, agent_id, **kw)
    assert response.status_code == 202, (response.status_code, response.get_data(as_text=True))
    assert response.get_data() == b""


def posted_events(api: Api, count: int) -> list[str]:
    """`count` project-wide events posted in a fresh project feed; their ids, oldest first."""
    assert feed(api)["events"] == []
    for n in range(count):
        post(api, {"event": f"e{n}"})
    body = feed(api, query="limit=1000")
    assert names_of(body) == [f"e{n}" for n in range(count)]
    return ids_of(body)


def only(body: dict[str, Any], name: str) -> dict[str, Any]:
    matching = [event for event in body["events"] if event["event"] == name]
    assert len(matching) == 1, body
    return matching[0]


# What the service emits.


def test_registration_emits_agent_registered(api: Api) -> None:
    now = api.freeze_clock(WHEN)
    agent_id = api.agent()
    for body in (feed(api), feed(api, agent_id)):
        (event,) = body["events"]
        assert list(event) == ["id", "time", "event", "agent", "request_id"]
        assert event["event"] == "agent_registered"
        assert event["time"] == now
        assert event["agent"] == {
            "id": agent_id,
            "name": REGISTRATION["name"],
            "host": {"os": REGISTRATION["host"]["os"]},
        }
        assert_uuid4(event["request_id"])
        assert event["request_id"] not in (agent_id,)


def test_agent_registered_request_ids_are_new(api: Api) -> None:
    api.agent(), api.agent()
    first, second = feed(api)["events"]
    assert first["request_id"] != second["request_id"]


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
    before = feed(api)
    assert_fault(api.patch_state(agent_id, logfile_id, "started"), 409)
    assert_fault(api.patch_state(agent_id, logfile_id, "requested"), 400)
    other = api.logfile(agent_id)
    assert_fault(api.patch_state(agent_id, other, "started", "completed", "started"), 409)
    assert_fault(api.patch_state(agent_id, other, "started", "requested"), 400)
    after = feed(api)
    assert after["events"][: len(before["events"])] == before["events"]
    assert names_of(after)[len(before["events"]) :] == ["logfile_upload"]


def test_feeds_hold_the_agents_and_projects_events_only(api: Api) -> None:
    mine, neighbour = api.agent(), api.agent()
    theirs = api.agent(project_id=OTHER_PROJECT)
    api.logfile(mine)
    api.logfile(neighbour)
    assert api.request_logfile(theirs, project_id=OTHER_PROJECT).status_code == 202
    post(api, {"event": "agent_activate", "mode": "idle"})
    post(api, {"event": "startup"}, neighbour)
    post(api, {"event": "elsewhere"}, project_id=OTHER_PROJECT)

    def agents_of(body: dict[str, Any]) -> list[str | None]:
        return [e.get("agent", {}).get("id") for e in body["events"]]

    assert agents_of(feed(api, mine)) == [mine, mine, None]
    assert names_of(feed(api, mine)) == ["agent_registered", "logfile_upload", "agent_activate"]
    assert agents_of(feed(api, neighbour)) == [neighbour, neighbour, None, neighbour]
    assert agents_of(feed(api)) == [mine, neighbour, mine, neighbour, None, neighbour]
    assert agents_of(feed(api, project_id=OTHER_PROJECT)) == [theirs, theirs, None]
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


def test_post_agent_event_is_202_and_shows_in_both_feeds(api: Api) -> None:
    agent_id = api.agent()
    now = api.freeze_clock(WHEN)
    post(api, {"event": "startup"}, agent_id)
    for body in (feed(api, agent_id), feed(api)):
        event = only(body, "startup")
        assert list(event) == ["id", "time", "event", "agent", "request_id"]
        assert event["agent"] == {"id": agent_id}
        assert event["time"] == now
        assert_uuid4(event["request_id"])


def test_post_project_event_is_202_and_reaches_every_agent_of_the_project(api: Api) -> None:
    first, second = api.agent(), api.agent()
    theirs = api.agent(project_id=OTHER_PROJECT)
    now = api.freeze_clock(WHEN)
    post(api, {"event": "agent_activate", "mode": "active"})
    event = only(feed(api), "agent_activate")
    assert list(event) == ["id", "time", "event", "request_id", "mode"]
    assert event["mode"] == "active"
    assert event["time"] == now
    assert_uuid4(event["request_id"])
    assert only(feed(api, first), "agent_activate") == event
    assert only(feed(api, second), "agent_activate") == event
    assert "agent_activate" not in names_of(feed(api, theirs, project_id=OTHER_PROJECT))
    assert "agent_activate" not in names_of(feed(api, project_id=OTHER_PROJECT))


@pytest.mark.parametrize("mode", ["active", "idle"])
def test_post_event_keeps_a_mode_on_any_event(api: Api, mode: str) -> None:
    agent_id = api.agent()
    post(api, {"event": "agent_activate", "mode": mode}, agent_id)
    post(api, {"event": "startup", "mode": mode}, agent_id)
    events = feed(api, agent_id)["events"][-2:]
    assert [(e["event"], e["mode"]) for e in events] == [("agent_activate", mode), ("startup", mode)]


def test_post_event_ignores_other_members(api: Api) -> None:
    agent_id = api.agent()
    body = {
        "event": "startup",
        "id": "1",
        "time": "2001-01-01T00:00:00.000000Z",
        "agent": {"id": "someone-else"},
        "request_id": "mine",
        "links": [{"href": "x", "rel": "logfile"}],
        "surprise": [1, {"a": None}],
    }
    post(api, body, agent_id)
    event = only(feed(api, agent_id), "startup")
    assert list(event) == ["id", "time", "event", "agent", "request_id"]
    assert event["agent"] == {"id": agent_id}
    assert event["id"] != "1" and event["time"] != body["time"]
    assert_uuid4(event["request_id"])


def test_post_event_255_characters_is_202(api: Api) -> None:
    agent_id = api.agent()
    post(api, {"event": "x" * 255}, agent_id)
    assert names_of(feed(api, agent_id))[-1] == "x" * 255


def test_post_event_content_type_with_charset_is_202(api: Api) -> None:
    post(api, {"event": "startup"}, content_type="Application/JSON; charset=UTF-8")


BAD_BODIES: list[tuple[Any, str]] = [
    ({}, "event"),
    ({"mode": "active"}, "event"),
    ({"event": ""}, "event"),
    ({"event": None}, "event"),
    ({"event": 1}, "event"),
    ({"event": ["startup"]}, "event"),
    ({"event": "x" * 256}, "event"),
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
    assert_fault(api.post_event({"event": "startup"}, agent_id, content_type=content_type), 415)
    assert_fault(api.post_event({"event": "startup"}, content_type=content_type), 415)
    assert feed(api) == before


def test_post_event_without_content_type_is_415(api: Api) -> None:
    response = api.client.post(api.url("events"), data=b'{"event": "x"}', headers=api.headers())
    assert_fault(response, 415)


def test_post_event_over_1_mib_is_413_and_exactly_1_mib_is_202(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.post_event(data=padded({"event": "big"}, MIB + 1), agent_id=agent_id), 413)
    assert "big" not in names_of(feed(api))
    post(api, None, agent_id, data=padded({"event": "big"}, MIB))
    assert names_of(feed(api)).count("big") == 1


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
    assert_fault(api.post_event({"event": "startup"}, agent_id, project_id=OTHER_PROJECT), 404)
    assert "startup" not in names_of(feed(api))


@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
def test_post_event_without_token_is_401(api: Api, agent: bool) -> None:
    agent_id = api.agent() if agent else None
    before = feed(api)
    assert_fault(api.post_event({"event": "startup"}, agent_id, token=""), 401)
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
        assert_fault(api.post_event({"event": "startup"}, agent_id, token=OBSERVER), 403)
        assert feed(api, agent_id) == before

    @pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
    def test_creator_posts(self, api: Api, agent: bool) -> None:
        agent_id = api.agent() if agent else None
        post(api, {"event": "startup"}, agent_id, token=CREATOR)
        assert "startup" in names_of(feed(api, agent_id))

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


def test_feed_asc_is_oldest_first_and_marker_means_newer(api: Api) -> None:
    ids = posted_events(api, 5)
    assert [int(i) for i in ids] == sorted({int(i) for i in ids})
    assert ids_of(feed(api, query="sort_dir=asc")) == ids
    assert ids_of(feed(api, query=f"marker={ids[1]}")) == ids[2:]
    assert ids_of(feed(api, query=f"marker={ids[1]}&limit=2")) == ids[2:4]
    assert ids_of(feed(api, query="limit=2")) == ids[:2]
    assert ids_of(feed(api, query=f"marker={ids[-1]}")) == []
    assert ids_of(feed(api, query="marker=0")) == ids
    assert ids_of(feed(api, query=f"marker={'9' * 18}")) == []


def test_feed_desc_is_newest_first_and_marker_means_older(api: Api) -> None:
    ids = posted_events(api, 5)
    newest_first = ids[::-1]
    assert ids_of(feed(api, query="sort_dir=desc")) == newest_first
    assert ids_of(feed(api, query="sort_dir=desc&limit=2")) == newest_first[:2]
    assert ids_of(feed(api, query=f"sort_dir=desc&marker={ids[3]}")) == [ids[2], ids[1], ids[0]]
    assert ids_of(feed(api, query=f"sort_dir=desc&marker={ids[3]}&limit=2")) == [ids[2], ids[1]]
    assert ids_of(feed(api, query=f"sort_dir=desc&marker={ids[0]}")) == []
    assert ids_of(feed(api, query=f"sort_dir=desc&marker={'9' * 18}")) == newest_first
    assert ids_of(feed(api, query="sort_dir=desc&marker=0")) == []


def test_feed_marker_between_ids_and_of_other_feeds(api: Api) -> None:
    ids = posted_events(api, 3)
    other = api.agent(project_id=OTHER_PROJECT)
    (theirs,) = ids_of(feed(api, other, project_id=OTHER_PROJECT))
    assert int(theirs) > int(ids[-1])
    # An id of another project's event is just a number: newer than it.
    assert ids_of(feed(api, query=f"marker={theirs}")) == []
    assert ids_of(feed(api, query=f"marker={theirs}&sort_dir=desc")) == ids[::-1]


def test_feed_default_limit_is_100_and_limit_1000_is_allowed(api: Api) -> None:
    ids = posted_events(api, 101)
    assert ids_of(feed(api)) == ids[:100]
    assert ids_of(feed(api, query="limit=1000")) == ids
    assert ids_of(feed(api, query="sort_dir=desc")) == ids[::-1][:100]


def test_asc_links_page_forward_and_back(api: Api) -> None:
    ids = posted_events(api, 5)
    first = feed(api, query="limit=2")
    assert ids_of(first) == ids[:2]
    nxt, prev = link_query(first, "next"), link_query(first, "previous")
    assert (nxt["marker"], direction(nxt), nxt["limit"]) == ([ids[1]], "asc", ["2"])
    assert (prev["marker"], direction(prev), prev["limit"]) == ([ids[0]], "desc", ["2"])
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
    assert (again["marker"], direction(again), again["limit"]) == ([ids[4]], "asc", ["2"])
    post(api, {"event": "news"})
    news = follow(api, links_by_rel(empty)["next"])
    assert names_of(news) == ["news"]


def test_desc_links_page_back_and_forward(api: Api) -> None:
    ids = posted_events(api, 5)
    first = feed(api, query="sort_dir=desc&limit=2")
    assert ids_of(first) == [ids[4], ids[3]]
    nxt, prev = link_query(first, "next"), link_query(first, "previous")
    assert (nxt["marker"], direction(nxt), nxt["limit"]) == ([ids[3]], "desc", ["2"])
    assert (prev["marker"], direction(prev), prev["limit"]) == ([ids[4]], "asc", ["2"])
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
    assert (again["marker"], direction(again)) == ([ids[0]], "desc")


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
    body = feed(api, query="limit=5")
    assert body["events"] == []
    nxt = link_query(body, "next")
    assert "marker" not in nxt and direction(nxt) == "asc" and nxt["limit"] == ["5"]
    post(api, {"event": "first"})
    assert names_of(follow(api, links_by_rel(body)["next"])) == ["first"]


def test_agent_feed_links_page_the_agent_feed(api: Api) -> None:
    agent_id = api.agent()
    for n in range(3):
        post(api, {"event": f"a{n}"}, agent_id)
    post(api, {"event": "elsewhere"}, api.agent())
    body = feed(api, agent_id, "limit=2")
    names = names_of(body)
    while links_by_rel(body) and body["events"]:
        body = follow(api, links_by_rel(body)["next"])
        names += names_of(body)
    assert names == ["agent_registered", "a0", "a1", "a2"]


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


@pytest.mark.parametrize("sort_dir", ["up", "", "ascending", "descending", "1"])
@pytest.mark.parametrize("agent", [False, True], ids=["project", "agent"])
def test_bad_sort_dir_is_400(api: Api, agent: bool, sort_dir: str) -> None:
    agent_id = api.agent() if agent else None
    errors = assert_fault(api.list_events(agent_id, f"sort_dir={sort_dir}"), 400)["errors"]
    assert any(e.startswith("sort_dir: ") for e in errors), errors


def test_bad_marker_limit_and_sort_dir_all_listed(api: Api) -> None:
    errors = assert_fault(api.list_events(None, "marker=x&limit=0&sort_dir=up"), 400)["errors"]
    for where in ("marker", "limit", "sort_dir"):
        assert any(e.startswith(f"{where}: ") for e in errors), (where, errors)


def test_unknown_agent_with_bad_query_is_404(api: Api) -> None:
    assert_fault(api.list_events(str(uuid.uuid4()), "marker=x&limit=0&sort_dir=up"), 404)


def test_feed_ignores_parameters_it_does_not_know(api: Api) -> None:
    ids = posted_events(api, 2)
    assert ids_of(feed(api, query="foo=bar&event=e1")) == ids


# Ids: decimal strings, increasing, never reused.


def test_ids_increase_across_kinds_and_feeds(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    api.patch_state(agent_id, logfile_id, "started", "completed")
    post(api, {"event": "startup"}, agent_id)
    post(api, {"event": "agent_activate", "mode": "active"})
    ids = [int(i) for i in ids_of(feed(api))]
    assert len(ids) == 6
    assert ids == sorted(set(ids))
    assert ids_of(feed(api, agent_id)) == ids_of(feed(api))


def test_ids_never_reused_after_a_reset(api: Api) -> None:
    api.agent()
    post(api, {"event": "startup"})
    before = max(int(i) for i in ids_of(feed(api)))
    api.reset()
    assert feed(api)["events"] == []
    agent_id = api.agent()
    (after,) = ids_of(feed(api, agent_id))
    assert int(after) > before
    # A marker from before the reset still means "newer than that".
    assert ids_of(feed(api, query=f"marker={before}")) == [after]


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
    post(api, {"event": "later"}, agent_id)
    (later,) = ids_of(feed(api, agent_id, f"marker={registered}"))
    api.advance_clock(299)
    assert ids_of(feed(api, agent_id)) == [registered, later]
    api.advance_clock(2)  # registered: 601 s old; later: 301 s
    assert ids_of(feed(api, agent_id)) == [later]
    assert ids_of(feed(api)) == [later]
    assert ids_of(feed(api, query="sort_dir=desc")) == [later]
    # A marker naming a gone event still means "newer than that id".
    assert ids_of(feed(api, agent_id, f"marker={registered}")) == [later]
    assert ids_of(feed(api, query=f"marker={later}&sort_dir=desc")) == []
    api.advance_clock(300)
    assert feed(api, agent_id)["events"] == []
    assert feed(api)["events"] == []


def test_retention_keeps_paging_links_working(api: Api) -> None:
    api.freeze_clock(WHEN)
    ids = posted_events(api, 3)
    page = feed(api, query="limit=2")
    api.advance_clock(601)
    post(api, {"event": "fresh"})
    nxt = follow(api, links_by_rel(page)["next"])
    assert names_of(nxt) == ["fresh"]
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
        post(two, {"event": "startup"}, agent_id)
        post(one, {"event": "agent_activate", "mode": "idle"})
        post(two, {"event": "later"})
        for api in (one, two):
            body = feed(api)
            assert names_of(body) == ["agent_registered", "startup", "agent_activate", "later"]
            ids = [int(i) for i in ids_of(body)]
            assert ids == sorted(set(ids))
        assert feed(one) == feed(two)
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
        assert int(ids_of(feed(api))[-1]) > int(after)
    finally:
        app.extensions["logfiles"].store.close()
