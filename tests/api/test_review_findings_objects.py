"""What a security review of the object store, Identity, the control plane and the dashboard found."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from logfiles.config import DEFAULT_TEMP_URL_KEY
from tests.conftest import PROJECT, TOKEN, Api, assert_fault

LOGS = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/CloudBackupLogs"
AUTH = {"X-Auth-Token": TOKEN}


def put(client: FlaskClient, path: str, data: bytes) -> int:
    answer = client.put(path, data=data, headers=AUTH, environ_overrides={"CONTENT_LENGTH": str(len(data))})
    return answer.status_code


def signed(path: str, key: str, method: str = "GET") -> str:
    expires = int(time.time()) + 600
    sig = hmac.new(key.encode(), f"{method}\n{expires}\n{path}".encode(), hashlib.sha1).hexdigest()
    return f"{path}?temp_url_sig={sig}&temp_url_expires={expires}"


def test_if_match_that_fails_is_412_and_one_that_holds_is_200(client: FlaskClient) -> None:
    assert put(client, f"{LOGS}/n", b"abc") == 201
    etag = hashlib.md5(b"abc", usedforsecurity=False).hexdigest()
    assert_fault(client.get(f"{LOGS}/n", headers={**AUTH, "If-Match": '"nope"'}), 412)
    for value in (f'"{etag}"', "*"):
        got = client.get(f"{LOGS}/n", headers={**AUTH, "If-Match": value}, buffered=True)
        assert (got.status_code, got.data) == (200, b"abc"), value


def test_a_put_that_is_neither_sized_nor_chunked_is_411_under_a_server_that_terminates_input(
    client: FlaskClient,
) -> None:
    """gunicorn sets wsgi.input_terminated on every request: only Transfer-Encoding says chunked."""
    answer = client.put(f"{LOGS}/n", headers=AUTH, environ_overrides={"wsgi.input_terminated": True})
    assert_fault(answer, 411)
    assert client.get(f"{LOGS}/n", headers=AUTH).status_code == 404


def test_a_refused_upload_far_over_the_drain_closes_whatever_refused_it(client: FlaskClient) -> None:
    huge = {"CONTENT_LENGTH": str(64 * 1024 * 1024)}
    unauthorised = client.put(f"{LOGS}/n", environ_overrides=huge)
    assert_fault(unauthorised, 401)
    assert unauthorised.headers["Connection"] == "close"
    bad_name = client.put(f"{LOGS}/{'x' * 1025}", headers=AUTH, environ_overrides=huge)
    assert_fault(bad_name, 400)
    assert bad_name.headers["Connection"] == "close"


def test_with_tokens_the_sources_default_temp_url_key_signs_nothing(tmp_path: Path, store_url: str) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({TOKEN: {"project_id": PROJECT, "roles": ["admin"]}}))
    app = create_app(Settings(store_url=store_url, tokens_file=str(tokens), control_open=True))
    client = app.test_client()
    try:
        assert put(client, f"{LOGS}/secret", b"secret bytes") == 201
        assert_fault(client.get(signed(f"{LOGS}/secret", DEFAULT_TEMP_URL_KEY)), 401)
        assert_fault(client.delete(signed(f"{LOGS}/secret", DEFAULT_TEMP_URL_KEY, "DELETE")), 401)
        key = app.extensions["logfiles"].settings.temp_url_key
        assert key != DEFAULT_TEMP_URL_KEY
        assert client.get(signed(f"{LOGS}/secret", key), buffered=True).data == b"secret bytes"
        # The same tokens give the same key: every worker and every restart agree.
        again = create_app(Settings(store_url=store_url, tokens_file=str(tokens), control_open=True))
        assert again.extensions["logfiles"].settings.temp_url_key == key
        again.extensions["logfiles"].store.close()
    finally:
        app.extensions["logfiles"].store.close()


def test_another_sites_page_cannot_change_the_control_plane(api: Api, client: FlaskClient) -> None:
    agent = api.agent()
    refused = client.post("/_control/reset", headers={"Origin": "http://evil.test"})
    assert_fault(refused, 403)
    refused = client.post("/_control/reset", headers={"Sec-Fetch-Site": "cross-site"})
    assert_fault(refused, 403)
    assert api.get_agent(agent).status_code == 200
    assert client.get("/_control/state", headers={"Origin": "http://evil.test"}).status_code == 200
    assert client.post("/_control/reset", headers={"Origin": "http://localhost"}).status_code == 204
    assert api.get_agent(agent).status_code == 404


def test_an_agent_token_traded_at_identity_keeps_its_agent_and_its_expiry(
    api: Api, client: FlaskClient
) -> None:
    body = api.registered()
    agent_token = api.agent_token(body["id"], body["password"])
    traded = client.post(
        "/v2.0/tokens", json={"auth": {"token": {"id": agent_token}, "tenantId": PROJECT}}
    ).get_json()["access"]["token"]
    original = api.authenticate({"id": body["id"], "password": body["password"]}).get_json()["token"]
    assert traded["expires"] <= original["expires"]
    assert api.get_agent(body["id"], token=traded["id"]).status_code == 200
    assert api.delete_agent(body["id"]).status_code == 204
    assert api.list_agents(token=traded["id"]).status_code == 401


def test_identity_token_credentials_are_masked_in_the_journal(api: Api, client: FlaskClient) -> None:
    client.post("/v2.0/tokens", json={"auth": {"token": {"id": "secret-token-value"}, "tenantId": PROJECT}})
    entries = api.control("get", "requests").get_json()["requests"]
    (entry,) = [e for e in entries if e["path"] == "/v2.0/tokens"]
    assert "secret-token-value" not in entry["body"]


def test_the_dashboard_shows_a_request_whose_body_nests_too_deep(
    api: Api, app: Flask, client: FlaskClient
) -> None:
    deep = "[" * 20_000 + "]" * 20_000
    client.post(f"/v2/{PROJECT}/agents", data=deep, headers={**AUTH, "Content-Type": "application/json"})
    (entry,) = api.control("get", "requests").get_json()["requests"]
    shown = client.get(f"/_control/dashboard/requests/{entry['seq']}")
    assert shown.status_code == 200
    assert "[[[" in shown.get_data(as_text=True)
