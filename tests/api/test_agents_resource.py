"""Agents, the rest of the resource: list (paging), PATCH /enabled, status (SPEC; design10)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from logfiles import Settings
from tests.api.support import MIB, padded
from tests.conftest import JSON_PATCH, PROJECT, TOKEN, Api, assert_fault

OTHER_PROJECT = "220022"
OBSERVER = "token-observer"
CREATOR = "token-creator"
TOKENS = {
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    CREATOR: {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
    OBSERVER: {"project_id": PROJECT, "roles": ["observer"]},
    "token-other-project": {"project_id": OTHER_PROJECT, "roles": ["admin"]},
}
WHEN = "2030-01-02T03:04:05.123456Z"


def strict_settings(tmp_path: Path, store_url: str) -> Settings:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    return Settings(store_url=store_url, tokens_file=str(path), control_open=True)


def enable(value: Any = True, path: Any = "/enabled", op: Any = "replace", **extra: Any) -> dict[str, Any]:
    return {"op": op, "path": path, "value": value, **extra}


def enabled_of(api: Api, agent_id: str) -> Any:
    response = api.get_agent(agent_id)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["enabled"]


def status_of(api: Api, agent_id: str) -> dict[str, Any]:
    response = api.agent_status(agent_id)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"busy", "online"}, body
    assert isinstance(body["busy"], bool) and isinstance(body["online"], bool), body
    return body


# List agents.


def agent_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [agent["id"] for agent in response.get_json()["agents"]]


def next_link(body: dict[str, Any]) -> str | None:
    hrefs = [link["href"] for link in body.get("links", []) if link.get("rel") == "next"]
    assert len(hrefs) <= 1, body
    assert all(link.get("rel") == "next" for link in body.get("links", [])), body
    return hrefs[0] if hrefs else None


def all_pages(api: Api, query: str, project_id: str | None = None) -> list[list[str]]:
    response = api.list_agents(query=query, project_id=project_id)
    pages = []
    while True:
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([agent["id"] for agent in body["agents"]])
        href = next_link(body)
        if href is None:
            return pages
        assert len(pages) < 20
        response = api.client.get(href, headers=api.headers())


def test_list_agents_none_is_empty_list(api: Api) -> None:
    response = api.list_agents()
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["agents"] == []
    assert next_link(body) is None


def test_list_agents_in_registration_order_with_bodies_without_password(api: Api) -> None:
    created = [api.registered() for _ in range(3)]
    listed = api.list_agents().get_json()["agents"]
    assert [agent["id"] for agent in listed] == [agent["id"] for agent in created]
    for agent, shown in zip(created, listed, strict=True):
        assert "password" not in shown
        assert shown == {k: v for k, v in agent.items() if k != "password"}
        assert shown == api.get_agent(agent["id"]).get_json()


def test_list_agents_only_the_projects(api: Api) -> None:
    mine = api.agent()
    theirs = api.agent(project_id=OTHER_PROJECT)
    assert agent_ids(api.list_agents()) == [mine]
    assert agent_ids(api.list_agents(project_id=OTHER_PROJECT)) == [theirs]
    assert agent_ids(api.list_agents(project_id="330033")) == []


def test_list_agents_leaves_out_deleted_ones(api: Api) -> None:
    ids = [api.agent() for _ in range(3)]
    assert api.delete_agent(ids[1]).status_code == 204
    assert agent_ids(api.list_agents()) == [ids[0], ids[2]]


def test_list_agents_shows_enabled_false(api: Api) -> None:
    agent_id = api.agent()
    assert api.set_enabled(agent_id, False).status_code == 204
    (listed,) = api.list_agents().get_json()["agents"]
    assert listed["enabled"] is False


def test_list_agents_limit_pages_with_next_links(api: Api) -> None:
    ids = [api.agent() for _ in range(5)]
    assert all_pages(api, "limit=2") == [ids[0:2], ids[2:4], ids[4:5]]


def test_list_agents_limit_exactly_remaining_has_no_next(api: Api) -> None:
    ids = [api.agent() for _ in range(2)]
    body = api.list_agents(query="limit=2").get_json()
    assert [agent["id"] for agent in body["agents"]] == ids
    assert next_link(body) is None


def test_list_agents_next_link_is_absolute_and_keeps_limit(api: Api) -> None:
    ids = [api.agent() for _ in range(3)]
    href = next_link(api.list_agents(query="limit=1").get_json())
    assert href is not None
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"http://localhost/v2/{PROJECT}/agents"
    query = parse_qs(parts.query)
    assert query["limit"] == ["1"]
    assert query["marker"] == [ids[0]]


def test_list_agents_default_limit_is_100(api: Api) -> None:
    ids = [api.agent() for _ in range(101)]
    body = api.list_agents().get_json()
    assert [agent["id"] for agent in body["agents"]] == ids[:100]
    assert next_link(body) is not None
    assert all_pages(api, "") == [ids[:100], ids[100:]]


@pytest.mark.parametrize("limit", ["1", "3", "1000"])
def test_list_agents_limit_in_range_is_200(api: Api, limit: str) -> None:
    ids = [api.agent() for _ in range(3)]
    assert agent_ids(api.list_agents(query=f"limit={limit}")) == ids[: int(limit)]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", "1e2", "", "+5", "9" * 40])
def test_list_agents_bad_limit_is_400(api: Api, limit: str) -> None:
    api.agent()
    errors = assert_fault(api.list_agents(query=f"limit={limit}"), 400)["errors"]
    assert any(e.startswith("limit: ") for e in errors), errors


def test_list_agents_marker_gives_those_after_it(api: Api) -> None:
    ids = [api.agent() for _ in range(4)]
    assert agent_ids(api.list_agents(query=f"marker={ids[1]}")) == ids[2:]
    assert agent_ids(api.list_agents(query=f"marker={ids[0]}&limit=2")) == ids[1:3]


def test_list_agents_marker_last_is_empty(api: Api) -> None:
    ids = [api.agent() for _ in range(2)]
    body = api.list_agents(query=f"marker={ids[-1]}").get_json()
    assert body["agents"] == []
    assert next_link(body) is None


@pytest.mark.parametrize("marker", [pytest.param(str(uuid.uuid4()), id="a-new-uuid"), "nope"])
def test_list_agents_unknown_marker_is_400(api: Api, marker: str) -> None:
    api.agent()
    errors = assert_fault(api.list_agents(query=f"marker={marker}"), 400)["errors"]
    assert any(e.startswith("marker: ") for e in errors), errors


def test_list_agents_marker_of_other_project_is_400(api: Api) -> None:
    api.agent()
    theirs = api.agent(project_id=OTHER_PROJECT)
    assert_fault(api.list_agents(query=f"marker={theirs}"), 400)


def test_list_agents_marker_of_deleted_agent_is_400(api: Api) -> None:
    ids = [api.agent() for _ in range(3)]
    assert api.delete_agent(ids[1]).status_code == 204
    assert_fault(api.list_agents(query=f"marker={ids[1]}"), 400)


def test_list_agents_ignores_parameters_it_does_not_know(api: Api) -> None:
    ids = [api.agent() for _ in range(2)]
    assert agent_ids(api.list_agents(query="sort_dir=desc&foo=bar")) == ids


def test_list_agents_without_token_is_401(api: Api) -> None:
    assert_fault(api.list_agents(token=""), 401)


# PATCH an agent: /enabled.


@pytest.mark.parametrize("values", [(False,), (True,), (False, True), (True, False), (False, False)])
def test_update_agent_enabled_is_204_and_shows(api: Api, values: tuple[bool, ...]) -> None:
    agent_id = api.agent()
    response = api.set_enabled(agent_id, *values)
    assert response.status_code == 204, response.get_json()
    assert response.get_data() == b""
    assert enabled_of(api, agent_id) is values[-1]


def test_update_agent_back_and_forth(api: Api) -> None:
    agent_id = api.agent()
    for value in (False, False, True, True, False):
        assert api.set_enabled(agent_id, value).status_code == 204
        assert enabled_of(api, agent_id) is value


def test_update_agent_changes_only_enabled(api: Api) -> None:
    created = api.registered()
    assert api.set_enabled(created["id"], False).status_code == 204
    after = api.get_agent(created["id"]).get_json()
    expected = {k: v for k, v in created.items() if k != "password"}
    expected["enabled"] = False
    assert after == expected


def test_update_agent_leaves_other_agents(api: Api) -> None:
    agent_id, other = api.agent(), api.agent()
    assert api.set_enabled(agent_id, False).status_code == 204
    assert enabled_of(api, other) is True


@pytest.mark.parametrize(
    "content_type", [JSON_PATCH, f"{JSON_PATCH}; charset=utf-8", "Application/JSON-Patch+JSON"]
)
def test_update_agent_content_type_variant_is_204(api: Api, content_type: str) -> None:
    agent_id = api.agent()
    response = api.patch_agent(agent_id, [enable(False)], content_type=content_type)
    assert response.status_code == 204, response.get_json()
    assert enabled_of(api, agent_id) is False


@pytest.mark.parametrize(
    "extra", [{"from": "/enabled"}, {"xyz": 1}, {"from": 1, "spurious": None}], ids=range(3)
)
def test_update_agent_unknown_members_ignored(api: Api, extra: dict[str, Any]) -> None:
    agent_id = api.agent()
    assert api.patch_agent(agent_id, [enable(False, **extra)]).status_code == 204
    assert enabled_of(api, agent_id) is False


def test_update_agent_101_operations_is_204_the_last_one_wins(api: Api) -> None:
    agent_id = api.agent()
    document = [enable(i % 2 == 0) for i in range(101)]
    assert api.patch_agent(agent_id, document[1:]).status_code == 204
    assert enabled_of(api, agent_id) is True
    assert api.patch_agent(agent_id, document[:100]).status_code == 204
    assert enabled_of(api, agent_id) is False
    assert api.patch_agent(agent_id, document).status_code == 204
    assert enabled_of(api, agent_id) is True


BAD_OPERATIONS: list[tuple[dict[str, Any], list[str]]] = [
    (enable(op="test"), ["op"]),
    (enable(op="remove"), ["op"]),
    (enable(op="Replace"), ["op"]),
    (enable(op=None), ["op"]),
    (enable(path="/state"), ["path"]),
    (enable(path="enabled"), ["path"]),
    (enable(path="/enabled/x"), ["path"]),
    (enable(path="/name"), ["path"]),
    (enable(path="/id"), ["path"]),
    (enable(path=["/enabled"]), ["path"]),
    (enable(value="true"), ["value"]),
    (enable(value="false"), ["value"]),
    (enable(value=1), ["value"]),
    (enable(value=0), ["value"]),
    (enable(value=None), ["value"]),
    (enable(value={}), ["value"]),
    ({"path": "/enabled", "value": True}, ["op"]),
    ({"op": "replace", "value": True}, ["path"]),
    ({"op": "replace", "path": "/enabled"}, ["value"]),
    ({}, ["op", "path", "value"]),
    (enable(op="copy", path="/name", value="x"), ["op", "path", "value"]),
    (enable(op="add", path="/name", value="x"), ["path", "value"]),
    (enable(op="move", value=1), ["op", "value"]),
    (enable(path="/enabled/", value="yes"), ["path", "value"]),
]


@pytest.mark.parametrize(("operation", "members"), BAD_OPERATIONS, ids=range(len(BAD_OPERATIONS)))
def test_update_agent_bad_operation_is_400_one_entry_per_member(
    api: Api, operation: dict[str, Any], members: list[str]
) -> None:
    agent_id = api.agent()
    errors = assert_fault(api.patch_agent(agent_id, [enable(False), operation]), 400)["errors"]
    assert len(errors) == len(members), errors
    for member in members:
        assert sum(e.startswith(f"/1/{member}: ") for e in errors) == 1, (member, errors)
    assert enabled_of(api, agent_id) is True


def test_update_agent_problems_in_several_operations_all_listed(api: Api) -> None:
    agent_id = api.agent()
    document = [enable(value="no"), enable(False), enable(op="copy", path="/x")]
    errors = assert_fault(api.patch_agent(agent_id, document), 400)["errors"]
    assert sorted(e.split(":")[0] for e in errors) == ["/0/value", "/2/op", "/2/path"], errors
    assert enabled_of(api, agent_id) is True


@pytest.mark.parametrize("element", [1, "replace", None, [], True], ids=range(5))
def test_update_agent_element_not_object_is_400_at_its_index(api: Api, element: Any) -> None:
    agent_id = api.agent()
    errors = assert_fault(api.patch_agent(agent_id, [enable(False), element]), 400)["errors"]
    assert len(errors) == 1 and errors[0].startswith("/1"), errors
    assert enabled_of(api, agent_id) is True


def test_update_agent_empty_array_is_400(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, []), 400)
    assert enabled_of(api, agent_id) is True


@pytest.mark.parametrize("document", [{}, enable(False), "replace", 1, None, False], ids=range(6))
def test_update_agent_not_an_array_is_400(api: Api, document: Any) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, document), 400)
    assert enabled_of(api, agent_id) is True


@pytest.mark.parametrize("data", ["", "[", "nope", "[{'op': 'replace'}]", "\xff", "[] []"], ids=range(6))
def test_update_agent_not_json_is_400(api: Api, data: str) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, data=data.encode("latin-1")), 400)
    assert enabled_of(api, agent_id) is True


@pytest.mark.parametrize("content_type", ["text/plain", "application/merge-patch+json", ""])
def test_update_agent_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, [enable(False)], content_type=content_type), 415)
    assert enabled_of(api, agent_id) is True


def test_update_agent_wrong_content_type_and_bad_body_is_415(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, data=b"nope", content_type="text/plain"), 415)


def test_update_agent_over_1_mib_is_413_and_exactly_1_mib_is_204(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, data=padded([enable(False)], MIB + 1)), 413)
    assert enabled_of(api, agent_id) is True
    assert api.patch_agent(agent_id, data=padded([enable(False)], MIB)).status_code == 204
    assert enabled_of(api, agent_id) is False


def test_update_agent_over_1_mib_not_json_is_413(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, data=b"[" * (MIB + 1)), 413)


@pytest.mark.parametrize("agent_id", [pytest.param(str(uuid.uuid4()), id="a-new-uuid"), "nope"])
def test_update_agent_unknown_is_404(api: Api, agent_id: str) -> None:
    assert_fault(api.patch_agent(agent_id, [enable(False)]), 404)


def test_update_agent_unknown_with_wrong_content_type_is_404(api: Api) -> None:
    assert_fault(api.patch_agent(str(uuid.uuid4()), data=b"nope", content_type="text/plain"), 404)


def test_update_agent_of_other_project_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(agent_id, [enable(False)], project_id=OTHER_PROJECT), 404)
    assert enabled_of(api, agent_id) is True


def test_update_deleted_agent_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert api.delete_agent(agent_id).status_code == 204
    assert_fault(api.set_enabled(agent_id, False), 404)


def test_update_agent_without_token_is_401(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.patch_agent(str(uuid.uuid4()), data=b"x", content_type="text/plain", token=""), 401)
    assert_fault(api.set_enabled(agent_id, False, token=""), 401)
    assert enabled_of(api, agent_id) is True


class TestWithTokensFile:
    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        return strict_settings(tmp_path, store_url)

    def test_observer_update_agent_is_403(self, api: Api) -> None:
        agent_id = api.agent()
        assert_fault(api.set_enabled(agent_id, False, token=OBSERVER), 403)
        assert enabled_of(api, agent_id) is True

    def test_observer_unknown_agent_bad_content_type_is_403(self, api: Api) -> None:
        response = api.patch_agent(str(uuid.uuid4()), data=b"x", content_type="text/plain", token=OBSERVER)
        assert_fault(response, 403)

    def test_unknown_token_is_401_before_403(self, api: Api) -> None:
        assert_fault(api.set_enabled(api.agent(), False, token="not-configured"), 401)

    def test_other_project_token_update_agent_is_403(self, api: Api) -> None:
        agent_id = api.agent()
        assert_fault(api.set_enabled(agent_id, False, token="token-other-project"), 403)
        assert enabled_of(api, agent_id) is True

    def test_creator_update_agent_is_204(self, api: Api) -> None:
        agent_id = api.agent()
        assert api.set_enabled(agent_id, False, token=CREATOR).status_code == 204
        assert enabled_of(api, agent_id) is False

    def test_observer_list_agents_and_status_are_200(self, api: Api) -> None:
        agent_id = api.agent()
        assert agent_ids(api.list_agents(token=OBSERVER)) == [agent_id]
        assert api.agent_status(agent_id, token=OBSERVER).status_code == 200

    def test_other_project_token_list_agents_is_403(self, api: Api) -> None:
        api.agent()
        assert_fault(api.list_agents(token="token-other-project"), 403)
        assert_fault(api.list_agents(token="not-configured"), 401)

    def test_unauthorized_request_with_x_agent_id_does_not_mark_online(self, api: Api) -> None:
        agent_id = api.agent()
        for token in ("not-configured", "token-other-project"):
            response = api.get_agent(agent_id, token=token, extra_headers={"X-Agent-Id": agent_id})
            assert response.status_code in (401, 403)
        assert status_of(api, agent_id)["online"] is False


# Status.


def test_status_of_fresh_agent_is_offline_and_idle(api: Api) -> None:
    agent_id = api.agent()
    assert status_of(api, agent_id) == {"busy": False, "online": False}


def test_status_unknown_agent_is_404(api: Api) -> None:
    assert_fault(api.agent_status(str(uuid.uuid4())), 404)


def test_status_of_other_projects_agent_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.agent_status(agent_id, project_id=OTHER_PROJECT), 404)


def test_status_without_token_is_401(api: Api) -> None:
    assert_fault(api.agent_status(api.agent(), token=""), 401)


def test_status_online_for_5_minutes_after_a_token(api: Api) -> None:
    agent = api.registered()
    api.freeze_clock(WHEN)
    api.agent_token(agent["id"], agent["password"])
    assert status_of(api, agent["id"])["online"] is True
    api.advance_clock(299)
    assert status_of(api, agent["id"])["online"] is True
    api.advance_clock(2)
    assert status_of(api, agent["id"])["online"] is False
    api.advance_clock(3600)
    assert status_of(api, agent["id"])["online"] is False


def test_status_online_again_after_a_new_token(api: Api) -> None:
    agent = api.registered()
    api.freeze_clock(WHEN)
    api.agent_token(agent["id"], agent["password"])
    api.advance_clock(1000)
    assert status_of(api, agent["id"])["online"] is False
    api.agent_token(agent["id"], agent["password"])
    assert status_of(api, agent["id"])["online"] is True


def test_status_online_after_a_posted_event(api: Api) -> None:
    agent_id = api.agent()
    api.freeze_clock(WHEN)
    assert api.post_event({"event": "startup"}, agent_id).status_code == 202
    assert status_of(api, agent_id)["online"] is True
    api.advance_clock(299)
    assert status_of(api, agent_id)["online"] is True
    api.advance_clock(2)
    assert status_of(api, agent_id)["online"] is False


def test_status_online_after_a_request_with_x_agent_id(api: Api) -> None:
    agent_id, other = api.agent(), api.agent()
    api.freeze_clock(WHEN)
    response = api.list_logfiles(agent_id, extra_headers={"X-Agent-Id": agent_id})
    assert response.status_code == 200
    assert status_of(api, agent_id)["online"] is True
    assert status_of(api, other)["online"] is False
    api.advance_clock(301)
    assert status_of(api, agent_id)["online"] is False


def test_status_x_agent_id_on_any_route_counts(api: Api) -> None:
    agent_id = api.agent()
    response = api.get_agent(str(uuid.uuid4()), extra_headers={"X-Agent-Id": agent_id})
    assert_fault(response, 404)
    # An authorized request that merely finds nothing is still the agent talking.
    assert status_of(api, agent_id)["online"] is True


def test_status_x_agent_id_in_another_project_does_not_count(api: Api) -> None:
    agent_id = api.agent()
    response = api.list_agents(project_id=OTHER_PROJECT, extra_headers={"X-Agent-Id": agent_id})
    assert response.status_code == 200
    assert status_of(api, agent_id)["online"] is False


def test_status_x_agent_id_unauthenticated_does_not_count(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.get_agent(agent_id, token="", extra_headers={"X-Agent-Id": agent_id}), 401)
    assert status_of(api, agent_id)["online"] is False


def test_status_registration_and_requests_about_it_do_not_count(api: Api) -> None:
    agent_id = api.agent()
    api.get_agent(agent_id)
    api.logfile(agent_id)
    api.list_logfiles(agent_id)
    assert status_of(api, agent_id)["online"] is False


def test_status_busy_while_a_logfile_is_started(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert status_of(api, agent_id)["busy"] is False
    assert api.patch_state(agent_id, logfile_id, "started").status_code == 204
    assert status_of(api, agent_id)["busy"] is True
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    assert status_of(api, agent_id)["busy"] is False


def test_status_busy_ends_when_the_started_logfile_is_deleted(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert api.patch_state(agent_id, logfile_id, "started").status_code == 204
    assert status_of(api, agent_id)["busy"] is True
    assert api.delete_logfile(agent_id, logfile_id).status_code == 204
    assert status_of(api, agent_id)["busy"] is False


def test_status_busy_with_one_started_among_others(api: Api) -> None:
    agent_id, other = api.agent(), api.agent()
    first, second = api.logfile(agent_id), api.logfile(agent_id)
    assert api.patch_state(agent_id, first, "completed").status_code == 204
    api.logfile(agent_id)
    assert status_of(api, agent_id)["busy"] is False
    assert api.patch_state(agent_id, second, "started").status_code == 204
    assert status_of(api, agent_id)["busy"] is True
    assert status_of(api, other)["busy"] is False


def test_status_busy_and_online_are_independent(api: Api) -> None:
    agent = api.registered()
    logfile_id = api.logfile(agent["id"])
    assert api.patch_state(agent["id"], logfile_id, "started").status_code == 204
    api.agent_token(agent["id"], agent["password"])
    assert status_of(api, agent["id"]) == {"busy": True, "online": True}
