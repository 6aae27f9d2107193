"""Helpers for the tests written from issue 23's guide pages (jobs, requests, health, settings).

Each page's example request and response come from tests/data/guide_operations.json (made from
the pages by tools/guide_operations.py): a test sends the request as the page writes it (its
`Host`, headers, query and body; the example's ids replaced by those of resources it made first
through the API) and compares the answer with the page's example response (tests/guide_shape.py:
the same members, recursively, and the same kinds of values). Nothing here reads the service's
code: what is built first is built through the API, as an outside client would.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from werkzeug.test import TestResponse

from tests.conftest import JSON_PATCH, PROJECT, Api, configuration_body
from tests.guide_shape import Allowed, differences

DATA = Path(__file__).resolve().parents[1] / "data"
_OPERATIONS: list[dict[str, Any]] = json.loads((DATA / "guide_operations.json").read_text())["operations"]
_BY_KEY: dict[tuple[str, str], dict[str, Any]] = {(op["method"], op["path"]): op for op in _OPERATIONS}

P = "/v2/{project_id}"
AGENT = f"{P}/agents/{{agent_id}}"
HOST = "dfw.backup.api.rackspacecloud.com"
BASE = f"https://{HOST}"

# The ids the pages' examples use (URLs say 110011, bodies 123456).
EXAMPLE_AGENT = "8f135b4f-7a69-4b8a-947f-5e80d772fd97"
EXAMPLE_DESTINATION_AGENT = "74124b09-5bd3-4436-b3e4-87ef362e4df5"  # start-a-restore
EXAMPLE_OTHER_AGENT = "8e84d320-77a9-4eb4-a39d-25878a3b9f16"  # verify-the-password: a target agent
EXAMPLE_SOURCE_AGENT = "2240a3eb-1d4e-4e52-bbcd-24417917c361"  # move-a-vault
EXAMPLE_CONFIGURATION = "7c8ee069-568f-4d5a-932f-fb2af86b5fd5"
EXAMPLE_BACKUP = "0d95d699-d16b-11e4-93bd-c8e0eb190e3d"
EXAMPLE_RESTORE = "e87e6f7d-d166-11e4-8689-c8e0eb190e3d"
EXAMPLE_CLEANUP = "2f8708b3-d16b-11e4-bc22-c8e0eb190e3d"
EXAMPLE_BROWSE_AGENT = "16ce47f7-88b2-4983-8b1c-d4a82306ae87"
EXAMPLE_BROWSE_BACKUP = "ae7528c8-bcc3-4356-a237-f20fbdd79ee4"
EXAMPLE_ENCRYPTION = "9072bb51-d5fd-4fc5-ad80-d62e573236b6"
EXAMPLE_VERIFICATION = "f353f472-4931-463a-9920-1dcad25f88e7"
EXAMPLE_PROJECTS = ("110011", "123456")

# SPEC "Common to every /v2 route": a fault body is the page's message and `errors`.
FAULT_ERRORS = Allowed("errors", "SPEC: the fault body is the page's message and `errors`", problem="not in")


def operation(method: str, path: str) -> dict[str, Any]:
    return _BY_KEY[(method, path)]


def page_request(method: str, path: str) -> dict[str, Any]:
    (request,) = operation(method, path)["requests"]
    return request


def page_response(method: str, path: str, status: int | None = None) -> dict[str, Any]:
    """The page's example response (the first one, or the one with `status`)."""
    responses = operation(method, path)["responses"]
    return next(r for r in responses if status is None or r["status"] == status)


def page_body(method: str, path: str, status: int | None = None) -> Any:
    return copy.deepcopy(page_response(method, path, status)["body"])


def page_request_body(method: str, path: str) -> Any:
    return copy.deepcopy(page_request(method, path)["body"])


def substitute(value: Any, ids: dict[str, str]) -> Any:
    """`value` with every example id (a whole string) replaced by the test's."""
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    if isinstance(value, str):
        return ids.get(value, value)
    return value


def send_page_example(
    api: Api,
    method: str,
    path: str,
    values: dict[str, str],
    ids: dict[str, str] | None = None,
    *,
    body: Any = None,
    extra_headers: dict[str, str] | None = None,
) -> TestResponse:
    """The page's example request as written: the route block's path with `values`, its query,
    headers (its `Host` included) and body, the example's ids replaced by `ids`; `body` (when
    given) replaces the page's body."""
    request = page_request(method, path)
    mapping = {**dict.fromkeys(EXAMPLE_PROJECTS, PROJECT), **(ids or {})}
    url = path.format(project_id=PROJECT, **values)
    query = [
        (name, substitute(value, mapping))
        for name, value in parse_qsl(request["query"], keep_blank_values=True)
    ]
    if query:
        url += "?" + urlencode(query)
    headers = [(name, substitute(value, mapping)) for name, value in request["headers"]]
    headers += list((extra_headers or {}).items())
    payload = body if body is not None else request["body"]
    data = None if payload is None else json.dumps(substitute(payload, mapping))
    return api.client.open(url, method=request["method"], headers=headers, data=data, base_url=BASE)


def assert_page_shape(answer: Any, example: Any, *allowed: Allowed) -> None:
    found = differences(answer, example, allowed)
    assert not found, "the answer's shape differs from the page's example:\n" + "\n".join(found)


def json_of(response: TestResponse, status: int) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json", response.headers
    return response.get_json()


def assert_no_body(response: TestResponse, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.get_data() == b"", "the page shows no body"


def rels(links: list[dict[str, str]]) -> list[str]:
    return [link["rel"] for link in links]


def href(links: list[dict[str, str]], rel: str) -> str:
    (found,) = [link["href"] for link in links if link["rel"] == rel]
    return found


def path_of(url: str) -> str:
    """The path and query of an absolute URL (for the test client)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# Building what the pages' examples need, through the API.


def get(api: Api, *parts: str, query: str = "", **headers: str) -> TestResponse:
    url = api.url(*parts) + (f"?{query}" if query else "")
    return api.client.get(url, headers=api.headers(**headers))


def post_json(api: Api, parts: tuple[str, ...], body: Any, **headers: str) -> TestResponse:
    return api.client.post(
        api.url(*parts),
        data=json.dumps(body),
        headers=api.headers(**{"Content-Type": "application/json", **headers}),
    )


def put_json(api: Api, parts: tuple[str, ...], body: Any, **headers: str) -> TestResponse:
    return api.client.put(
        api.url(*parts),
        data=json.dumps(body),
        headers=api.headers(**{"Content-Type": "application/json", **headers}),
    )


def patch(api: Api, parts: tuple[str, ...], document: Any, content_type: str = JSON_PATCH) -> TestResponse:
    return api.client.patch(
        api.url(*parts),
        data=json.dumps(document),
        headers=api.headers(**{"Content-Type": content_type}),
    )


def states(*values: str, op: str = "replace") -> list[dict[str, Any]]:
    return [{"op": op, "path": "/state", "value": v} for v in values]


def configuration(api: Api, agent_id: str) -> dict[str, Any]:
    response = post_json(api, ("configurations",), configuration_body(agent_id))
    body: dict[str, Any] = json_of(response, 201)
    return body


def start_backup(
    api: Api, configuration_id: str, state: str = "start_requested", **headers: str
) -> TestResponse:
    return post_json(api, ("backups",), {"configuration_id": configuration_id, "state": state}, **headers)


def backup(api: Api, configuration_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json_of(start_backup(api, configuration_id), 201)
    return body


def backup_results(state: str = "completed") -> list[dict[str, Any]]:
    """The update-a-backup page's example PATCH (the agent's results), with the final `state`."""
    document: list[dict[str, Any]] = page_request_body("PATCH", f"{P}/backups/{{backup_id}}")
    document[0]["value"] = state
    return document


def finished_backup(api: Api, state: str = "completed") -> tuple[str, str, str]:
    """An agent, a configuration of it and a backup the agent finished in `state` with the page's
    results: (agent_id, configuration_id, backup_id)."""
    agent_id = api.agent()
    configuration_id = configuration(api, agent_id)["id"]
    backup_id = backup(api, configuration_id)["id"]
    response = patch(api, ("backups", backup_id), backup_results(state))
    assert response.status_code == 204, response.get_data(as_text=True)
    return agent_id, configuration_id, backup_id


def restore_request(backup_id: str, destination_agent_id: str) -> dict[str, Any]:
    """The start-a-restore page's example body for our backup and destination agent."""
    body: dict[str, Any] = page_request_body("POST", f"{P}/restores")
    body.update(backup_id=backup_id, destination_agent_id=destination_agent_id)
    return body


def restore(api: Api, backup_id: str, destination_agent_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json_of(
        post_json(api, ("restores",), restore_request(backup_id, destination_agent_id)), 201
    )
    return body


def cleanup(api: Api, agent_id: str) -> dict[str, Any]:
    response = post_json(api, ("cleanups",), {"agent_id": agent_id, "state": "start_requested"})
    body: dict[str, Any] = json_of(response, 201)
    return body


def events(api: Api, *parts: str, query: str = "limit=1000") -> list[dict[str, Any]]:
    body = json_of(get(api, *parts, query=query), 200)
    assert set(body) == {"events", "links"}, body
    found: list[dict[str, Any]] = body["events"]
    return found


def events_of_types(api: Api, *parts: str) -> list[str]:
    return [e["event"] for e in events(api, *parts)]
