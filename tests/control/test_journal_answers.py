"""The journal keeps what each request was told: the answer's size and, for text, its body."""

from __future__ import annotations

import http.client
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from logfiles import Settings
from logfiles.journal import MAX_RECORDED_BODY
from logfiles.testing import running_stub
from tests.api.test_objects import LOGS, BufferedClient, put
from tests.api.test_rbac import TOKENS
from tests.conftest import PROJECT, Api

ADMIN = next(token for token, grant in TOKENS.items() if grant["roles"] == ["cloudbackup:admin"])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    # Answers are read whole and closed, as a server does (a download's file is closed then).
    app.test_client_class = BufferedClient
    return app.test_client()


def entries(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(f"/_control/requests?{query}").get_json()["requests"]
    return found


def last(client: FlaskClient) -> dict[str, Any]:
    return entries(client)[-1]


def test_a_json_answer_is_kept_whole_with_its_size(api: Api, client: FlaskClient) -> None:
    response = api.register_agent()
    entry = last(client)
    assert entry["status"] == 201
    assert entry["response_bytes"] == len(response.get_data()) > 0
    assert entry["response_body"] == response.get_data(as_text=True)
    # Open mode: every token works anyway, so nothing in the answer is a secret to hide.
    assert json.loads(entry["response_body"])["password"] == response.get_json()["password"]


def test_an_error_and_a_fault_rule_answer_are_kept(api: Api, client: FlaskClient) -> None:
    missing = api.get_agent("nobody")
    assert last(client)["response_body"] == missing.get_data(as_text=True)
    client.post("/_control/faults", json={"status": 503, "message": "Down for a test."})
    faulted = api.get_agent("nobody")
    entry = last(client)
    assert (entry["status"], entry["fault"]) == (
        503,
        client.get("/_control/faults").get_json()["faults"][0]["id"],
    )
    assert json.loads(entry["response_body"])["message"] == "Down for a test."
    assert entry["response_bytes"] == len(faulted.get_data())


@pytest.mark.parametrize("method", ["PATCH", "HEAD"])
def test_an_answer_without_a_body_is_empty_and_zero_bytes(api: Api, client: FlaskClient, method: str) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    if method == "PATCH":
        assert api.patch_state(agent_id, logfile_id, "started").status_code == 204
    else:  # 405 on /v2, whose fault body werkzeug leaves out of a HEAD answer
        assert client.head(api.url("agents", agent_id), headers=api.headers()).status_code == 405
    entry = last(client)
    assert (entry["method"], entry["response_bytes"], entry["response_body"]) == (method, 0, "")


def test_a_download_keeps_its_size_but_not_its_bytes(client: FlaskClient) -> None:
    data = b"\x1f\x8b" + bytes(range(256)) * 10
    assert put(client, f"{LOGS}/log.gz", data).status_code == 201
    assert client.get(f"{LOGS}/log.gz", headers={"X-Auth-Token": "t"}).get_data() == data
    ranged = client.get(f"{LOGS}/log.gz", headers={"X-Auth-Token": "t", "Range": "bytes=0-99"})
    assert ranged.status_code == 206
    upload, download, part = entries(client)
    assert upload["status"] == 201
    assert (download["status"], download["response_bytes"], download["response_body"]) == (
        200,
        len(data),
        None,
    )
    assert (part["status"], part["response_bytes"], part["response_body"]) == (206, 100, None)


def test_a_listing_is_text_and_kept(client: FlaskClient) -> None:
    put(client, f"{LOGS}/a.gz", b"a")
    listing = client.get(LOGS, headers={"X-Auth-Token": "t"})
    assert listing.get_data(as_text=True) == "a.gz\n"
    assert (last(client)["response_bytes"], last(client)["response_body"]) == (5, "a.gz\n")


def test_a_long_answer_is_cut_at_64_kib_with_a_note(api: Api, client: FlaskClient) -> None:
    agents = [{"project_id": PROJECT} for _ in range(300)]
    assert client.post("/_control/state", json={"agents": agents}).status_code == 200
    listed = api.list_agents("limit=1000")
    size = len(listed.get_data())
    assert size > MAX_RECORDED_BODY
    entry = last(client)
    assert entry["response_bytes"] == size
    kept, note = entry["response_body"].rsplit("…", 1)
    assert kept == listed.get_data()[:MAX_RECORDED_BODY].decode()
    assert note == f"(+{size - MAX_RECORDED_BODY} bytes)"


def test_an_agents_password_is_masked_in_the_request_it_authenticates_with(
    api: Api, client: FlaskClient
) -> None:
    registered = api.registered()
    api.agent_token(registered["id"], registered["password"])
    cut_short = json.dumps({"id": registered["id"], "password": registered["password"]})[:-1] + ","
    assert api.authenticate(data=cut_short).status_code == 400
    authentication, refused = entries(client, "path=*/tokens")
    assert json.loads(authentication["body"])["password"] == "****"
    assert refused["status"] == 400 and refused["body"].startswith("(not recorded")
    assert registered["password"] not in json.dumps([authentication, refused])


def test_a_dropped_connection_has_no_answer() -> None:
    with running_stub() as stub:
        stub.fault(action="drop")
        with pytest.raises((OSError, http.client.HTTPException)):
            urllib.request.urlopen(f"{stub.url}/v2/p/agents", timeout=5)
        (entry,) = stub.requests()
    assert (entry["status"], entry["response_bytes"], entry["response_body"]) == (0, 0, None)


class TestTokensConfigured:
    """With a tokens file, answers that hand out a secret keep it masked, as headers are."""

    @pytest.fixture
    def settings(self, tmp_path: Path, store_url: str) -> Settings:
        path = tmp_path / "tokens.json"
        path.write_text(json.dumps(TOKENS))
        return Settings(store_url=store_url, tokens_file=str(path), control_open=True)

    def test_a_registrations_password_and_an_agents_token_are_masked(
        self, api: Api, client: FlaskClient
    ) -> None:
        registered = api.registered(token=ADMIN)
        token = api.agent_token(registered["id"], registered["password"])
        registration, authentication = entries(client)
        assert json.loads(registration["response_body"])["password"] == "****"
        assert json.loads(registration["response_body"])["id"] == registered["id"]
        assert json.loads(authentication["response_body"]) == {"token": "****"}
        # The size is the answer's as sent, token and all.
        assert authentication["response_bytes"] > len(token) > 0
        journal = json.dumps(entries(client))
        assert registered["password"] not in journal and token not in journal
