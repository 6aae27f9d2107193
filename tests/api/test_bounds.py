"""Every input has a bound, and past it the answer is a clear 400 that changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from tests.api.support import assert_untouched
from tests.conftest import Api, assert_fault, registration, state_patch


@pytest.fixture
def ids(api: Api) -> tuple[str, str]:
    agent_id = api.agent()
    return agent_id, api.logfile(agent_id)


# Bodies: UTF-8 only, counted before validated, and a bounded list of problems.


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_register_agent_json_not_in_utf8_is_400(api: Api, encoding: str) -> None:
    body = assert_fault(api.register_agent(data=json.dumps(registration()).encode(encoding)), 400)
    assert body["errors"][0].startswith("body: ")


def test_update_logfile_json_patch_in_utf16_is_400(api: Api, ids: tuple[str, str]) -> None:
    data = json.dumps(state_patch("started")).encode("utf-16")
    assert_fault(api.patch_logfile(*ids, data=data), 400)
    assert_untouched(api, *ids)


def test_update_logfile_operations_are_bounded_only_by_the_body(api: Api, ids: tuple[str, str]) -> None:
    # SPEC: a JSON document's one bound is 1 MiB (tests/api/test_patch.py: 10,000 operations).
    one = json.dumps(state_patch("started")[0], separators=(",", ":"))
    fits = (1024 * 1024 - 1) // (len(one) + 1)  # "[" + fits operations and commas + "]"
    assert api.patch_logfile(*ids, data="[" + ",".join([one] * fits) + "]").status_code == 204
    assert_fault(api.patch_logfile(*ids, data="[" + ",".join([one] * (fits + 1)) + "]"), 413)


def test_update_logfile_megabyte_of_empty_objects_is_a_short_400(api: Api, ids: tuple[str, str]) -> None:
    data = "[" + ",".join(["{}"] * 349_000) + "]"
    assert len(data) < 1024 * 1024
    response = api.patch_logfile(*ids, data=data)
    body = assert_fault(response, 400)
    # 100 entries and a count of the rest: not one per problem (there are 1,047,000).
    assert len(body["errors"]) == 101 and len(response.get_data()) < 10_000, body
    assert body["errors"][-1] == f"errors: {3 * 349_000 - 100} more not shown"
    assert_untouched(api, *ids)


def test_errors_list_is_capped_with_a_count_of_the_rest(api: Api) -> None:
    host = registration()["host"] | {"addresses": [{} for _ in range(200)]}
    body = assert_fault(api.register_agent(registration(host=host)), 400)
    assert len(body["errors"]) == 101
    assert body["errors"][-1] == "errors: 300 more not shown"  # 400 problems: version and addr each


def test_register_agent_over_256_addresses_is_400(api: Api) -> None:
    address = {"version": 4, "addr": "10.0.0.1"}
    host = registration()["host"] | {"addresses": [address] * 257}
    body = assert_fault(api.register_agent(registration(host=host)), 400)
    assert body["errors"] == ["host.addresses: at most 256 items, not 257"]
    host["addresses"] = [address] * 256
    assert api.register_agent(registration(host=host)).status_code == 201


# The Host header: every link is built from it.


@pytest.mark.parametrize("host", ["a b", "evil.example/path?x#", "h:99999", "h:port", ""])
def test_request_with_unusable_host_is_400(api: Api, host: str) -> None:
    response = api.client.post(
        api.url("agents"),
        data=json.dumps(registration()),
        headers=api.headers(**{"Content-Type": "application/json", "Host": host}),
    )
    body = assert_fault(response, 400)
    assert body["errors"][0].startswith("Host: ")
    assert "Location" not in response.headers


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8080", "[::1]:8080", "stub.example"])
def test_request_with_usable_host_builds_links_on_it(api: Api, host: str) -> None:
    response = api.client.post(
        api.url("agents"),
        data=json.dumps(registration()),
        headers=api.headers(**{"Content-Type": "application/json", "Host": host}),
    )
    assert response.status_code == 201
    assert response.headers["Location"].startswith(f"http://{host}/v2/")


# Dates a client may set: in a range every answer can still be written in.


@pytest.mark.parametrize(
    "date", ["0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59.999999Z"]
)
def test_seed_date_out_of_range_is_400(client: FlaskClient, date: str) -> None:
    document = {"agents": [{"id": "a", "project_id": "p"}], "logfiles": [{"agent_id": "a", "date": date}]}
    body = assert_fault(client.post("/_control/state", json=document), 400)
    assert body["errors"][0].startswith("logfiles.0.date: ")
    assert client.get("/_control/state").get_json() == {
        "agents": [],
        "documents": [],
        "logfiles": [],
        "events": [],
        "objects": [],
    }


@pytest.mark.parametrize(
    "command", [{"freeze": "9999-12-31T23:59:59.999999Z"}, {"advance": 1e12}, {"advance": -1e11}]
)
def test_clock_out_of_range_is_400_and_the_service_keeps_answering(
    api: Api, client: FlaskClient, command: dict[str, Any]
) -> None:
    assert_fault(client.post("/_control/clock", json=command), 400)
    assert client.get("/_control/clock").status_code == 200
    assert api.register_agent().status_code == 201


def test_clock_advanced_again_and_again_stops_at_the_range(api: Api, client: FlaskClient) -> None:
    client.post("/_control/clock", json={"freeze": "8950-01-01T00:00:00Z"})
    assert client.post("/_control/clock", json={"advance": 40 * 365 * 86400}).status_code == 200
    assert_fault(client.post("/_control/clock", json={"advance": 40 * 365 * 86400}), 400)
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    assert api.patch_state(agent_id, logfile_id, "completed").status_code == 204
    links = api.get_logfile(agent_id, logfile_id).get_json()["links"]
    assert {link["rel"] for link in links} == {"self", "logfile", "logfile_temp_url"}


# Fault-rule headers: what a rule accepts it can send.


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Bad": "a\r\nInjected: yes"},
        {"": "x"},
        {"Two Words": "x"},
        {"X-Euro": "\u20ac"},
        {"Content-Length": "5"},
        {"transfer-encoding": "chunked"},
        {"X-Long": "x" * 1025},
        {f"X-{n}": "x" for n in range(21)},
    ],
)
def test_fault_rule_header_that_cannot_be_sent_is_400(client: FlaskClient, headers: dict[str, str]) -> None:
    body = assert_fault(client.post("/_control/faults", json={"headers": headers}), 400)
    assert body["errors"][0].startswith("headers"), body
    assert client.get("/_control/faults").get_json() == {"faults": []}


def test_fault_rule_latin1_header_is_sent(api: Api, client: FlaskClient) -> None:
    client.post("/_control/faults", json={"headers": {"Retry-After": "2", "X-Note": "caf\u00e9"}})
    response = api.get_agent("nobody")
    assert response.status_code == 503
    assert response.headers["X-Note"] == "caf\u00e9" and response.headers["Retry-After"] == "2"


# The journal keeps a bounded entry per request, and no configured token in full.


def test_journal_entry_clips_a_long_path_and_query(api: Api, client: FlaskClient) -> None:
    long_id = "a" * 6000
    api.get_agent(long_id, query="q=" + "b" * 5000)
    (entry,) = client.get("/_control/requests").get_json()["requests"]
    assert entry["status"] == 404
    assert len(entry["path"]) < 2100 and entry["path"].endswith("characters)")
    assert entry["path"].startswith(api.url("agents", "aaaa"))
    assert len(entry["query"]) < 2100 and entry["query"].endswith("(+2954 characters)")


def test_journal_hides_configured_tokens(tmp_path: Any) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"secret-admin-token": {"project_id": "p", "roles": ["admin"]}}))
    client = create_app(Settings(tokens_file=str(tokens), control_token="c")).test_client()
    client.get("/v2/p/agents/a", headers={"X-Auth-Token": "secret-admin-token"})
    (entry,) = client.get("/_control/requests", headers={"X-Control-Token": "c"}).get_json()["requests"]
    assert entry["headers"]["X-Auth-Token"] == "secr…(hidden)"
    assert "secret-admin-token" not in json.dumps(entry)


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("Zq7x", "…(hidden)"),  # a prefix of 4 would be the whole token
        ("Zq7xW3", "…(hidden)"),
        ("Zq7xW3kP", "…(hidden)"),  # 8 characters: none shown
        ("Zq7xW3kPa", "Zq…(hidden)"),  # 9 to 11: 2, a quarter at most
        ("Zq7xW3kPa1b2", "Zq7…(hidden)"),
        ("Zq7xW3kPa1b2c3d4", "Zq7x…(hidden)"),  # 16 and more: 4
    ],
)
def test_journal_shows_at_most_a_quarter_of_a_configured_token(tmp_path: Any, token: str, shown: str) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({token: {"project_id": "p", "roles": ["admin"]}}))
    client = create_app(Settings(tokens_file=str(tokens), control_token="c")).test_client()
    assert client.get("/v2/p/agents/a", headers={"X-Auth-Token": token}).status_code == 404
    client.get("/v2/p/agents/a", headers={"X-Auth-Token": token[:4]})  # not a configured one: hidden too
    known, unknown = client.get("/_control/requests", headers={"X-Control-Token": "c"}).get_json()["requests"]
    assert known["headers"]["X-Auth-Token"] == shown
    assert unknown["headers"]["X-Auth-Token"] == "…(hidden)"
    kept = json.dumps([known, unknown])
    assert token not in kept and (len(token) > 8 or token[:4] not in kept)
