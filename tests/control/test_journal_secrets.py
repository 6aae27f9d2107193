"""Secrets never reach the journal, whatever path they were sent to (issue 20, point 7).

The masking is decided on the body, not the route: credentials POSTed to a near miss of
Identity's or the agents' token route (answered 404 or 405, body never read by a view) are
masked as on the route itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from logfiles.journal import MASK, NOT_RECORDED, is_secret_name, looks_like_tokens_path, recorded_request_body
from tests.conftest import PROJECT

PASSWORD = "hunter2-pw-c0ffee"
API_KEY = "0123456789abcdef-api-key"
TOKEN_ID = "3f1c1a55-issued-token"
SECRETS = (PASSWORD, API_KEY, TOKEN_ID)
NEAR_MISSES = [
    "/v2.0/tokens/",
    "/v2.0//tokens",
    "/v2.0/tokens.xml",
    f"/v2/{PROJECT}/agents/tokens/",
]
IDENTITY = {"auth": {"passwordCredentials": {"username": "alice", "password": PASSWORD}, "tenantId": PROJECT}}
API_KEY_BODY = {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "bob", "apiKey": API_KEY}}}
TOKEN_BODY = {"auth": {"token": {"id": TOKEN_ID}, "tenantId": PROJECT}}
AGENT = {"id": "agent-1", "password": PASSWORD}
XML = (
    '<?xml version="1.0"?><auth xmlns="http://docs.openstack.org/identity/api/v2.0">'
    f'<passwordCredentials username="alice" password="{PASSWORD}"/></auth>'
)


def journal(client: FlaskClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = client.get("/_control/requests").get_json()["requests"]
    return entries


@pytest.mark.parametrize("path", NEAR_MISSES)
@pytest.mark.parametrize(
    "body", [IDENTITY, API_KEY_BODY, TOKEN_BODY, AGENT], ids=["pw", "key", "token", "agent"]
)
def test_json_credentials_posted_to_a_near_miss_path_are_masked(
    client: FlaskClient, path: str, body: dict[str, Any]
) -> None:
    response = client.post(path, json=body)
    assert 400 <= response.status_code < 500
    (entry,) = journal(client)
    assert entry["path"] == path and entry["status"] == response.status_code
    assert not any(secret in json.dumps(entry) for secret in SECRETS), entry
    kept = json.loads(entry["body"])
    assert MASK in json.dumps(kept)
    if body is IDENTITY:  # what is not a secret is kept, to tell the requests apart
        assert kept["auth"]["passwordCredentials"] == {"username": "alice", "password": MASK}


@pytest.mark.parametrize("path", NEAR_MISSES)
@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/xml", XML),
        ("application/x-www-form-urlencoded", f"username=alice&password={PASSWORD}"),
        ("text/plain", f"alice:{PASSWORD}"),
    ],
    ids=["xml", "form", "plain"],
)
def test_other_credentials_posted_to_a_near_miss_path_are_not_recorded(
    client: FlaskClient, path: str, content_type: str, data: str
) -> None:
    client.post(path, data=data, headers={"Content-Type": content_type})
    (entry,) = journal(client)
    assert entry["body"] == NOT_RECORDED.decode()


def test_agent_credentials_refused_for_their_content_type_are_masked(client: FlaskClient) -> None:
    # 415 comes before the view reads the body: the journal reads it then, and masks it.
    path = f"/v2/{PROJECT}/agents/tokens"
    response = client.post(path, data=json.dumps(AGENT), headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    (entry,) = journal(client)
    assert json.loads(entry["body"]) == {"id": "agent-1", "password": MASK}


def test_a_password_in_any_json_body_on_any_route_is_masked(client: FlaskClient) -> None:
    client.post(f"/v2/{PROJECT}/agents", json={"name": "x", "settings": [{"api_key": API_KEY}]})
    client.post(f"/v2/{PROJECT}/events", json={"event": "x", "nested": {"newPassword": PASSWORD}})
    bodies = [json.loads(entry["body"]) for entry in journal(client)]
    assert bodies[0]["settings"] == [{"api_key": MASK}]
    assert bodies[1]["nested"] == {"newPassword": MASK}


# The rules themselves.


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "Password",
        "apiKey",
        "api_key",
        "API-KEY",
        "token",
        "X-Auth-Token",
        "newPassword",
        "client_secret",
        "passwd",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["passwordCredentials", "username", "id", "tenantId", "event", "state", "tokens"]
)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "path",
    ["/v2.0/tokens", *NEAR_MISSES, "/v2.0/TOKENS", "/v2.0/tokens;x", "/v2.0/token", "/v2/p/agents/tokens"],
)
def test_tokens_paths(path: str) -> None:
    assert looks_like_tokens_path(path)


@pytest.mark.parametrize(
    "path", ["/v2/p/agents", "/v2.0/tenants", "/v2/p/agents/a/logfiles/l", "/cloudfiles/v1/x"]
)
def test_paths_that_are_not_tokens_paths(path: str) -> None:
    assert not looks_like_tokens_path(path)


def test_a_body_without_secrets_is_kept_byte_for_byte() -> None:
    data = b'[ {"op":"replace",  "path":"/state", "value":"started"} ]'
    assert recorded_request_body("/v2/p/agents/a/logfiles/l", data) == data
    assert (
        recorded_request_body("/v2/p/agents/a/events", b"not json, nothing to hide")
        == b"not json, nothing to hide"
    )
    assert recorded_request_body("/v2.0/tokens/", b"") == b""


def test_a_secret_spelt_with_escapes_or_in_utf16_is_found() -> None:
    escaped = b'{"pass\\u0077ord": "' + PASSWORD.encode() + b'"}'
    assert json.loads(recorded_request_body("/v2/p/x", escaped)) == {"password": MASK}
    utf16 = json.dumps({"password": PASSWORD}).encode("utf-16")
    assert json.loads(recorded_request_body("/v2/p/x", utf16)) == {"password": MASK}
    plain16 = f"password={PASSWORD}".encode("utf-16-le")
    assert recorded_request_body("/v2/p/x", plain16) == NOT_RECORDED


def test_a_body_that_cannot_be_parsed_but_names_a_secret_is_not_recorded() -> None:
    assert recorded_request_body("/v2/p/agents", b'{"password": "' + PASSWORD.encode()) == NOT_RECORDED
    assert recorded_request_body("/v2/p/agents", b"[" * 100_000 + b"token") == NOT_RECORDED
