"""Routes outside /v2: versions, the readiness probe and the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from openapi_spec_validator import validate

from tests.conftest import Api

# SPEC: the success status of every guide operation.
SUCCESS = {
    ("/v2/{project_id}/agents", "post"): "201",
    ("/v2/{project_id}/agents/{agent_id}", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}", "delete"): "204",
    ("/v2/{project_id}/agents/{agent_id}/logfiles", "post"): "202",
    ("/v2/{project_id}/agents/{agent_id}/logfiles", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/logfiles/{logfile_id}", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/logfiles/{logfile_id}", "patch"): "204",
    ("/v2/{project_id}/agents/{agent_id}/logfiles/{logfile_id}", "delete"): "204",
    ("/v2/{project_id}/agents", "get"): "200",
    ("/v2/{project_id}/agents/tokens", "post"): "200",
    ("/v2/{project_id}/agents/{agent_id}", "patch"): "204",
    ("/v2/{project_id}/agents/{agent_id}/status", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/events", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/events", "post"): "202",
    ("/v2/{project_id}/events", "get"): "200",
    ("/v2/{project_id}/events", "post"): "202",
    ("/v2/{project_id}/configurations", "post"): "201",
    ("/v2/{project_id}/configurations", "get"): "200",
    ("/v2/{project_id}/configurations/{configuration_id}", "get"): "200",
    ("/v2/{project_id}/configurations/{configuration_id}", "patch"): "204",
    ("/v2/{project_id}/configurations/{configuration_id}", "delete"): "204",
    ("/v2/{project_id}/configurations/{configuration_id}/events", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/configurations", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/configuration", "get"): "200",
    ("/v2/{project_id}/activities", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/activities", "get"): "200",
    ("/v2/{project_id}/configurations/{configuration_id}/activities", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/browse-requests", "post"): "202",
    ("/v2/{project_id}/agents/{agent_id}/browse-requests/{request_id}", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/browse-requests/{request_id}", "post"): "204",
    ("/v2/{project_id}/backups/{backup_id}/browse-requests", "post"): "202",
    ("/v2/{project_id}/backups/{backup_id}/browse-requests/{request_id}", "get"): "200",
    ("/v2/{project_id}/backups/{backup_id}/browse-requests/{request_id}", "post"): "204",
    ("/v2/{project_id}/agents/{agent_id}/vault-encryption-requests", "post"): "202",
    ("/v2/{project_id}/agents/{agent_id}/vault-encryption-requests/{request_id}", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/vault-encryption-requests/{request_id}", "post"): "204",
    ("/v2/{project_id}/agents/{agent_id}/vault-password-verification-requests", "post"): "202",
    ("/v2/{project_id}/agents/{agent_id}/vault-password-verification-requests/{request_id}", "get"): "200",
    ("/v2/{project_id}/agents/{agent_id}/vault-password-verification-requests/{request_id}", "post"): "204",
    ("/v2/{project_id}/agents/{agent_id}/vault", "post"): "204",
    ("/v2/{project_id}/health", "get"): "200",
    ("/v2/{project_id}/health/{dependent_system}", "get"): "200",
    ("/v2/{project_id}/ping", "get"): "204",
    ("/v2/{project_id}/settings/summaries", "get"): "200",
    ("/v2/{project_id}/settings/summaries", "put"): "204",
    **{
        operation: status
        for kind in ("backup", "restore", "cleanup")
        for operation, status in (
            ((f"/v2/{{project_id}}/{kind}s", "post"), "201"),
            ((f"/v2/{{project_id}}/{kind}s", "get"), "200"),
            ((f"/v2/{{project_id}}/{kind}s/{{{kind}_id}}", "get"), "200"),
            ((f"/v2/{{project_id}}/{kind}s/{{{kind}_id}}", "patch"), "204"),
            ((f"/v2/{{project_id}}/{kind}s/{{{kind}_id}}/errors", "get"), "200"),
            ((f"/v2/{{project_id}}/{kind}s/{{{kind}_id}}/events", "get"), "200"),
        )
    },
}


def openapi_path(rule: str) -> str:
    """werkzeug's `<converter:name>` placeholders as OpenAPI's `{name}`."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def v2_operations(app: Flask) -> list[tuple[str, str]]:
    operations = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v2/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                operations.append((openapi_path(rule.rule), method.lower()))
    return sorted(operations)


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def test_openapi_document_is_valid(document: dict[str, Any]) -> None:
    validate(document)


def test_openapi_v2_routes_are_the_contracts(app: Flask) -> None:
    assert v2_operations(app) == sorted(SUCCESS)


def test_openapi_lists_every_v2_route_and_method(app: Flask, document: dict[str, Any]) -> None:
    for path, method in v2_operations(app):
        assert path in document["paths"], path
        assert method in document["paths"][path], (path, method)


@pytest.mark.parametrize("status", ["401", "403", "404", "405"])
def test_openapi_every_v2_operation_lists_status(app: Flask, document: dict[str, Any], status: str) -> None:
    for path, method in v2_operations(app):
        if (path, method) == ("/v2/{project_id}/agents/tokens", "post") and status in ("403", "404"):
            continue  # SPEC: it takes no X-Auth-Token, and an unknown agent is a 401
        responses = document["paths"][path][method]["responses"]
        assert status in responses, (path, method, sorted(responses))


def test_openapi_every_v2_operation_lists_success(document: dict[str, Any]) -> None:
    for (path, method), status in SUCCESS.items():
        assert status in document["paths"][path][method]["responses"], (path, method)


def test_versions_root_lists_versions(api: Api) -> None:
    response = api.client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"versions"}
    assert isinstance(body["versions"], list) and body["versions"]


def test_versions_root_needs_no_token(api: Api) -> None:
    assert api.client.get("/", headers={"X-Auth-Token": ""}).status_code == 200


def test_versions_root_link_leads_to_a_version_document(api: Api) -> None:
    (listed,) = api.client.get("/").get_json()["versions"]
    (link,) = listed["links"]
    href = urlsplit(link["href"])
    assert href.scheme == "http" and href.netloc == "localhost"
    response = api.client.get(href.path)  # no token: discovery is open, like the root
    assert response.status_code == 200
    assert response.get_json() == {"version": listed}


def test_version_document_answers_with_a_trailing_slash_or_json_suffix_too(api: Api) -> None:
    """SPEC, The whole service: routes also answer with a trailing slash and a `.json` suffix;
    the document's own link stays canonical."""
    document = api.client.get("/v2").get_json()
    assert document["version"]["links"][0]["href"] == "http://localhost/v2"
    for twin in ("/v2/", "/v2.json"):
        response = api.client.get(twin)
        assert response.status_code == 200
        assert response.get_json() == document
    assert api.client.get("/v2//").status_code == 404


def test_healthz_is_200(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
