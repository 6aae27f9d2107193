"""Helpers shared by the API tests: SPEC formats, link lookups and a table of every /v2 operation."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.test import TestResponse

from tests.conftest import JSON_PATCH, Api, registration, state_patch

# SPEC: times are ISO-8601 UTC with microseconds and `Z` (`2014-09-23T12:22:40.606703Z`).
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
MIB = 1024 * 1024


def assert_uuid4(value: Any) -> None:
    """SPEC: ids are UUID4 strings."""
    assert isinstance(value, str), value
    parsed = uuid.UUID(value)
    assert parsed.version == 4, value
    assert str(parsed) == value, value


def assert_time(value: Any) -> datetime:
    """SPEC: the time format; returns the parsed instant."""
    assert isinstance(value, str), value
    assert TIME.fullmatch(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def links_by_rel(body: dict[str, Any]) -> dict[str, str]:
    links = body["links"]
    assert isinstance(links, list), links
    rels = [link["rel"] for link in links]
    assert len(rels) == len(set(rels)), links
    return {link["rel"]: link["href"] for link in links}


def padded(document: Any, size: int) -> bytes:
    """A JSON document padded with trailing whitespace to exactly `size` bytes."""
    raw = json.dumps(document).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


@dataclass(frozen=True)
class Operation:
    """One guide operation on a /v2 route, with what it needs to succeed."""

    name: str
    method: str
    path: str  # relative to /v2/{project_id}/, with {agent_id} and {logfile_id}
    success: int
    action: str  # the RBAC right it needs: create, read, update, delete
    content_type: str | None = None
    body: Callable[[], Any] | None = None

    def url(self, api: Api, agent_id: str, logfile_id: str, project_id: str | None = None) -> str:
        path = self.path.format(agent_id=agent_id, logfile_id=logfile_id)
        return api.url(*path.split("/"), project_id=project_id)

    def call(
        self,
        api: Api,
        agent_id: str,
        logfile_id: str,
        *,
        token: str | None = None,
        project_id: str | None = None,
        headers: dict[str, str] | None = None,
        data: bytes | str | None = None,
        method: str | None = None,
    ) -> TestResponse:
        """Send the operation; `token=""` sends an empty token, headers override the defaults."""
        all_headers = api.headers(token)
        if self.content_type:
            all_headers["Content-Type"] = self.content_type
        all_headers.update(headers or {})
        if data is None and self.body is not None:
            data = json.dumps(self.body())
        return api.client.open(
            self.url(api, agent_id, logfile_id, project_id),
            method=method or self.method,
            headers=all_headers,
            data=data,
        )


def enabled_patch(value: bool = False) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": "/enabled", "value": value}]


OPERATIONS = [
    Operation("register_agent", "POST", "agents", 201, "create", "application/json", registration),
    Operation("list_agents", "GET", "agents", 200, "read"),
    Operation("get_agent", "GET", "agents/{agent_id}", 200, "read"),
    Operation("update_agent", "PATCH", "agents/{agent_id}", 204, "update", JSON_PATCH, enabled_patch),
    Operation("agent_status", "GET", "agents/{agent_id}/status", 200, "read"),
    Operation("agent_events", "GET", "agents/{agent_id}/events", 200, "read"),
    Operation(
        "post_agent_event",
        "POST",
        "agents/{agent_id}/events",
        202,
        "update",
        "application/json",
        lambda: {"event": "startup"},
    ),
    Operation("project_events", "GET", "events", 200, "read"),
    Operation(
        "post_project_event",
        "POST",
        "events",
        202,
        "update",
        "application/json",
        lambda: {"event": "agent_activate", "mode": "active"},
    ),
    Operation("delete_agent", "DELETE", "agents/{agent_id}", 204, "delete"),
    Operation("request_logfile", "POST", "agents/{agent_id}/logfiles", 202, "create"),
    Operation("list_logfiles", "GET", "agents/{agent_id}/logfiles", 200, "read"),
    Operation("get_logfile", "GET", "agents/{agent_id}/logfiles/{logfile_id}", 200, "read"),
    Operation(
        "update_logfile",
        "PATCH",
        "agents/{agent_id}/logfiles/{logfile_id}",
        204,
        "update",
        JSON_PATCH,
        lambda: state_patch("started"),
    ),
    Operation("delete_logfile", "DELETE", "agents/{agent_id}/logfiles/{logfile_id}", 204, "delete"),
    Operation("project_activities", "GET", "activities", 200, "read"),
    Operation("agent_activities", "GET", "agents/{agent_id}/activities", 200, "read"),
]
OPERATION_IDS = [op.name for op in OPERATIONS]
# The operations on one agent (their URL names it): an agent of another project is not found.
AGENT_OPERATIONS = [op for op in OPERATIONS if "{agent_id}" in op.path]
AGENT_OPERATION_IDS = [op.name for op in AGENT_OPERATIONS]

# SPEC: the routes and the methods each one has; every other method is 405.
ROUTE_METHODS = {
    "agents": {"GET", "POST"},
    "agents/{agent_id}": {"GET", "PATCH", "DELETE"},
    "agents/{agent_id}/status": {"GET"},
    "agents/{agent_id}/events": {"GET", "POST"},
    "events": {"GET", "POST"},
    "agents/{agent_id}/logfiles": {"GET", "POST"},
    "agents/{agent_id}/logfiles/{logfile_id}": {"GET", "PATCH", "DELETE"},
    "activities": {"GET"},
    "agents/{agent_id}/activities": {"GET"},
}
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
WRONG_METHODS = [
    (route, method)
    for route, allowed in ROUTE_METHODS.items()
    for method in ALL_METHODS
    if method not in allowed
]


def route_url(api: Api, route: str, agent_id: str, logfile_id: str) -> str:
    return api.url(*route.format(agent_id=agent_id, logfile_id=logfile_id).split("/"))


def assert_untouched(api: Api, agent_id: str, logfile_id: str) -> None:
    assert api.get_agent(agent_id).status_code == 200
    logfile = api.get_logfile(agent_id, logfile_id)
    assert logfile.status_code == 200
    assert logfile.get_json()["state"] == "requested"
    assert [lf["id"] for lf in api.list_logfiles(agent_id).get_json()["logfiles"]] == [logfile_id]
