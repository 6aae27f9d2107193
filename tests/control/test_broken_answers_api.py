"""Broken-answer fault rules through Flask's test client, on every store: `body` and `trickle`
answer here as anywhere; `truncate`, `garbage` and `reset` need a client socket the test client
does not give, so adding one is a 400 (and one that got in anyway answers 500)."""

from __future__ import annotations

import base64
import socket
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from logfiles.faults import FaultAction, FaultRule
from logfiles.schemas import FAULT_RULE
from tests.conftest import Api, assert_fault

SOCKET_ACTIONS = ["truncate", "garbage", "reset"]


def add_rule(api: Api, **rule: Any) -> dict[str, Any]:
    answer = api.control("post", "faults", rule)
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def journal(api: Api, **query: str) -> list[tuple[int, str | None]]:
    search = "&".join(f"{name}={value}" for name, value in query.items())
    entries = api.control("get", f"requests?{search}").get_json()["requests"]
    return [(entry["status"], entry["fault"]) for entry in entries]


# body: a verbatim answer.


def test_body_rule_answers_its_status_headers_and_text_verbatim(api: Api) -> None:
    agent_id = api.agent()
    rule = add_rule(
        api,
        action="body",
        method="GET",
        body="<html><h1>502 Bad Gateway</h1></html>",
        status=502,
        headers={"Content-Type": "text/html", "X-Proxy": "nginx"},
    )
    answer = api.get_agent(agent_id)
    assert answer.status_code == 502
    assert answer.get_data() == b"<html><h1>502 Bad Gateway</h1></html>"
    assert (answer.headers["Content-Type"], answer.headers["X-Proxy"]) == ("text/html", "nginx")
    assert journal(api, method="GET") == [(502, rule["id"])]


def test_body_rule_default_is_200_with_no_content_type_and_an_empty_body(api: Api) -> None:
    agent_id = api.agent()
    rule = add_rule(api, action="body", method="GET")
    assert (rule["status"], rule["body"], rule["body_base64"]) == (200, None, None)
    answer = api.get_agent(agent_id)
    assert (answer.status_code, answer.get_data()) == (200, b"")
    assert "Content-Type" not in answer.headers


def test_body_rule_base64_sends_any_bytes(api: Api) -> None:
    agent_id = api.agent()
    garbled = b'{"id": "\xff\xfe\x00'  # JSON that breaks off, and is not even UTF-8
    add_rule(api, action="body", method="GET", body_base64=base64.b64encode(garbled).decode())
    answer = api.get_agent(agent_id)
    assert (answer.status_code, answer.get_data()) == (200, garbled)


def test_body_rule_answers_before_the_model_runs(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    add_rule(api, action="body", method="PATCH", status=204)
    assert api.patch_state(agent_id, logfile_id, "started").status_code == 204
    assert api.get_logfile(agent_id, logfile_id).get_json()["state"] == "requested"


def test_body_rule_on_head_sends_the_status_and_headers_only(api: Api, client: FlaskClient) -> None:
    add_rule(api, action="body", method="HEAD", path="/cloudfiles/*", body="abc", headers={"X-A": "b"})
    answer = client.head("/cloudfiles/v1/MossoCloudFS_p/CloudBackupLogs/x", headers=api.headers())
    assert (answer.status_code, answer.headers["X-A"], answer.get_data()) == (200, "b", b"")


def test_body_rule_honours_every_and_times(api: Api) -> None:
    agent_id = api.agent()
    rule = add_rule(api, action="body", method="GET", body="oops", every=2, times=2)
    statuses = [api.get_agent(agent_id).get_data() == b"oops" for _ in range(6)]
    assert statuses == [False, True, False, True, False, False]
    faults = [fault for _, fault in journal(api, method="GET")]
    assert faults == [None, rule["id"], None, rule["id"], None, None]


def test_body_rule_answer_gets_cors_headers_for_an_allowed_origin(store_url: str) -> None:
    app = create_app(Settings(store_url=store_url, cors_origins=("http://localhost:3000",)))
    try:
        api = Api(app.test_client())
        add_rule(api, action="body", body="{not json", headers={"Content-Type": "application/json"})
        answer = api.get_agent("a", extra_headers={"Origin": "http://localhost:3000"})
        assert answer.get_data() == b"{not json"
        assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    finally:
        app.extensions["logfiles"].store.close()


# trickle: works on any server, the test client included.


def test_trickle_rule_answers_whole_with_its_real_status_and_runs_the_request(api: Api) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    rule = add_rule(api, action="trickle", method="GET", rate=1_000_000, times=None)
    assert (rule["rate"], rule["status"]) == (1_000_000, None)
    answer = api.get_logfile(agent_id, logfile_id)
    assert answer.status_code == 200 and answer.get_json()["id"] == logfile_id
    assert journal(api, method="GET") == [(200, rule["id"])]


# truncate, garbage, reset: need the client's socket.


@pytest.mark.parametrize("action", SOCKET_ACTIONS)
def test_socket_rule_is_400_where_the_server_gives_no_socket(api: Api, action: str) -> None:
    body = assert_fault(api.control("post", "faults", {"action": action}), 400)
    assert body["message"] == "This server cannot carry out that fault rule."
    assert body["errors"][0].startswith(f"action: '{action}' needs the client's connection")
    assert api.control("get", "faults").get_json() == {"faults": []}


def test_drop_rule_is_still_taken_without_a_socket_and_answers_500(api: Api) -> None:
    """Unchanged: `drop` was always accepted here, and answers 500 under the test client."""
    agent_id = api.agent()
    add_rule(api, action="drop")
    assert_fault(api.get_agent(agent_id), 500)


@pytest.mark.parametrize("action", SOCKET_ACTIONS)
def test_socket_rule_is_taken_when_the_control_request_has_a_socket(client: FlaskClient, action: str) -> None:
    with socket.socket() as sock:
        answer = client.post(
            "/_control/faults", json={"action": action}, environ_overrides={"werkzeug.socket": sock}
        )
    assert answer.status_code == 201 and answer.get_json()["action"] == action


@pytest.mark.parametrize("action", SOCKET_ACTIONS)
def test_socket_rule_that_fires_without_a_socket_answers_500(app: Flask, api: Api, action: str) -> None:
    """A rule added through a server that had a socket, firing for a request that has none."""
    agent_id = api.agent()
    app.extensions["logfiles"].store.add_fault(
        FaultRule(id="f", action=FaultAction(action), status=None, method="GET")
    )
    body = assert_fault(api.get_agent(agent_id), 500)
    assert body["errors"] == [f"fault: this server gives no socket to {action} (Flask's test client?)"]
    assert journal(api, method="GET") == [(500, "f")]


def test_garbage_rule_writes_the_seeded_bytes_then_closes(app: Flask, api: Api, client: FlaskClient) -> None:
    """With one end of a socket pair standing in for the client's connection."""
    agent_id = api.agent()
    app.extensions["logfiles"].store.add_fault(
        FaultRule(id="g", action=FaultAction.GARBAGE, status=None, size=300, seed=5)
    )
    server_end, client_end = socket.socketpair()
    with server_end, client_end:
        client.get(
            f"/v2/{api.project_id}/agents/{agent_id}",
            headers=api.headers(),
            environ_overrides={"werkzeug.socket": server_end},
        )
        received = b""
        while chunk := client_end.recv(4096):
            received += chunk
    (rule,) = app.extensions["logfiles"].store.list_faults()
    assert received == rule.garbage() and len(received) == 300
    assert journal(api, method="GET") == [(0, "g")]


# Listing, the dashboard, stored rules.


@pytest.fixture
def every_kind(app: Flask) -> list[FaultRule]:
    rules = [
        FaultRule(id="b", action=FaultAction.BODY, status=200, body="<p>proxy</p>"),
        FaultRule(id="t", action=FaultAction.TRUNCATE, status=None),
        FaultRule(id="g", action=FaultAction.GARBAGE, status=None, size=77),
        FaultRule(id="r", action=FaultAction.RESET, status=None),
        FaultRule(id="s", action=FaultAction.TRICKLE, status=None, rate=512),
    ]
    for rule in rules:
        app.extensions["logfiles"].store.add_fault(rule)
    return rules


def test_every_kind_is_listed_as_stored(api: Api, every_kind: list[FaultRule]) -> None:
    listed = api.control("get", "faults").get_json()["faults"]
    assert listed == FAULT_RULE.dump(every_kind, many=True)
    assert [(rule["action"], rule["size"], rule["rate"]) for rule in listed] == [
        ("body", None, None),
        ("truncate", None, None),
        ("garbage", 77, None),
        ("reset", None, None),
        ("trickle", None, 512),
    ]


def test_dashboard_lists_every_kind(client: FlaskClient, every_kind: list[FaultRule]) -> None:
    answer = client.get("/_control/dashboard/faults")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    for rule in every_kind:
        assert f'<tr data-fault="{rule.id}">' in text
    for shown in (
        "body: 200, <code>&lt;p&gt;proxy&lt;/p&gt;</code>",
        "garbage: 77 bytes",
        "trickle: 512 bytes/s",
    ):
        assert shown in text
    assert "<td>truncate</td>" in text and "<td>reset</td>" in text and "drop" not in text
