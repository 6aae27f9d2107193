"""Backup configurations over the API, from the guide's pages (create, list, details, update,
delete, events, and an agent's configurations and configuration) and SPEC's "The whole service".

Each page's example request is sent as written, with ids substituted, and its answer compared
with the page's example: status, headers, and the body's members, recursively.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from logfiles import Settings, create_app
from tests.api.support import MIB, padded
from tests.conftest import JSON_PATCH, PROJECT, TOKEN, Api, assert_fault

GUIDE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "guide-configurations.json").read_text()
)
# The create page's example was made at 2014-08-05T18:22:21Z (its `schedule.start`): with the
# service clock there, every time the pages show is the one the service computes.
CREATED = "2014-08-05T18:22:21.238641Z"
# The details page's headers, as its example request sends them.
GET_HEADERS = {"Accept": "application/json", "Content-type": "application/json"}
ACTIVE = {"on_success": True, "on_failure": True}


def shape(value: Any) -> Any:
    """A body's members, recursively, with values replaced by their JSON type; a list is the
    shape of its first item (the pages' lists hold one kind of item)."""
    if isinstance(value, dict):
        return {name: shape(member) for name, member in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def request_body(agent_id: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GUIDE["create_request"])
    body["agent_id"] = agent_id
    body.update(changes)
    return body


def create(api: Api, body: Any, **kw: Any) -> TestResponse:
    headers = {"Content-Type": kw.pop("content_type", "application/json")}
    data = kw.pop("data", None)
    return api._call("post", ("configurations",), data=data or json.dumps(body), extra_headers=headers, **kw)


def created(api: Api, agent_id: str, **changes: Any) -> dict[str, Any]:
    response = create(api, request_body(agent_id, **changes))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def get(api: Api, *parts: str, query: str = "") -> TestResponse:
    return api._call("get", parts, query=query, extra_headers=GET_HEADERS)


def patch(api: Api, config_id: str, document: Any, content_type: str = JSON_PATCH, **kw: Any) -> TestResponse:
    data = kw.pop("data", None) or json.dumps(document)
    headers = {"Content-Type": content_type}
    return api._call("patch", ("configurations", config_id), data=data, extra_headers=headers, **kw)


def replace(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


@pytest.fixture
def agent_id(api: Api) -> str:
    api.freeze_clock(CREATED)
    return api.agent()


@pytest.fixture
def config(api: Api, agent_id: str) -> dict[str, Any]:
    return created(api, agent_id)


# Create.


def test_create_the_pages_example(api: Api, agent_id: str) -> None:
    """POST the example as written: 201, `Location`, and the example's body, member by member."""
    response = api.client.post(
        f"/v2/{PROJECT}/configurations",
        data=json.dumps(request_body(agent_id)),
        headers={"Host": "localhost", "X-Auth-Token": TOKEN, "Content-type": "application/json"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    example = GUIDE["create_response"]
    # The example's shape, and `backups.next` too: the create page's own response table and the
    # details page put `next` there (the example beside `backups`): both are shown.
    assert shape(body) == shape(example) | {
        "backups": {"last_completed": "NoneType", "next": shape(example["next"])}
    }
    url = f"http://localhost/v2/{PROJECT}/configurations/{body['id']}"
    assert response.headers["Location"] == url
    assert body["links"] == [
        {"href": url, "rel": "self"},
        {"href": f"{url}/activities", "rel": "activities"},
        {"href": f"{url}/events", "rel": "events"},
    ]
    assert body["agent"] == {
        "id": agent_id,
        "links": [{"href": f"http://localhost/v2/{PROJECT}/agents/{agent_id}", "rel": "full"}],
    }
    assert body["project_id"] == PROJECT
    # Everything the page's example shows that the service does not make is as the example says.
    for name in ("name", "enabled", "schedule", "retention", "inclusions", "exclusions", "notifications"):
        assert body[name] == example[name], name
    assert body["deleted"] is False and body["backups"] == {"last_completed": None, "next": body["next"]}
    assert body["next"] == example["next"] == {"scheduled_time": "2014-08-05T20:22:21Z"}


def test_create_emits_configuration_changed_into_the_agents_feed(api: Api, agent_id: str) -> None:
    config_id = created(api, agent_id)["id"]
    events = api.list_events(agent_id).get_json()["events"]
    changed = [e for e in events if e["event"] == "configuration_changed"]
    assert len(changed) == 1
    assert set(changed[0]) == {"id", "time", "event", "agent", "request_id", "configuration"}
    assert changed[0]["agent"] == {"id": agent_id}
    assert changed[0]["configuration"] == {"id": config_id}


def test_a_manual_configuration_has_no_next_backup(api: Api, agent_id: str) -> None:
    body = created(api, agent_id, schedule=None)
    assert body["schedule"] is None and body["next"] is None
    assert get(api, "configurations", body["id"]).get_json()["backups"]["next"] is None
    document = get(api, "agents", agent_id, "configuration").get_json()
    assert document["configurations"][0]["times"] is None


def test_create_lists_every_problem(api: Api, agent_id: str) -> None:
    body = request_body(
        agent_id,
        enabled="yes",
        schedule={"recurrence": ["RRULE:FREQ=DAILY;COUNT=3"], "time_zone": "Mars/Base"},
        retention={},
    )
    errors = assert_fault(create(api, body), 400)["errors"]
    assert sorted(e.split(": ")[0] for e in errors) == [
        "enabled",
        "retention.days",
        "schedule.recurrence.0",
        "schedule.time_zone",
    ], errors


def test_create_checks_the_pages_restrictions(api: Api, agent_id: str) -> None:
    body = request_body(
        agent_id,
        inclusions=[{"type": "folder", "path": "/web/"}, {"type": "folder", "path": "/web/"}],
        exclusions=[{"type": "file", "path": "/etc/passwd"}],
        notifications=[{"type": "email", "destination": "a@b", "on_success": True, "on_failure": False}],
    )
    assert assert_fault(create(api, body), 400)["errors"] == [
        "inclusions.1.path: '/web/' is included twice",
        "exclusions.0.path: '/etc/passwd' is not under an included folder",
        "notifications: at least one notification must have on_failure true",
    ]
    assert get(api, "configurations").get_json() == {"configurations": []}


@pytest.mark.parametrize("body", [[], "x", None, 3])
def test_a_body_that_is_not_an_object_is_400(api: Api, agent_id: str, body: Any) -> None:
    assert_fault(create(api, body), 400)


def test_create_for_an_unknown_agent_is_404(api: Api, agent_id: str) -> None:
    fault = assert_fault(create(api, request_body("8f135b4f-7a69-4b8a-947f-5e80d772fd97")), 404)
    assert fault == {
        "message": "Agent not found.",
        "errors": ["agent_id: no agent '8f135b4f-7a69-4b8a-947f-5e80d772fd97' in project '110011'"],
    }
    other = api.agent(project_id="220022")
    assert_fault(create(api, request_body(other)), 404)  # an agent of another project is none
    # The agent is looked up before the rest is read: an unknown agent with a bad body is 404.
    assert_fault(create(api, request_body("nobody", enabled="yes")), 404)


def test_create_content_type_and_size(api: Api, agent_id: str) -> None:
    assert_fault(create(api, request_body(agent_id), content_type="text/plain"), 415)
    assert_fault(create(api, None, data=padded(request_body(agent_id), MIB + 1)), 413)
    assert create(api, None, data=padded(request_body(agent_id), MIB)).status_code == 201


def test_the_agents_document_limit_of_1_mb(api: Api, agent_id: str) -> None:
    """The Limits page: the agent's whole configuration document is at most 1 MB (1 MiB): a
    create or PATCH past it is 400 and changes nothing."""
    big = [{"type": "folder", "path": f"/{n:04d}/" + "p" * 4000} for n in range(140)]  # about 570 KB
    first = created(api, agent_id, inclusions=big, exclusions=[])
    fault = assert_fault(create(api, request_body(agent_id, inclusions=big, exclusions=[])), 400)
    assert fault["message"] == "The agent's configuration document would be over the guide's limit of 1 MB."
    small = created(api, agent_id)
    assert_fault(patch(api, small["id"], [replace("/inclusions", big), replace("/exclusions", [])]), 400)
    listed = get(api, "agents", agent_id, "configurations").get_json()["configurations"]
    assert [c["id"] for c in listed] == [first["id"], small["id"]]
    assert (
        get(api, "configurations", small["id"]).get_json()["inclusions"]
        == GUIDE["create_request"]["inclusions"]
    )
    document = get(api, "agents", agent_id, "configuration")
    assert len(document.get_data()) <= MIB


# Details, lists.


def test_details_as_the_page_shows_them(api: Api, config: dict[str, Any]) -> None:
    response = get(api, "configurations", config["id"])
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    example = GUIDE["details_response"]
    expected = shape(example)
    expected["backups"]["last_completed"] = "NoneType"  # no backup has completed yet
    assert shape(body) == expected
    assert body["backups"]["next"] == example["backups"]["next"]
    assert body["schedule"] == example["schedule"]


def test_the_project_list_and_the_agents_as_the_pages_show_them(api: Api, config: dict[str, Any]) -> None:
    for parts, example in [
        (("configurations",), GUIDE["list_response"]),
        (("agents", config["agent"]["id"], "configurations"), GUIDE["agent_list_response"]),
    ]:
        response = get(api, *parts)
        assert response.status_code == 200
        body = response.get_json()
        expected = shape(example)
        expected["configurations"][0]["backups"]["last_completed"] = "NoneType"
        assert shape(body) == expected
        item = body["configurations"][0]
        assert [link["rel"] for link in item["links"]] == ["full", "activities", "events"]
        assert item["backups"]["next"] == example["configurations"][0]["backups"]["next"]


def test_restorable_lists_only_configurations_with_a_completed_backup(
    api: Api, config: dict[str, Any]
) -> None:
    """The list page's example request, as written: no backup has completed, so none."""
    assert get(api, "configurations", query="restorable=true").get_json() == {"configurations": []}
    assert len(get(api, "configurations", query="restorable=false").get_json()["configurations"]) == 1
    assert_fault(get(api, "configurations", query="restorable=yes"), 400)


def test_empty_lists(api: Api, agent_id: str) -> None:
    assert get(api, "configurations").get_json() == {"configurations": []}
    assert get(api, "agents", agent_id, "configurations").get_json() == {"configurations": []}


def test_lists_are_paged_in_creation_order(api: Api, agent_id: str) -> None:
    other = api.agent()
    made = [created(api, agent_id if n % 2 else other, name=f"c{n}")["id"] for n in range(5)]
    for parts, expected in [
        (("configurations",), made),
        (("agents", agent_id, "configurations"), made[1::2]),
    ]:
        seen: list[str] = []
        response = get(api, *parts, query="limit=2")
        while True:
            body = response.get_json()
            seen += [c["id"] for c in body["configurations"]]
            links = body.get("links", [])
            if not links:
                break
            assert links[0]["rel"] == "next"
            split = urlsplit(links[0]["href"])
            assert parse_qs(split.query)["limit"] == ["2"]
            response = api.client.get(f"{split.path}?{split.query}", headers=api.headers())
        assert seen == expected
    assert_fault(get(api, "configurations", query="marker=nope"), 400)
    assert_fault(get(api, "configurations", query="limit=0"), 400)
    assert_fault(get(api, "agents", agent_id, "configurations", query="limit=1001"), 400)


def test_unknown_configurations_and_agents_are_404(api: Api, agent_id: str) -> None:
    missing = "7c8ee069-568f-4d5a-932f-fb2af86b5fd5"
    assert_fault(get(api, "configurations", missing), 404)
    assert_fault(get(api, "configurations", missing, "events"), 404)
    assert_fault(patch(api, missing, [replace("/enabled", True)]), 404)
    assert_fault(api._call("delete", ("configurations", missing)), 404)
    assert_fault(get(api, "agents", missing, "configurations"), 404)
    assert_fault(get(api, "agents", missing, "configuration"), 404)


def test_a_configuration_of_another_project_is_not_found(api: Api, config: dict[str, Any]) -> None:
    assert_fault(api._call("get", ("configurations", config["id"]), project_id="220022"), 404)


def test_methods_the_routes_do_not_have_are_405(api: Api, config: dict[str, Any]) -> None:
    for method, parts in [
        ("put", ("configurations", config["id"])),
        ("delete", ("configurations",)),
        ("post", ("configurations", config["id"], "events")),
        ("post", ("agents", config["agent"]["id"], "configuration")),
    ]:
        assert_fault(api._call(method, parts), 405)


# PATCH.


def test_patch_the_pages_example(api: Api, agent_id: str) -> None:
    config_id = created(api, agent_id, enabled=False)["id"]
    response = patch(api, config_id, GUIDE["patch_request"])
    assert response.status_code == 204 and response.get_data() == b""
    assert get(api, "configurations", config_id).get_json()["enabled"] is True


def test_patch_each_path_and_json_too(api: Api, config: dict[str, Any]) -> None:
    document = [
        replace("/name", "Nightly"),
        replace("/retention/days", 0),
        replace(
            "/schedule",
            {"recurrence": ["RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=14;BYMINUTE=0"], "time_zone": "US/Central"},
        ),
        replace("/inclusions", [{"type": "folder", "path": "/srv/"}]),
        replace("/exclusions", [{"type": "folder", "path": "/srv/tmp/"}]),
        replace(
            "/notifications",
            [{"type": "email", "destination": "ops@example.com", "on_success": False, "on_failure": True}],
        ),
    ]
    # SPEC: a configuration's PATCH also takes application/json (the Python SDK sends it).
    assert (
        patch(api, config["id"], document, content_type="application/json; charset=utf-8").status_code == 204
    )
    body = get(api, "configurations", config["id"]).get_json()
    assert body["name"] == "Nightly" and body["retention"] == {"days": 0}
    assert body["schedule"]["start"] == config["schedule"]["start"]
    assert body["backups"]["next"] == {"scheduled_time": "2014-08-05T19:00:00Z"}  # 14:00 CDT
    assert body["inclusions"] == [{"type": "folder", "path": "/srv/"}]


def test_patch_errors_in_the_log_file_patchs_order(api: Api, config: dict[str, Any]) -> None:
    config_id = config["id"]
    assert_fault(patch(api, config_id, [replace("/enabled", False)], content_type="text/plain"), 415)
    assert_fault(patch(api, config_id, None, data=padded([replace("/enabled", False)], MIB + 1)), 413)
    assert_fault(patch(api, config_id, None, data=b"[{"), 400)
    errors = assert_fault(
        patch(api, config_id, [{"op": "add", "path": "/id", "value": 1}, {"op": "replace"}]), 400
    )["errors"]
    assert [e.split(": ")[0] for e in errors] == ["/0/op", "/0/path", "/1/path", "/1/value"]
    # The whole result is checked by the create rules: each problem named.
    errors = assert_fault(
        patch(
            api,
            config_id,
            [replace("/enabled", "no"), replace("/schedule", {"recurrence": [], "time_zone": "X"})],
        ),
        400,
    )["errors"]
    assert sorted(e.split(": ")[0] for e in errors) == [
        "enabled",
        "schedule.recurrence",
        "schedule.time_zone",
    ]


def test_patch_is_all_or_nothing(api: Api, config: dict[str, Any]) -> None:
    before = get(api, "configurations", config["id"]).get_json()
    events_before = api.list_events(config["agent"]["id"]).get_json()["events"]
    document = [replace("/name", "Changed"), replace("/inclusions", [{"type": "folder", "path": "/other/"}])]
    errors = assert_fault(patch(api, config["id"], document), 400)["errors"]
    assert errors == [
        "exclusions.0.path: '/web/cache/' is not under an included folder",
        "exclusions.1.path: '/web/cache.jpg' is not under an included folder",
    ]
    assert get(api, "configurations", config["id"]).get_json() == before
    assert api.list_events(config["agent"]["id"]).get_json()["events"] == events_before


def test_patch_emits_configuration_changed_once_per_change(api: Api, config: dict[str, Any]) -> None:
    agent_id = config["agent"]["id"]

    def changes() -> int:
        events = api.list_events(agent_id).get_json()["events"]
        return sum(e["event"] == "configuration_changed" for e in events)

    assert changes() == 1
    assert patch(api, config["id"], [replace("/enabled", False)]).status_code == 204
    assert changes() == 2
    assert patch(api, config["id"], [replace("/enabled", False)]).status_code == 204  # a retry: no change
    assert changes() == 2


def test_a_disabled_configuration_says_so_everywhere(api: Api, config: dict[str, Any]) -> None:
    assert patch(api, config["id"], [replace("/enabled", False)]).status_code == 204
    assert get(api, "configurations", config["id"]).get_json()["backups"]["next"] is None
    item = get(api, "configurations").get_json()["configurations"][0]
    assert item["enabled"] is False and item["backups"]["next"] is None
    entry = get(api, "agents", config["agent"]["id"], "configuration").get_json()["configurations"][0]
    assert entry["enabled"] is False


# Delete.


def test_delete_the_pages_example(api: Api, config: dict[str, Any]) -> None:
    agent_id, config_id = config["agent"]["id"], config["id"]
    response = api.client.delete(
        f"/v2/{PROJECT}/configurations/{config_id}",
        headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json"},
    )
    assert response.status_code == 204 and response.get_data() == b""
    assert_fault(get(api, "configurations", config_id), 404)
    assert_fault(api._call("delete", ("configurations", config_id)), 404)
    assert_fault(patch(api, config_id, [replace("/enabled", True)]), 404)
    assert get(api, "configurations").get_json() == {"configurations": []}
    assert get(api, "agents", agent_id, "configuration").get_json()["configurations"] == []
    changed = [
        e for e in api.list_events(agent_id).get_json()["events"] if e["event"] == "configuration_changed"
    ]
    assert [e["configuration"] for e in changed] == [{"id": config_id}] * 2


# The agent's configuration.


def test_the_agents_configuration_as_the_page_shows_it(api: Api, config: dict[str, Any]) -> None:
    agent_id = config["agent"]["id"]
    response = api.client.get(
        f"/v2/{PROJECT}/agents/{agent_id}/configuration",
        headers={"X-Auth-Token": TOKEN, "Content-type": "application/json"},
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    example = GUIDE["agent_configuration_response"]
    assert shape(body) == shape(example)
    entry, shown = body["configurations"][0], example["configurations"][0]
    assert entry["times"] == shown["times"]  # the same clock, the same schedule: the same times
    assert entry["vault_id"] == body["vaults"][0]["id"]
    for name in ("name", "enabled", "retention", "inclusions", "exclusions"):
        assert entry[name] == shown[name]
    assert body["system_preferences"]["logging"] == {"level": api.get_agent(agent_id).get_json()["log_level"]}
    assert [link["rel"] for link in body["vaults"][0]["links"]] == [
        "publicURL",
        "internalURL",
        "data_services",
    ]


# A configuration's events.


def test_the_events_page_example_request(api: Api, config: dict[str, Any]) -> None:
    config_id = config["id"]
    for n in range(3):
        assert patch(api, config_id, [replace("/retention/days", n + 1)]).status_code == 204
    newest_first = get(api, "configurations", config_id, "events").get_json()  # the page: desc by default
    ids = [int(e["id"]) for e in newest_first["events"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 4
    assert all(e["configuration"] == {"id": config_id} for e in newest_first["events"])
    marker = ids[1]
    response = get(
        api, "configurations", config_id, "events", query=f"marker={marker}&limit=100&sort_dir=desc"
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [int(e["id"]) for e in body["events"]] == ids[2:]
    assert {link["rel"] for link in body["links"]} == {"next", "previous"}
    example = GUIDE["events_response"]
    assert set(body) == set(example)
    members = set().union(*(set(e) for e in example["events"]))
    assert all(set(e) <= members for e in body["events"])
    ascending = get(api, "configurations", config_id, "events", query="sort_dir=asc&limit=2").get_json()
    assert [int(e["id"]) for e in ascending["events"]] == sorted(ids)[:2]
    for bad in ("limit=0", "sort_dir=up", "marker=abc"):
        assert_fault(get(api, "configurations", config_id, "events", query=bad), 400)


# Rights.

OBSERVER, CREATOR = "token-observer", "token-creator"


@pytest.fixture
def strict(tmp_path: Path) -> Api:
    tokens = {
        TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
        CREATOR: {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
        OBSERVER: {"project_id": PROJECT, "roles": ["observer"]},
    }
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(tokens))
    app = create_app(Settings(tokens_file=str(path), control_open=True))
    client: FlaskClient = app.test_client()
    return Api(client)


def test_tokens_and_roles(strict: Api) -> None:
    agent_id = strict.agent()
    assert_fault(create(strict, request_body(agent_id), token=""), 401)
    assert_fault(create(strict, request_body(agent_id), token="unknown"), 401)
    assert_fault(create(strict, request_body(agent_id), token=OBSERVER), 403)
    config_id = created(strict, agent_id)["id"]
    assert get(strict, "configurations", config_id).status_code == 200
    assert strict._call("get", ("configurations", config_id), token=OBSERVER).status_code == 200
    assert_fault(patch(strict, config_id, [replace("/enabled", False)], token=OBSERVER), 403)
    assert patch(strict, config_id, [replace("/enabled", False)], token=CREATOR).status_code == 204
    assert_fault(strict._call("delete", ("configurations", config_id), token=CREATOR), 403)
    # 403 comes before 404: an unknown configuration is not disclosed to who may not see it.
    assert_fault(strict._call("delete", ("configurations", "nope"), token=CREATOR), 403)
    assert strict._call("delete", ("configurations", config_id)).status_code == 204


# Bounds: any JSON the reader takes is a 4xx at worst.

DEEP = "[" * 900 + "]" * 900  # as deep as the JSON reader allows, about


@pytest.mark.parametrize(
    "path",
    ["/name", "/enabled", "/schedule", "/retention/days", "/inclusions", "/exclusions", "/notifications"],
)
def test_a_deeply_nested_value_is_a_400(api: Api, config: dict[str, Any], path: str) -> None:
    data = '[{"op": "replace", "path": "' + path + '", "value": ' + DEEP + "}]"
    assert_fault(patch(api, config["id"], None, data=data), 400)
    member = path.split("/")[1]
    body = json.dumps(request_body(config["agent"]["id"], **{member: "DEEP"})).replace('"DEEP"', DEEP)
    assert_fault(create(api, None, data=body), 400)


# Seeded through the control plane: the body is whatever the test gave.


def test_a_seeded_configuration_is_served(api: Api) -> None:
    seeded = {
        "agents": [{"id": "agent-1", "project_id": PROJECT}],
        "configurations": [
            {"id": "config-1", "agent_id": "agent-1", "name": "nightly"},
            {**GUIDE["create_request"], "id": "config-2", "agent_id": "agent-1"},
        ],
    }
    assert api.control("post", "state", seeded).status_code == 200
    short = get(api, "configurations", "config-1")
    assert short.status_code == 200, short.get_json()
    assert short.get_json()["name"] == "nightly" and short.get_json()["backups"] == {
        "last_completed": None,
        "next": None,
    }
    # A seeded schedule without a start runs from now.
    assert get(api, "configurations", "config-2").get_json()["backups"]["next"] is not None
    listed = get(api, "agents", "agent-1", "configurations").get_json()["configurations"]
    assert [c["id"] for c in listed] == ["config-1", "config-2"]
    document = get(api, "agents", "agent-1", "configuration").get_json()
    assert [c["times"] is None for c in document["configurations"]] == [True, False]
    # A PATCH checks the whole result: the short one lacks what the create page requires.
    assert_fault(patch(api, "config-1", [replace("/enabled", True)]), 400)
    assert patch(api, "config-2", [replace("/enabled", False)]).status_code == 204
    assert api._call("delete", ("configurations", "config-1")).status_code == 204


def test_restorable_lists_a_configuration_whose_backup_completed(api: Api) -> None:
    """The list page's example request as written (`?restorable=true`), with a configuration
    seeded as having a completed backup: the page's whole shape, `last_completed` included."""
    api.freeze_clock(CREATED)
    done = {"last_completed": {"id": "0d95d699-d16b-11e4-93bd-c8e0eb190e3d"}}
    seeded = {
        "agents": [{"id": "agent-1", "project_id": PROJECT}],
        "configurations": [
            {**GUIDE["create_request"], "id": "with-backup", "agent_id": "agent-1", "backups": done},
            {**GUIDE["create_request"], "id": "without", "agent_id": "agent-1"},
        ],
    }
    assert api.control("post", "state", seeded).status_code == 200
    body = get(api, "configurations", query="restorable=true").get_json()
    assert shape(body) == shape(GUIDE["list_response"])
    (item,) = body["configurations"]
    assert item["id"] == "with-backup"
    assert item["backups"]["last_completed"] == {
        "id": done["last_completed"]["id"],
        "links": [
            {"href": f"http://localhost/v2/{PROJECT}/backups/{done['last_completed']['id']}", "rel": "full"}
        ],
    }
    assert [
        c["id"]
        for c in get(api, "configurations", query="restorable=true&limit=1").get_json()["configurations"]
    ] == ["with-backup"]


def test_the_configuration_feeds_links_lead_where_they_say(
    api: Api, agent_id: str, config: dict[str, Any]
) -> None:
    """Newest first by default (the page); `previous` from a default page leads to newer events
    and `next` from an ascending page too, so a panel that follows links sees new events."""
    for n in range(4):
        assert patch(api, config["id"], [replace("/name", f"name {n}")]).status_code == 204
    first = get(api, "configurations", config["id"], "events", query="limit=2").get_json()
    ids = [int(e["id"]) for e in first["events"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    links = {link["rel"]: link["href"] for link in first["links"]}
    older = api.client.get(links["next"], headers=api.headers()).get_json()["events"]
    assert all(int(e["id"]) < min(ids) for e in older) and older
    # Ascending from the oldest: each `next` page holds only newer events, up to the newest.
    page = get(api, "configurations", config["id"], "events", query="sort_dir=asc&limit=2").get_json()
    seen = [int(e["id"]) for e in page["events"]]
    for _ in range(5):
        href = next(link["href"] for link in page["links"] if link["rel"] == "next")
        assert "sort_dir=asc" in href
        page = api.client.get(href, headers=api.headers()).get_json()
        newer = [int(e["id"]) for e in page["events"]]
        assert all(i > seen[-1] for i in newer)
        seen += newer
    assert seen == sorted(seen) and seen[-1] == max(ids) and len(seen) == 5  # created + 4 renames
    back = next(link["href"] for link in first["links"] if link["rel"] == "previous")
    assert "sort_dir=asc" in back
    assert api.client.get(back, headers=api.headers()).get_json()["events"] == []  # nothing newer
