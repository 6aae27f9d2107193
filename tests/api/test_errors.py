"""Routing, fault bodies, body size, bodiless requests and the order of checks (SPEC: Common)."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from tests.api.support import (
    MIB,
    OPERATION_IDS,
    OPERATIONS,
    ROUTE_METHODS,
    WRONG_METHODS,
    Operation,
    padded,
    route_url,
)
from tests.conftest import JSON_PATCH, Api, assert_fault, registration, state_patch


@pytest.fixture
def ids(api: Api) -> tuple[str, str]:
    agent_id = api.agent()
    return agent_id, api.logfile(agent_id)


def state_of(api: Api, agent_id: str, logfile_id: str) -> str:
    return str(api.get_logfile(agent_id, logfile_id).get_json()["state"])


def allow(response: object) -> set[str]:
    header = response.headers.get("Allow")  # type: ignore[attr-defined]
    assert header, "405 without an Allow header"
    return {method.strip().upper() for method in header.split(",")}


# Routing: unknown routes are 404, whatever the token.

UNKNOWN_ROUTES = [
    "/nope",
    "/v1",
    "/v2/110011",
    "/v2/110011/",
    "/v2//agents",
    "/v2/110011/nothing-here",
    "/v2/110011/configurations/{agent_id}/x",  # configurations are served; this is not
    "/v2/110011/agents.xml",
    "/v2/110011/agents/{agent_id}.xml",
    "/v2/110011/agents/{agent_id}/logfiles.xml",
    "/v2/110011/agents/{agent_id}/logfiles/{logfile_id}.xml",
    "/v2/110011/agents/{agent_id}/logfiles/{logfile_id}/x",
    "/v2/110011/agents/{agent_id}/logfile",
    "/v2/110011/agent/{agent_id}",
    # A trailing `/` or `.json` is taken off once, and only where a route is left (the
    # routes that answer with them: test_feeds_guide.py).
    "/v2/110011/agents//",
    "/v2/110011/agents.json/",
    "/v2/110011/agents/.json",
    "/v2/110011/agents/{agent_id}.json.json",
    "/v2/110011/agents/{agent_id}/logfiles/{logfile_id}.json/",
    "/v2/110011/nothing-here/",
    "/v2/110011/nothing.json",
]


@pytest.mark.parametrize("path", UNKNOWN_ROUTES)
@pytest.mark.parametrize("token", [None, "any-token"], ids=["no-token", "token"])
def test_unknown_route_is_404(api: Api, ids: tuple[str, str], path: str, token: str | None) -> None:
    agent_id, logfile_id = ids
    url = path.format(agent_id=agent_id, logfile_id=logfile_id)
    headers = {"X-Auth-Token": token} if token else {}
    assert_fault(api.client.get(url, headers=headers), 404)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_unknown_route_any_method_is_404(api: Api, method: str) -> None:
    response = api.client.open(api.url("nothing-here", "1"), method=method, headers=api.headers())
    assert_fault(response, 404)


def test_unknown_route_accept_html_is_json_fault(api: Api) -> None:
    response = api.client.get("/v2/110011/nope", headers={"Accept": "text/html"})
    assert_fault(response, 404)
    assert b"<html" not in response.get_data().lower()


# Routing: a method the route does not have is 405 with `Allow`, whatever the token.


@pytest.mark.parametrize(("route", "method"), WRONG_METHODS)
@pytest.mark.parametrize("token", [None, "", "any-token"], ids=["no-token", "empty-token", "token"])
def test_wrong_method_is_405_with_allow(
    api: Api, ids: tuple[str, str], route: str, method: str, token: str | None
) -> None:
    agent_id, logfile_id = ids
    headers = {} if token is None else {"X-Auth-Token": token}
    url = route_url(api, route, agent_id, logfile_id)
    response = api.client.open(url, method=method, headers=headers)
    assert response.status_code == 405
    assert allow(response) == ROUTE_METHODS[route]
    if method != "HEAD":
        assert_fault(response, 405)


def test_update_agent_other_member_is_400_and_changes_nothing(api: Api, ids: tuple[str, str]) -> None:
    agent_id, _ = ids
    before = api.get_agent(agent_id).get_json()
    response = api.client.patch(
        api.url("agents", agent_id),
        data=json.dumps([{"op": "replace", "path": "/name", "value": "x"}]),
        headers=api.headers(**{"Content-Type": JSON_PATCH}),
    )
    assert assert_fault(response, 400)["errors"] == [
        "/0/path: must be one of /enabled, /log_level, /log-level, /vault/region, /vault/use_internal,"
        " the paths that can change",
        "/0/value: must be a value one of the paths takes: true or false, a log level or a region",
    ]
    assert api.get_agent(agent_id).get_json() == before


def test_wrong_method_unknown_agent_is_405(api: Api) -> None:
    response = api.client.put(api.url("agents", str(uuid.uuid4())), headers=api.headers())
    assert_fault(response, 405)


# Body size: over 1 MiB is 413, exactly 1 MiB is accepted (chunked too).


def test_register_agent_body_exactly_1mib_is_201(api: Api) -> None:
    data = padded(registration(), MIB)
    assert len(data) == MIB
    assert api.register_agent(data=data).status_code == 201


def test_register_agent_body_over_1mib_is_413(api: Api) -> None:
    assert_fault(api.register_agent(data=padded(registration(), MIB + 1)), 413)


def test_update_logfile_body_exactly_1mib_is_204(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    data = padded(state_patch("started"), MIB)
    assert api.patch_logfile(agent_id, logfile_id, data=data).status_code == 204
    assert state_of(api, agent_id, logfile_id) == "started"


@pytest.mark.parametrize("size", [MIB + 1, 2 * MIB])
def test_update_logfile_body_over_1mib_is_413(api: Api, ids: tuple[str, str], size: int) -> None:
    agent_id, logfile_id = ids
    assert_fault(api.patch_logfile(agent_id, logfile_id, data=padded(state_patch("started"), size)), 413)
    assert state_of(api, agent_id, logfile_id) == "requested"


def chunked_patch(api: Api, agent_id: str, logfile_id: str, data: bytes):  # type: ignore[no-untyped-def]
    """A PATCH whose body has no Content-Length, as a chunked request reaches the app under gunicorn."""
    return api.client.patch(
        api.url("agents", agent_id, "logfiles", logfile_id),
        input_stream=io.BytesIO(data),
        headers=api.headers(**{"Content-Type": JSON_PATCH, "Transfer-Encoding": "chunked"}),
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_update_logfile_chunked_body_exactly_1mib_is_204(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    response = chunked_patch(api, agent_id, logfile_id, padded(state_patch("completed"), MIB))
    assert response.status_code == 204
    assert state_of(api, agent_id, logfile_id) == "completed"


def test_update_logfile_chunked_body_over_1mib_is_413(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert_fault(chunked_patch(api, agent_id, logfile_id, padded(state_patch("started"), MIB + 1)), 413)
    assert state_of(api, agent_id, logfile_id) == "requested"


def test_register_agent_chunked_body_over_1mib_is_413(api: Api) -> None:
    response = api.client.post(
        api.url("agents"),
        input_stream=io.BytesIO(padded(registration(), MIB + 1)),
        headers=api.headers(**{"Content-Type": "application/json", "Transfer-Encoding": "chunked"}),
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_fault(response, 413)


# Requests that take no body ignore any Content-Type and body.

BODILESS = [op for op in OPERATIONS if op.body is None]


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", "{}"),
        ("application/json", "not json"),
        ("text/plain", "hello"),
        ("application/xml", "<logfile/>"),
        ("application/json-patch+json", json.dumps(state_patch("started"))),
    ],
    ids=["json-object", "bad-json", "text", "xml", "json-patch"],
)
@pytest.mark.parametrize("operation", BODILESS, ids=[op.name for op in BODILESS])
def test_operation_without_body_ignores_content_type_and_body(
    api: Api, ids: tuple[str, str], operation: Operation, content_type: str, data: str
) -> None:
    agent_id, logfile_id = ids
    response = operation.call(api, agent_id, logfile_id, headers={"Content-Type": content_type}, data=data)
    assert response.status_code == operation.success, response.get_json()


def test_request_logfile_with_json_body_ignores_it(api: Api, ids: tuple[str, str]) -> None:
    agent_id, _ = ids
    response = api.client.post(
        api.url("agents", agent_id, "logfiles"),
        data=json.dumps({"state": "completed", "id": "x"}),
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    assert response.status_code == 202
    body = response.get_json()
    assert body["state"] == "requested"
    assert body["id"] != "x"


# Every response with a body is JSON, whatever Accept says.


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_accept_xml_still_json(api: Api, ids: tuple[str, str], operation: Operation) -> None:
    agent_id, logfile_id = ids
    response = operation.call(api, agent_id, logfile_id, headers={"Accept": "application/xml"})
    assert response.status_code == operation.success
    if response.get_data():
        assert response.mimetype == "application/json"
        assert response.get_json() is not None


@pytest.mark.parametrize("operation", OPERATIONS, ids=OPERATION_IDS)
def test_operation_error_accept_html_is_json_fault(api: Api, operation: Operation) -> None:
    response = operation.call(api, "a", "b", token="", headers={"Accept": "text/html"})
    assert_fault(response, 401)


# SPEC: order of checks after routing: 401, 403, 404 (agent, then log file), 415, 413, 400, 409.
# Each request below violates two conditions; the earlier check must win.


@pytest.mark.parametrize("operation", OPERATIONS[1:], ids=OPERATION_IDS[1:])
def test_operation_no_token_unknown_agent_is_401(api: Api, operation: Operation) -> None:
    assert_fault(operation.call(api, str(uuid.uuid4()), str(uuid.uuid4()), token=""), 401)


def test_update_logfile_no_token_wrong_content_type_is_401(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert_fault(api.patch_state(agent_id, logfile_id, "started", token="", content_type="text/plain"), 401)


def test_update_logfile_no_token_too_large_is_401(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    data = padded(state_patch("started"), MIB + 1)
    assert_fault(api.patch_logfile(agent_id, logfile_id, data=data, token=""), 401)


def test_update_logfile_no_token_invalid_patch_is_401(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert_fault(api.patch_logfile(agent_id, logfile_id, data="not json", token=""), 401)


def test_register_agent_no_token_wrong_content_type_is_401(api: Api) -> None:
    assert_fault(api.register_agent(token="", content_type="text/plain"), 401)


def test_register_agent_no_token_invalid_body_is_401(api: Api) -> None:
    assert_fault(api.register_agent({}, token=""), 401)


def test_update_logfile_unknown_agent_and_logfile_is_404(api: Api) -> None:
    assert_fault(api.patch_state(str(uuid.uuid4()), str(uuid.uuid4()), "started"), 404)


def test_update_logfile_unknown_agent_wrong_content_type_is_404(api: Api, ids: tuple[str, str]) -> None:
    _, logfile_id = ids
    response = api.patch_state(str(uuid.uuid4()), logfile_id, "started", content_type="text/plain")
    assert_fault(response, 404)


def test_update_logfile_unknown_logfile_wrong_content_type_is_404(api: Api, ids: tuple[str, str]) -> None:
    agent_id, _ = ids
    response = api.patch_state(agent_id, str(uuid.uuid4()), "started", content_type="text/plain")
    assert_fault(response, 404)


def test_update_logfile_unknown_logfile_too_large_is_404(api: Api, ids: tuple[str, str]) -> None:
    agent_id, _ = ids
    data = padded(state_patch("started"), MIB + 1)
    assert_fault(api.patch_logfile(agent_id, str(uuid.uuid4()), data=data), 404)


def test_update_logfile_unknown_logfile_invalid_patch_is_404(api: Api, ids: tuple[str, str]) -> None:
    agent_id, _ = ids
    assert_fault(api.patch_logfile(agent_id, str(uuid.uuid4()), [{"op": "add", "path": "/id"}]), 404)


def test_update_logfile_wrong_content_type_too_large_is_415(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    data = padded(state_patch("started"), MIB + 1)
    assert_fault(api.patch_logfile(agent_id, logfile_id, data=data, content_type="application/json"), 415)


def test_update_logfile_wrong_content_type_invalid_patch_is_415(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    response = api.patch_logfile(agent_id, logfile_id, data="not json", content_type="application/json")
    assert_fault(response, 415)


def test_update_logfile_wrong_content_type_illegal_transition_is_415(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    assert_fault(api.patch_state(agent_id, logfile_id, "started", content_type="application/json"), 415)


def test_register_agent_wrong_content_type_too_large_is_415(api: Api) -> None:
    data = padded(registration(), MIB + 1)
    assert_fault(api.register_agent(data=data, content_type="text/plain"), 415)


def test_register_agent_wrong_content_type_invalid_body_is_415(api: Api) -> None:
    assert_fault(api.register_agent({}, content_type="text/plain"), 415)


def test_update_logfile_too_large_invalid_json_is_413(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert_fault(api.patch_logfile(agent_id, logfile_id, data="[" * (MIB + 1)), 413)


def test_update_logfile_too_large_invalid_patch_is_413(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    data = padded([{"op": "add", "path": "/id", "value": "x"}], MIB + 1)
    assert_fault(api.patch_logfile(agent_id, logfile_id, data=data), 413)


def test_update_logfile_too_large_illegal_transition_is_413(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    assert_fault(api.patch_logfile(agent_id, logfile_id, data=padded(state_patch("started"), MIB + 1)), 413)
    assert state_of(api, agent_id, logfile_id) == "completed"


def test_register_agent_too_large_invalid_body_is_413(api: Api) -> None:
    assert_fault(api.register_agent(data=padded({}, MIB + 1)), 413)


def test_update_logfile_invalid_patch_and_illegal_transition_is_400(api: Api, ids: tuple[str, str]) -> None:
    agent_id, logfile_id = ids
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    document = [*state_patch("started"), {"op": "replace", "path": "/state", "value": "requested"}]
    assert_fault(api.patch_logfile(agent_id, logfile_id, document), 400)
    assert state_of(api, agent_id, logfile_id) == "completed"
