"""Strict mode (a tokens file is configured): unknown tokens, other projects, and roles x operations."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from logfiles import Settings
from tests.api.support import (
    AGENT_OPERATION_IDS,
    AGENT_OPERATIONS,
    MIB,
    OPERATION_IDS,
    OPERATIONS,
    Operation,
    assert_untouched,
    padded,
)
from tests.conftest import PROJECT, TOKEN, Api, assert_fault, registration, state_patch

OTHER_PROJECT = "220022"
ALL = {"create", "read", "update", "delete"}

# SPEC: roles from the guide's RBAC page; a token's rights are the union of its roles'.
ROLE_RIGHTS: list[tuple[tuple[str, ...], set[str]]] = [
    (("admin",), ALL),
    (("cloudbackup:admin",), ALL),
    (("cloudbackup:creator",), {"create", "read", "update"}),
    (("cloudbackup:observer",), {"read"}),
    (("observer",), {"read"}),
    ((), set()),
    (("cloudbackup:observer", "cloudbackup:creator"), {"create", "read", "update"}),
    (("observer", "admin"), ALL),
    (("cloudbackup:creator", "cloudbackup:admin"), ALL),
    (("observer", "cloudbackup:observer"), {"read"}),
]


def token_for(roles: tuple[str, ...]) -> str:
    return "token-" + ("+".join(roles) or "no-roles")


TOKENS = {
    TOKEN: {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
    "token-other-project": {"project_id": OTHER_PROJECT, "roles": ["admin"]},
    **{token_for(roles): {"project_id": PROJECT, "roles": list(roles)} for roles, _ in ROLE_RIGHTS},
}
OBSERVER = token_for(("observer",))
CREATOR = token_for(("cloudbackup:creator",))
NO_ROLES = token_for(())


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    # The tests reach the control plane without its token, as an operator may choose to.
    return Settings(store_url=store_url, tokens_file=str(path), control_open=True)


@pytest.mark.parametrize(("roles", "rights"), ROLE_RIGHTS, ids=[token_for(r) for r, _ in ROLE_RIGHTS])
@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_role(
    api: Api, ids: tuple[str, str], operation: Operation, roles: tuple[str, ...], rights: set[str]
) -> None:
    agent_id, logfile_id = ids
    response = operation.call(api, agent_id, logfile_id, token=token_for(roles))
    if operation.action in rights:
        assert response.status_code == operation.success, response.get_json()
    else:
        assert_fault(response, 403)
        assert_untouched(api, agent_id, logfile_id)


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_unknown_token_is_401(api: Api, ids: tuple[str, str], operation: Operation) -> None:
    agent_id, logfile_id = ids
    assert_fault(operation.call(api, agent_id, logfile_id, token="not-a-configured-token"), 401)
    assert_untouched(api, agent_id, logfile_id)


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_empty_token_strict_is_401(api: Api, ids: tuple[str, str], operation: Operation) -> None:
    agent_id, logfile_id = ids
    assert_fault(operation.call(api, agent_id, logfile_id, token=""), 401)
    assert_untouched(api, agent_id, logfile_id)


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_token_of_other_project_is_403(
    api: Api, ids: tuple[str, str], operation: Operation
) -> None:
    agent_id, logfile_id = ids
    assert_fault(operation.call(api, agent_id, logfile_id, token="token-other-project"), 403)
    assert_untouched(api, agent_id, logfile_id)


def test_register_agent_token_in_own_project_is_201(api: Api) -> None:
    response = api.register_agent(token="token-other-project", project_id=OTHER_PROJECT)
    assert response.status_code == 201
    assert response.get_json()["project_id"] == OTHER_PROJECT


@pytest.mark.parametrize("operation", AGENT_OPERATIONS, ids=AGENT_OPERATION_IDS)
def test_operation_agent_of_other_project_via_own_project_is_404(
    api: Api, ids: tuple[str, str], operation: Operation
) -> None:
    agent_id, logfile_id = ids
    response = operation.call(
        api, agent_id, logfile_id, token="token-other-project", project_id=OTHER_PROJECT
    )
    assert_fault(response, 404)
    assert_untouched(api, agent_id, logfile_id)


# SPEC: order of checks after routing: 401, 403, 404 (agent, then log file), 415, 413, 400, 409.


@pytest.mark.parametrize("operation", OPERATIONS[1:], ids=OPERATION_IDS[1:])
def test_operation_unknown_token_and_unknown_agent_is_401(api: Api, operation: Operation) -> None:
    response = operation.call(api, str(uuid.uuid4()), str(uuid.uuid4()), token="not-a-configured-token")
    assert_fault(response, 401)


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_unknown_token_other_project_is_401(
    api: Api, ids: tuple[str, str], operation: Operation
) -> None:
    agent_id, logfile_id = ids
    response = operation.call(
        api, agent_id, logfile_id, token="not-a-configured-token", project_id=OTHER_PROJECT
    )
    assert_fault(response, 401)


@pytest.mark.parametrize("token", [NO_ROLES, "token-other-project"])
@pytest.mark.parametrize("operation", OPERATIONS[1:], ids=OPERATION_IDS[1:])
def test_operation_forbidden_and_unknown_agent_is_403(api: Api, operation: Operation, token: str) -> None:
    assert_fault(operation.call(api, str(uuid.uuid4()), str(uuid.uuid4()), token=token), 403)


def test_delete_logfile_observer_unknown_logfile_is_403(api: Api, ids: tuple[str, str]) -> None:
    agent_id, _ = ids
    assert_fault(api.delete_logfile(agent_id, str(uuid.uuid4()), token=OBSERVER), 403)


def test_delete_agent_creator_unknown_agent_is_403(api: Api) -> None:
    assert_fault(api.delete_agent(str(uuid.uuid4()), token=CREATOR), 403)


def test_update_logfile_observer_wrong_content_type_is_403(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    response = api.patch_state(agent_id, logfile_id, "started", token=OBSERVER, content_type="text/plain")
    assert_fault(response, 403)
    assert_untouched(api, agent_id, logfile_id)


def test_update_logfile_observer_body_too_large_is_403(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    data = padded(state_patch("started"), MIB + 1)
    assert_fault(api.patch_logfile(agent_id, logfile_id, data=data, token=OBSERVER), 403)


def test_update_logfile_observer_invalid_patch_is_403(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert_fault(api.patch_logfile(agent_id, logfile_id, [{"op": "add"}], token=OBSERVER), 403)


def test_update_logfile_observer_illegal_transition_is_403(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    assert_fault(api.patch_state(agent_id, logfile_id, "started", token=OBSERVER), 403)


def test_register_agent_observer_invalid_body_is_403(api: Api) -> None:
    assert_fault(api.register_agent({}, token=OBSERVER), 403)
    assert_fault(api.register_agent(data="not json", content_type="text/plain", token=OBSERVER), 403)


def test_register_agent_unknown_token_invalid_body_is_401(api: Api) -> None:
    assert_fault(api.register_agent(registration(name=1), token="not-a-configured-token"), 401)


def test_update_logfile_creator_unknown_logfile_wrong_content_type_is_404(
    api: Api, ids: tuple[str, str]
) -> None:
    agent_id, _ = ids
    response = api.patch_state(
        agent_id, str(uuid.uuid4()), "started", token=CREATOR, content_type="text/plain"
    )
    assert_fault(response, 404)


@pytest.mark.parametrize("token", ["not-a-configured-token", NO_ROLES, "token-other-project"])
def test_unknown_route_any_token_is_404(api: Api, token: str) -> None:
    assert_fault(api.client.get(api.url("nothing-here"), headers=api.headers(token)), 404)


def test_list_logfiles_observer_sees_them(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    response = api.list_logfiles(agent_id, token=OBSERVER)
    assert [lf["id"] for lf in response.get_json()["logfiles"]] == [logfile_id]
