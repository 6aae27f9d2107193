"""X-Auth-Token in open mode (no tokens configured): required everywhere, any value has full rights."""

from __future__ import annotations

import json

import pytest

from tests.api.support import OPERATION_IDS, OPERATIONS, Operation, assert_untouched
from tests.conftest import Api, assert_fault


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_without_token_is_401(api: Api, ids: tuple[str, str], operation: Operation) -> None:
    agent_id, logfile_id = ids
    url = operation.url(api, agent_id, logfile_id)
    headers = {"Content-Type": operation.content_type} if operation.content_type else {}
    data = json.dumps(operation.body()) if operation.body else None
    response = api.client.open(url, method=operation.method, headers=headers, data=data)
    assert_fault(response, 401)
    assert_untouched(api, agent_id, logfile_id)


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_empty_token_is_401(api: Api, ids: tuple[str, str], operation: Operation) -> None:
    agent_id, logfile_id = ids
    assert_fault(operation.call(api, agent_id, logfile_id, token=""), 401)
    assert_untouched(api, agent_id, logfile_id)


@pytest.mark.parametrize("token", ["x", "any-token-at-all", "0" * 64])
@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_open_mode_any_token_succeeds(
    api: Api, ids: tuple[str, str], operation: Operation, token: str
) -> None:
    agent_id, logfile_id = ids
    response = operation.call(api, agent_id, logfile_id, token=token)
    assert response.status_code == operation.success, response.get_json()


@pytest.mark.parametrize("project_id", ["1", "220022", "someone-else"])
def test_register_agent_open_mode_any_project_is_201(api: Api, project_id: str) -> None:
    response = api.register_agent(project_id=project_id, token="another-token")
    assert response.status_code == 201
    agent_id = response.get_json()["id"]
    assert api.get_agent(agent_id, project_id=project_id).status_code == 200


def test_get_agent_open_mode_other_token_same_project_sees_it(api: Api) -> None:
    agent_id = api.agent()
    assert api.get_agent(agent_id, token="some-other-token").status_code == 200


def test_get_agent_open_mode_other_project_is_404(api: Api) -> None:
    agent_id = api.agent()
    assert_fault(api.get_agent(agent_id, project_id="220022", token="some-other-token"), 404)


def test_get_agent_without_token_unknown_agent_is_401(api: Api) -> None:
    response = api.client.get(api.url("agents", "no-such-agent"))
    assert_fault(response, 401)
