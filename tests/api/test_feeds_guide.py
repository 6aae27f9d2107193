"""The guide's four event pages, example by example, and the routes' `.json` suffix and
trailing slash (guide: general-api-info/request-response.rst; SPEC "The whole service").

Pages: api-reference/methods/get-list-events-for-an-agent-..., get-retrieve-project-events-...,
post-events-for-an-agent-..., post-project-events-.... Each example request is sent as
written (ids substituted); its answer has the page's status and the example response's shape:
for each event type the feeds here can hold, the members the page's example shows for it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import TestResponse

from tests.api.support import links_by_rel
from tests.conftest import JSON_PATCH, PROJECT, Api, assert_fault, registration

# The pages' example headers (`Content-type: application/json` on a GET too).
PAGE_TOKEN = "0f6e9f63600142f0a970911583522217"
GET_HEADERS = {"X-Auth-Token": PAGE_TOKEN, "Content-type": "application/json"}
HOST = {"Host": "dfw.backup.api.rackspacecloud.com"}

# Each event type's members in the pages' example responses (the types the stub emits today),
# and the members of its `agent`. The agent page shows `request_id` on `agent_registered`,
# `agent_activate` and `agent_shutdown`; the project page (its table and example) does not.
AGENT_PAGE = {
    "agent_registered": {"id", "time", "event", "agent", "request_id"},
    "agent_activate": {"id", "time", "event", "mode", "request_id"},
    "agent_heartbeat": {"id", "time", "event", "agent"},
    "agent_shutdown": {"id", "time", "event", "agent", "request_id"},
    "logfile_upload": {"id", "time", "event", "agent", "request_id", "links"},
    "logfile_started": {"id", "time", "event", "agent", "request_id"},
    "logfile_completed": {"id", "time", "event", "agent", "request_id"},
}
PROJECT_PAGE = {
    **AGENT_PAGE,
    "agent_registered": {"id", "time", "event", "agent"},
    "agent_activate": {"id", "time", "event", "mode"},
    "agent_shutdown": {"id", "time", "event", "agent"},  # the table: no request_id for it
}
REGISTERED_AGENT = {"id", "name", "host"}
REGISTERED_OS = {"name", "version", "architecture"}


def body_of(response: TestResponse, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body: dict[str, Any] = json.loads(response.get_data())
    return body


def assert_page_shape(body: dict[str, Any], page: dict[str, set[str]]) -> None:
    """The example response's shape: `events` and `links` (next, previous); each event with
    the members the page's example shows for its type."""
    assert set(body) == {"events", "links"}
    assert sorted(link["rel"] for link in body["links"]) == ["next", "previous"]
    for event in body["events"]:
        assert set(event) == page[event["event"]], event
        assert isinstance(event["id"], str) and event["id"].isdigit()
        if event["event"] == "agent_registered":
            assert set(event["agent"]) == REGISTERED_AGENT
            assert set(event["agent"]["host"]) == {"os"}
            assert set(event["agent"]["host"]["os"]) == REGISTERED_OS
        elif "agent" in event:
            assert set(event["agent"]) == {"id"}
        if "links" in event:
            ((link),) = event["links"]
            assert set(link) == {"href", "rel"} and link["rel"] == "logfile"


def busy_agent(api: Api) -> str:
    """An agent whose feed holds every event type the stub emits (log files: one pending,
    one started, one completed)."""
    agent_id = api.agent()
    api.logfile(agent_id)
    started, completed = api.logfile(agent_id), api.logfile(agent_id)
    assert api.patch_state(agent_id, started, "started").status_code == 204
    assert api.patch_state(agent_id, completed, "started", "completed").status_code == 204
    for body in ({"event": "heartbeat"}, {"event": "shutdown"}):
        assert api.post_event(body, agent_id).status_code == 202
    assert api.post_event({"event": "agent_activate", "mode": "active"}).status_code == 202
    return agent_id


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


# GET /v2/{project_id}/agents/{agent_id}/events


def test_agent_events_page_example(api: Api) -> None:
    agent_id = busy_agent(api)
    url = f"/v2/{PROJECT}/agents/{agent_id}/events?marker=5152883998&limit=100&sort_dir=desc"
    body = body_of(api.client.get(url, headers={**GET_HEADERS, **HOST}))
    assert_page_shape(body, AGENT_PAGE)
    assert {e["event"] for e in body["events"]} == set(AGENT_PAGE)
    ids = [int(e["id"]) for e in body["events"]]
    assert ids == sorted(ids, reverse=True) and all(i < 5152883998 for i in ids)
    links = links_by_rel(body)
    assert all(
        link.startswith(f"http://dfw.backup.api.rackspacecloud.com/v2/{PROJECT}/agents/")
        for link in links.values()
    )


def test_agent_events_default_order_and_links_as_the_page_shows(api: Api) -> None:
    """The page: `sort_dir` default `asc`; `next` `?marker=<last>`, `previous`
    `?marker=<first>&sort_dir=desc`."""
    agent_id = busy_agent(api)
    body = body_of(api.client.get(f"/v2/{PROJECT}/agents/{agent_id}/events", headers=GET_HEADERS))
    assert_page_shape(body, AGENT_PAGE)
    ids = [e["id"] for e in body["events"]]
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    links = links_by_rel(body)
    assert query_of(links["next"]) == {"marker": [ids[-1]]}
    assert query_of(links["previous"]) == {"marker": [ids[0]], "sort_dir": ["desc"]}
    assert body_of(api.client.get(links["previous"], headers=GET_HEADERS))["events"] == []


# GET /v2/{project_id}/events


def test_project_events_page_example(api: Api) -> None:
    busy_agent(api)
    url = f"/v2/{PROJECT}/events?marker=5152883998&limit=100&sort_dir=desc"
    body = body_of(api.client.get(url, headers={**GET_HEADERS, **HOST}))
    assert_page_shape(body, PROJECT_PAGE)
    assert {e["event"] for e in body["events"]} == set(PROJECT_PAGE)
    ids = [int(e["id"]) for e in body["events"]]
    assert ids == sorted(ids, reverse=True)


def test_project_events_default_is_newest_first(api: Api) -> None:
    """The page: `sort_dir` default `desc`."""
    busy_agent(api)
    default = body_of(api.client.get(f"/v2/{PROJECT}/events", headers=GET_HEADERS))
    explicit = body_of(api.client.get(f"/v2/{PROJECT}/events?sort_dir=desc", headers=GET_HEADERS))
    assert_page_shape(default, PROJECT_PAGE)
    assert default["events"] == explicit["events"]
    ids = [int(e["id"]) for e in default["events"]]
    assert ids == sorted(ids, reverse=True)
    links = links_by_rel(default)
    assert query_of(links["next"]) == {"marker": [str(ids[-1])], "sort_dir": ["desc"]}
    assert query_of(links["previous"]) == {"marker": [str(ids[0])], "sort_dir": ["asc"]}


def test_project_events_desc_pages_with_markers_reach_every_event_once(api: Api) -> None:
    """With `desc`, a marker means older than it: `next` pages back through the whole feed,
    `previous` forward again."""
    for _ in range(2):
        busy_agent(api)
    everything = [
        e["id"]
        for e in body_of(api.client.get(f"/v2/{PROJECT}/events?limit=1000", headers=GET_HEADERS))["events"]
    ]
    assert len(everything) > 9
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    href = f"/v2/{PROJECT}/events?limit=4"
    for _ in range(len(everything)):  # bounded: a page holds at least one until the end
        page = body_of(api.client.get(href, headers=GET_HEADERS))
        assert_page_shape(page, PROJECT_PAGE)
        if not page["events"]:
            break
        pages.append(page)
        seen += [e["id"] for e in page["events"]]
        href = links_by_rel(page)["next"]
    assert seen == everything  # newest first, each once
    assert len(pages) == -(-len(everything) // 4)
    # From the last page, `previous` goes forward (ascending) from its first event.
    forward = body_of(api.client.get(links_by_rel(pages[-1])["previous"], headers=GET_HEADERS))
    assert [e["id"] for e in forward["events"]] == everything[
        -len(pages[-1]["events"]) - 4 : -len(pages[-1]["events"])
    ][::-1]


# POST /v2/{project_id}/agents/{agent_id}/events


def test_post_events_for_an_agent_page_example(api: Api) -> None:
    agent_id = api.agent()
    headers = {
        **HOST,
        "X-Auth-Token": PAGE_TOKEN,
        "Content-type": "application/json",
        "X-Agent-Id": agent_id,
    }
    response = api.client.post(
        f"/v2/{PROJECT}/agents/{agent_id}/events", data='{\n    "event": "startup"\n}', headers=headers
    )
    assert response.status_code == 202
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    status = body_of(api.client.get(f"/v2/{PROJECT}/agents/{agent_id}/status", headers=GET_HEADERS))
    assert status["online"] is True


@pytest.mark.parametrize("name", ["startup", "shutdown", "heartbeat"])
def test_post_events_for_an_agent_valid_values(api: Api, name: str) -> None:
    agent_id = api.agent()
    response = api.client.post(
        f"/v2/{PROJECT}/agents/{agent_id}/events", json={"event": name}, headers=GET_HEADERS
    )
    assert response.status_code == 202


def test_post_events_for_an_agent_other_values_are_400(api: Api) -> None:
    agent_id = api.agent()
    response = api.client.post(
        f"/v2/{PROJECT}/agents/{agent_id}/events", json={"event": "reboot"}, headers=GET_HEADERS
    )
    assert assert_fault(response, 400)["errors"][0].startswith("event: ")


# POST /v2/{project_id}/events


def test_post_project_events_page_example(api: Api) -> None:
    agent_id = api.agent()
    headers = {**HOST, "X-Auth-Token": PAGE_TOKEN, "Content-type": "application/json"}
    body = '{\n    "event": "agent_activate",\n    "mode": "active"\n}'
    response = api.client.post(f"/v2/{PROJECT}/events", data=body, headers=headers)
    assert response.status_code == 202
    assert response.get_data() == b""
    feed = body_of(api.client.get(f"/v2/{PROJECT}/agents/{agent_id}/events", headers=GET_HEADERS))
    (activate,) = [e for e in feed["events"] if e["event"] == "agent_activate"]
    assert activate["mode"] == "active"


@pytest.mark.parametrize("mode", ["idle", "active", "real_time"])
def test_post_project_events_modes_of_the_page(api: Api, mode: str) -> None:
    response = api.client.post(
        f"/v2/{PROJECT}/events", json={"event": "agent_activate", "mode": mode}, headers=GET_HEADERS
    )
    assert response.status_code == 202


# Routes answer with a trailing slash and a `.json` suffix; the links they show stay canonical.


def test_get_routes_answer_with_a_slash_and_a_json_suffix(api: Api) -> None:
    agent_id, logfile_id = api.agent(), None
    logfile_id = api.logfile(agent_id)
    base = f"/v2/{PROJECT}"
    for path in (
        f"{base}/agents",
        f"{base}/agents/{agent_id}",
        f"{base}/agents/{agent_id}/status",
        f"{base}/agents/{agent_id}/logfiles",
        f"{base}/agents/{agent_id}/logfiles/{logfile_id}",
        f"{base}/agents/{agent_id}/events",
        f"{base}/events",
        "/v2",
    ):
        canonical = body_of(api.client.get(path, headers=GET_HEADERS))
        for twin in (f"{path}/", f"{path}.json", f"{path}.JSON"):
            assert body_of(api.client.get(twin, headers=GET_HEADERS)) == canonical, twin


def test_the_sdks_poll_with_a_slash_pages_with_canonical_links(api: Api) -> None:
    """The service's own Python SDK polls `.../events/`."""
    agent_id = api.agent()
    body = body_of(api.client.get(f"/v2/{PROJECT}/agents/{agent_id}/events/?marker=0", headers=GET_HEADERS))
    assert [e["event"] for e in body["events"]] == ["agent_registered"]
    for href in links_by_rel(body).values():
        assert urlsplit(href).path == f"/v2/{PROJECT}/agents/{agent_id}/events"
    body = body_of(api.client.get(f"/v2/{PROJECT}/events.json?limit=1", headers=GET_HEADERS))
    assert urlsplit(links_by_rel(body)["next"]).path == f"/v2/{PROJECT}/events"


def test_post_patch_and_delete_answer_with_a_slash_and_a_json_suffix(api: Api) -> None:
    base = f"/v2/{PROJECT}"
    headers = {"X-Auth-Token": PAGE_TOKEN}
    registered = api.client.post(f"{base}/agents/", json=registration(), headers=headers)
    agent = body_of(registered, 201)
    agent_id = agent["id"]
    assert registered.headers["Location"] == f"http://localhost{base}/agents/{agent_id}"
    assert links_by_rel(agent)["self"] == registered.headers["Location"]
    requested = api.client.post(f"{base}/agents/{agent_id}/logfiles.json", headers=headers)
    logfile = body_of(requested, 202)
    assert (
        requested.headers["Location"] == f"http://localhost{base}/agents/{agent_id}/logfiles/{logfile['id']}"
    )
    patch = [{"op": "replace", "path": "/state", "value": "started"}]
    response = api.client.patch(
        f"{base}/agents/{agent_id}/logfiles/{logfile['id']}/",
        data=json.dumps(patch),
        headers={**headers, "Content-Type": JSON_PATCH},
    )
    assert response.status_code == 204
    disable = [{"op": "replace", "path": "/enabled", "value": False}]
    response = api.client.patch(
        f"{base}/agents/{agent_id}.json",
        data=json.dumps(disable),
        headers={**headers, "Content-Type": JSON_PATCH},
    )
    assert response.status_code == 204
    assert body_of(api.client.get(f"{base}/agents/{agent_id}", headers=headers))["enabled"] is False
    assert (
        api.client.post(
            f"{base}/agents/{agent_id}/events/", json={"event": "heartbeat"}, headers=headers
        ).status_code
        == 202
    )
    assert (
        api.client.post(
            f"{base}/events.json", json={"event": "agent_activate", "mode": "idle"}, headers=headers
        ).status_code
        == 202
    )
    password = agent["password"]
    token = api.client.post(f"{base}/agents/tokens/", json={"id": agent_id, "password": password})
    assert set(body_of(token)) == {"token"}
    assert (
        api.client.delete(
            f"{base}/agents/{agent_id}/logfiles/{logfile['id']}.json", headers=headers
        ).status_code
        == 204
    )
    assert api.client.delete(f"{base}/agents/{agent_id}/", headers=headers).status_code == 204
    assert_fault(api.client.get(f"{base}/agents/{agent_id}", headers=headers), 404)


def test_a_suffix_keeps_the_routes_methods_and_checks(api: Api) -> None:
    agent_id = api.agent()
    base = f"/v2/{PROJECT}"
    response = api.client.put(f"{base}/agents/{agent_id}/", headers=GET_HEADERS)
    assert_fault(response, 405)
    assert response.headers["Allow"] == "DELETE, GET, PATCH"
    assert_fault(api.client.get(f"{base}/agents/{agent_id}.json"), 401)
    assert_fault(api.client.get(f"{base}/agents/nobody.json", headers=GET_HEADERS), 404)
    for unknown in (
        f"{base}/agents/{agent_id}//",
        f"{base}/agents/{agent_id}.json/",
        f"{base}/agents/{agent_id}/.json",
        f"{base}/agents.xml",
    ):
        errors = assert_fault(api.client.get(unknown, headers=GET_HEADERS), 404)["errors"]
        assert errors == [f"{unknown}: no such route"]


def test_the_journal_and_fault_rules_see_the_path_as_sent(api: Api) -> None:
    agent_id = api.agent()
    assert api.control("delete", "requests").status_code == 204
    sent = f"/v2/{PROJECT}/agents/{agent_id}/events/"
    assert api.client.get(sent, headers=GET_HEADERS).status_code == 200
    assert api.client.get(f"/v2/{PROJECT}/agents.json", headers=GET_HEADERS).status_code == 200
    paths = [entry["path"] for entry in api.control("get", "requests").get_json()["requests"]]
    assert paths == [sent, f"/v2/{PROJECT}/agents.json"]
    rule = {"method": "GET", "path": "*/events/", "status": 503}
    assert api.control("post", "faults", rule).status_code == 201
    assert_fault(api.client.get(sent, headers=GET_HEADERS), 503)
    assert api.client.get(sent[:-1], headers=GET_HEADERS).status_code == 200


def test_the_object_store_and_control_plane_take_no_suffix_off(api: Api) -> None:
    container = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/CloudBackupLogs"
    headers = {"X-Auth-Token": PAGE_TOKEN}
    assert api.client.put(f"{container}/report.json", data=b"{}", headers=headers).status_code == 201
    assert api.client.get(f"{container}/report.json", headers=headers).data == b"{}"
    assert api.client.get(f"{container}/report", headers=headers).status_code == 404
    assert api.client.put(f"{container}/dir/", data=b"x", headers=headers).status_code == 201
    assert api.client.get(f"{container}/dir/", headers=headers).data == b"x"
    assert api.client.get(f"{container}/dir", headers=headers).status_code == 404
    assert api.client.get("/_control/requests").status_code == 200
    assert api.client.get("/_control/requests/").status_code == 404
    assert api.client.get("/_control/requests.json").status_code == 404
