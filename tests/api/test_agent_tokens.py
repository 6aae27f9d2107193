"""Authenticate an agent: POST /v2/{p}/agents/tokens (SPEC: Agents: the rest; design10)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from logfiles import Settings, create_app
from tests.api.support import MIB, assert_time, assert_uuid4, padded
from tests.conftest import PROJECT, REGISTRATION, TOKEN, Api, assert_fault, registration, state_patch

OTHER_PROJECT = "220022"
WHEN = "2030-01-02T03:04:05.123456Z"
DAY = 24 * 3600
ADMIN = TOKEN
CREATOR = "token-creator"
OBSERVER = "token-observer"
OTHER = "token-other-project"
TOKENS = {
    ADMIN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    CREATOR: {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
    OBSERVER: {"project_id": PROJECT, "roles": ["cloudbackup:observer"]},
    OTHER: {"project_id": OTHER_PROJECT, "roles": ["admin"]},
}


def credentials(agent: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": agent["id"], "password": agent["password"], **extra}


def guide_body(agent: dict[str, Any], fingerprint: str | None = None) -> dict[str, Any]:
    """The guide's full authentication body (its `project_id` differs from the URL's on purpose)."""
    host: dict[str, Any] = {
        "os": {"name": "Ubuntu", "version": "14.04", "architecture": "64-bit"},
        "addresses": [{"version": 4, "addr": "67.23.10.132"}],
    }
    if fingerprint is not None:
        host["fingerprint"] = fingerprint
    return {
        "project_id": "99999",
        "id": agent["id"],
        "password": agent["password"],
        "name": "Web Server",
        "version": "1.23.004567",
        "host": host,
    }


def issue(api: Api, agent: dict[str, Any], project_id: str | None = None) -> str:
    return api.agent_token(agent["id"], agent["password"], project_id=project_id)


def fingerprint_of(agent: dict[str, Any]) -> str:
    """The fingerprint the agent registered with (its body does not show it: the pages' have none)."""
    assert "fingerprint" not in agent["host"]
    return str(REGISTRATION["host"]["fingerprint"])


# Success.


def test_authenticate_is_200_with_token_id_and_expiry_24h_after_now(api: Api) -> None:
    agent = api.registered()
    now = api.freeze_clock(WHEN)
    response = api.authenticate(credentials(agent))
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"token"}
    assert set(body["token"]) == {"id", "expires"}
    assert_uuid4(body["token"]["id"])
    assert assert_time(body["token"]["expires"]) == assert_time(now) + timedelta(days=1)


def test_authenticate_guide_body_with_other_project_id_in_body_is_200(api: Api) -> None:
    agent = api.registered()
    response = api.authenticate(guide_body(agent, fingerprint_of(agent)))
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("with_host", [False, True], ids=["no-host", "host-without-fingerprint"])
def test_authenticate_without_fingerprint_is_200(api: Api, with_host: bool) -> None:
    agent = api.registered()
    body = guide_body(agent) if with_host else credentials(agent)
    assert api.authenticate(body).status_code == 200


def test_authenticate_content_type_with_charset_is_200(api: Api) -> None:
    agent = api.registered()
    response = api.authenticate(credentials(agent), content_type="Application/JSON; charset=utf-8")
    assert response.status_code == 200, response.get_json()


def test_authenticate_ignores_an_x_auth_token(api: Api) -> None:
    agent = api.registered()
    response = api.authenticate(credentials(agent), headers={"X-Auth-Token": ""})
    assert response.status_code == 200, response.get_json()


def test_authenticate_twice_gives_two_working_tokens(api: Api) -> None:
    agent = api.registered()
    first, second = issue(api, agent), issue(api, agent)
    for token in (first, second):
        assert api.get_agent(agent["id"], token=token).status_code == 200


def test_token_works_as_x_auth_token_on_the_agents_project(api: Api) -> None:
    agent = api.registered()
    token = issue(api, agent)
    assert api.get_agent(agent["id"], token=token).status_code == 200
    other_agent = api.agent()
    assert api.request_logfile(other_agent, token=token).status_code == 202
    assert api.list_agents(token=token).status_code == 200
    # Open mode: full rights on the agent's project, DELETE included.
    assert api.delete_agent(other_agent, token=token).status_code == 204


def test_token_open_mode_other_project_is_403(api: Api) -> None:
    agent = api.registered()
    token = issue(api, agent)
    elsewhere = api.agent(project_id=OTHER_PROJECT)
    assert_fault(api.get_agent(elsewhere, token=token, project_id=OTHER_PROJECT), 403)
    assert_fault(api.register_agent(token=token, project_id=OTHER_PROJECT), 403)
    assert_fault(api.delete_agent(elsewhere, token=token, project_id=OTHER_PROJECT), 403)
    assert api.get_agent(elsewhere, project_id=OTHER_PROJECT).status_code == 200


def test_authenticate_marks_the_agent_online(api: Api) -> None:
    agent = api.registered()
    assert api.agent_status(agent["id"]).get_json()["online"] is False
    issue(api, agent)
    assert api.agent_status(agent["id"]).get_json()["online"] is True


# Expiry by the service clock.


def test_token_expires_24h_later_by_the_service_clock(api: Api) -> None:
    agent = api.registered()
    api.freeze_clock(WHEN)
    token = issue(api, agent)
    api.advance_clock(DAY - 1)
    assert api.get_agent(agent["id"], token=token).status_code == 200
    api.advance_clock(1)  # exactly `expires`: expired
    assert_fault(api.get_agent(agent["id"], token=token), 401)
    api.advance_clock(3600)
    assert_fault(api.get_agent(agent["id"], token=token), 401)


def test_token_expiry_follows_the_clock_back(api: Api) -> None:
    agent = api.registered()
    api.freeze_clock(WHEN)
    token = issue(api, agent)
    api.advance_clock(DAY + 10)
    assert_fault(api.get_agent(agent["id"], token=token), 401)
    api.advance_clock(-20)
    assert api.get_agent(agent["id"], token=token).status_code == 200


def test_new_token_after_expiry_works(api: Api) -> None:
    agent = api.registered()
    api.freeze_clock(WHEN)
    old = issue(api, agent)
    api.advance_clock(DAY)
    assert_fault(api.get_agent(agent["id"], token=old), 401)
    new = issue(api, agent)
    assert api.get_agent(agent["id"], token=new).status_code == 200


def test_open_mode_expired_token_stays_401_after_a_new_token(api: Api) -> None:
    """design10: expired -> 401, open mode or not; a newer token must not turn it into "any token"."""
    agent = api.registered()
    api.freeze_clock(WHEN)
    old = issue(api, agent)
    api.advance_clock(DAY)
    issue(api, agent)
    assert_fault(api.get_agent(agent["id"], token=old), 401)
    assert_fault(api.list_agents(token=old, project_id=OTHER_PROJECT), 401)


def test_open_mode_token_of_deleted_agent_is_401(api: Api) -> None:
    """design10: deleting the agent kills its tokens (401 after); it must not widen them to any project."""
    agent = api.registered()
    token = issue(api, agent)
    assert_fault(api.list_agents(token=token, project_id=OTHER_PROJECT), 403)
    assert api.delete_agent(agent["id"]).status_code == 204
    assert_fault(api.list_agents(token=token), 401)
    assert_fault(api.list_agents(token=token, project_id=OTHER_PROJECT), 401)


# 401: unknown agent, wrong password, agent of another project.


def test_authenticate_wrong_password_is_401(api: Api) -> None:
    agent = api.registered()
    assert_fault(api.authenticate(credentials(agent, password=str(uuid.uuid4()))), 401)
    assert api.agent_status(agent["id"]).get_json()["online"] is False


def test_authenticate_other_agents_password_is_401(api: Api) -> None:
    agent, other = api.registered(), api.registered()
    assert_fault(api.authenticate(credentials(agent, password=other["password"])), 401)


def test_authenticate_unknown_agent_is_401(api: Api) -> None:
    assert_fault(api.authenticate({"id": str(uuid.uuid4()), "password": str(uuid.uuid4())}), 401)


def test_authenticate_agent_of_other_project_is_401(api: Api) -> None:
    agent = api.registered(project_id=OTHER_PROJECT)
    assert_fault(api.authenticate(credentials(agent)), 401)
    response = api.authenticate(credentials(agent), project_id=OTHER_PROJECT)
    assert response.status_code == 200, response.get_json()


def test_authenticate_deleted_agent_is_401(api: Api) -> None:
    agent = api.registered()
    assert api.delete_agent(agent["id"]).status_code == 204
    assert_fault(api.authenticate(credentials(agent)), 401)


def test_authenticate_body_project_id_is_not_compared(api: Api) -> None:
    agent = api.registered()
    for project_id in (OTHER_PROJECT, PROJECT, ""):
        response = api.authenticate(credentials(agent, project_id=project_id))
        assert response.status_code == 200, (project_id, response.get_json())


# 409: another fingerprint.


def test_authenticate_other_fingerprint_is_409_naming_two_agents(api: Api) -> None:
    agent = api.registered()
    response = api.authenticate(guide_body(agent, fingerprint_of(agent) + "00"))
    message = assert_fault(response, 409)["message"]
    assert "two agents" in message.lower(), message


def test_authenticate_same_fingerprint_is_200(api: Api) -> None:
    agent = api.registered()
    body = credentials(agent, host={"fingerprint": fingerprint_of(agent)})
    assert api.authenticate(body).status_code == 200


def test_authenticate_409_issues_no_token_and_leaves_agent_offline(api: Api) -> None:
    agent = api.registered()
    assert_fault(api.authenticate(credentials(agent, host={"fingerprint": "other"})), 409)
    assert api.agent_status(agent["id"]).get_json()["online"] is False


def test_authenticate_wrong_password_and_other_fingerprint_is_401(api: Api) -> None:
    agent = api.registered()
    body = credentials(agent, password="wrong", host={"fingerprint": "other"})
    assert_fault(api.authenticate(body), 401)


# 415, 413, 400, in that order, before 401.


@pytest.mark.parametrize("content_type", ["text/plain", "application/json-patch+json", "application/xml", ""])
def test_authenticate_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    agent = api.registered()
    assert_fault(api.authenticate(credentials(agent), content_type=content_type), 415)


def test_authenticate_without_content_type_is_415(api: Api) -> None:
    agent = api.registered()
    assert_fault(api.authenticate(credentials(agent), content_type=None), 415)


def test_authenticate_wrong_content_type_unknown_agent_oversized_is_415(api: Api) -> None:
    data = padded({"id": "nobody", "password": "x"}, MIB + 1)
    assert_fault(api.authenticate(data=data, content_type="text/plain"), 415)


def test_authenticate_over_1_mib_is_413(api: Api) -> None:
    agent = api.registered()
    assert_fault(api.authenticate(data=padded(credentials(agent), MIB + 1)), 413)


def test_authenticate_exactly_1_mib_is_200(api: Api) -> None:
    agent = api.registered()
    response = api.authenticate(data=padded(credentials(agent), MIB))
    assert response.status_code == 200, response.get_json()


def test_authenticate_over_1_mib_not_json_is_413(api: Api) -> None:
    assert_fault(api.authenticate(data=b"{" * (MIB + 1)), 413)


@pytest.mark.parametrize(
    "data", ["", "{", "nope", "{'id': 'x'}", "\xff", '{"id": "a", "password": NaN}'], ids=range(6)
)
def test_authenticate_not_json_is_400(api: Api, data: str) -> None:
    assert_fault(api.authenticate(data=data.encode("latin-1")), 400)


@pytest.mark.parametrize("body", [[], ["id"], "id", 1, None, True], ids=range(6))
def test_authenticate_not_an_object_is_400(api: Api, body: Any) -> None:
    assert_fault(api.authenticate(body), 400)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"id": ...}, "id"),
        ({"password": ...}, "password"),
        ({"id": ""}, "id"),
        ({"password": ""}, "password"),
        ({"id": 1}, "id"),
        ({"id": None}, "id"),
        ({"password": 12345}, "password"),
        ({"password": ["x"]}, "password"),
        ({"project_id": 110011}, "project_id"),
        ({"name": 1}, "name"),
        ({"version": 1.23}, "version"),
        ({"host": "nova"}, "host"),
        ({"host": []}, "host"),
        ({"host": {"fingerprint": 1}}, "host.fingerprint"),
        ({"host": {"os": "Ubuntu"}}, "host.os"),
        ({"host": {"addresses": "67.23.10.132"}}, "host.addresses"),
    ],
    ids=lambda v: json.dumps(v, default=str) if isinstance(v, dict) else str(v),
)
def test_authenticate_bad_member_is_400_naming_it(api: Api, change: dict[str, Any], where: str) -> None:
    agent = api.registered()
    body = credentials(agent)
    for key, value in change.items():
        if value is ...:
            del body[key]
        else:
            body[key] = value
    errors = assert_fault(api.authenticate(body), 400)["errors"]
    assert any(e.startswith(f"{where}: ") for e in errors), errors
    assert api.agent_status(agent["id"]).get_json()["online"] is False


def test_authenticate_empty_object_lists_id_and_password(api: Api) -> None:
    errors = assert_fault(api.authenticate({}), 400)["errors"]
    for where in ("id", "password"):
        assert any(e.startswith(f"{where}: ") for e in errors), (where, errors)


def test_authenticate_unknown_members_are_ignored(api: Api) -> None:
    agent = api.registered()
    body = credentials(agent, surprise=[1, 2], host={"fingerprint": fingerprint_of(agent), "x": 1})
    assert api.authenticate(body).status_code == 200


def test_authenticate_bad_schema_unknown_agent_is_400_not_401(api: Api) -> None:
    assert_fault(api.authenticate({"id": "nobody", "password": 1}), 400)


class TestWithTokensFile:
    """A tokens file is configured: the agent token carries the registering token's project and roles."""

    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        path = tmp_path / "tokens.json"
        path.write_text(json.dumps(TOKENS))
        return Settings(store_url=store_url, tokens_file=str(path), control_open=True)

    def test_authenticate_needs_no_x_auth_token(self, api: Api) -> None:
        agent = api.registered()
        response = api.authenticate(credentials(agent))
        assert response.status_code == 200, response.get_json()

    def test_authenticate_ignores_an_unknown_x_auth_token(self, api: Api) -> None:
        agent = api.registered()
        response = api.authenticate(credentials(agent), headers={"X-Auth-Token": "not-configured"})
        assert response.status_code == 200, response.get_json()

    def test_token_of_admin_registered_agent_has_all_rights(self, api: Api) -> None:
        agent = api.registered(token=ADMIN)
        token = issue(api, agent)
        other = api.agent()
        logfile_id = api.logfile(other)
        assert api.get_agent(other, token=token).status_code == 200
        assert api.patch_state(other, logfile_id, "started", token=token).status_code == 204
        assert api.delete_logfile(other, logfile_id, token=token).status_code == 204
        assert api.delete_agent(other, token=token).status_code == 204

    def test_token_of_creator_registered_agent_cannot_delete(self, api: Api) -> None:
        agent = api.registered(token=CREATOR)
        token = issue(api, agent)
        logfile_id = api.logfile(agent["id"])
        assert api.get_agent(agent["id"], token=token).status_code == 200
        assert api.request_logfile(agent["id"], token=token).status_code == 202
        assert api.patch_state(agent["id"], logfile_id, "started", token=token).status_code == 204
        assert api.register_agent(token=token).status_code == 201
        assert_fault(api.delete_logfile(agent["id"], logfile_id, token=token), 403)
        assert_fault(api.delete_agent(agent["id"], token=token), 403)
        assert api.get_logfile(agent["id"], logfile_id).status_code == 200
        assert api.get_agent(agent["id"]).status_code == 200

    def test_token_other_project_is_403(self, api: Api) -> None:
        agent = api.registered()
        token = issue(api, agent)
        elsewhere = api.agent(token=OTHER, project_id=OTHER_PROJECT)
        assert_fault(api.get_agent(elsewhere, token=token, project_id=OTHER_PROJECT), 403)
        assert_fault(api.delete_agent(elsewhere, token=token, project_id=OTHER_PROJECT), 403)
        assert api.get_agent(elsewhere, token=OTHER, project_id=OTHER_PROJECT).status_code == 200

    def test_token_of_other_project_agent_works_there_only(self, api: Api) -> None:
        agent = api.registered(token=OTHER, project_id=OTHER_PROJECT)
        token = issue(api, agent, project_id=OTHER_PROJECT)
        assert api.get_agent(agent["id"], token=token, project_id=OTHER_PROJECT).status_code == 200
        assert_fault(api.list_logfiles(api.agent(), token=token), 403)

    def test_token_expires_by_the_service_clock(self, api: Api) -> None:
        agent = api.registered()
        api.freeze_clock(WHEN)
        token = issue(api, agent)
        api.advance_clock(DAY - 0.5)
        assert api.get_agent(agent["id"], token=token).status_code == 200
        api.advance_clock(0.5)
        assert_fault(api.get_agent(agent["id"], token=token), 401)

    def test_expired_token_stays_401_after_a_new_token(self, api: Api) -> None:
        agent = api.registered()
        api.freeze_clock(WHEN)
        old = issue(api, agent)
        api.advance_clock(DAY)
        new = issue(api, agent)
        assert_fault(api.get_agent(agent["id"], token=old), 401)
        assert api.get_agent(agent["id"], token=new).status_code == 200

    def test_token_dies_with_its_agent(self, api: Api) -> None:
        agent = api.registered()
        token = issue(api, agent)
        other = api.agent()
        assert api.get_agent(other, token=token).status_code == 200
        assert api.delete_agent(agent["id"]).status_code == 204
        assert_fault(api.get_agent(other, token=token), 401)

    def test_token_of_another_agent_survives_a_delete(self, api: Api) -> None:
        doomed, kept = api.registered(), api.registered()
        token = issue(api, kept)
        assert api.delete_agent(doomed["id"]).status_code == 204
        assert api.get_agent(kept["id"], token=token).status_code == 200

    def test_token_dies_with_a_reset(self, api: Api) -> None:
        agent = api.registered()
        token = issue(api, agent)
        assert api.get_agent(agent["id"], token=token).status_code == 200
        api.reset()
        # The agent is gone too; a request that needs no agent shows the token itself is refused.
        assert_fault(api.list_agents(token=token), 401)
        assert_fault(api.register_agent(token=token), 401)

    def test_creator_agent_token_may_update_where_observer_may_not(self, api: Api) -> None:
        agent = api.registered(token=CREATOR)
        token = issue(api, agent)
        logfile_id = api.logfile(agent["id"])
        response = api.patch_logfile(agent["id"], logfile_id, state_patch("started"), token=OBSERVER)
        assert_fault(response, 403)
        assert (
            api.patch_logfile(agent["id"], logfile_id, state_patch("started"), token=token).status_code == 204
        )

    def test_observer_can_register_nothing_but_authentication_needs_no_rights(self, api: Api) -> None:
        agent = api.registered(token=ADMIN)
        assert_fault(api.register_agent(registration(), token=OBSERVER), 403)
        assert api.authenticate(credentials(agent), headers={"X-Auth-Token": OBSERVER}).status_code == 200


def test_token_is_shared_by_workers_and_kept_by_sqlite(tmp_path: Path) -> None:
    """Tokens live in the store: one worker issues, another accepts, and a restart keeps them."""
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    settings = Settings(store_url=f"sqlite:///{tmp_path / 's.db'}", tokens_file=str(path), control_open=True)
    apps = [create_app(settings), create_app(settings)]
    try:
        one, two = (Api(app.test_client()) for app in apps)
        agent = one.registered()
        token = issue(one, agent)
        assert two.get_agent(agent["id"], token=token).status_code == 200
        assert two.agent_status(agent["id"]).get_json()["online"] is True
    finally:
        for app in apps:
            app.extensions["logfiles"].store.close()
    restarted = create_app(settings)
    try:
        assert Api(restarted.test_client()).get_agent(agent["id"], token=token).status_code == 200
    finally:
        restarted.extensions["logfiles"].store.close()
