"""The control plane through the test client: reset, state, journal, faults, clock."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from tests.conftest import Api, assert_fault

WHEN = "2014-09-23T12:22:40.606703Z"


def control(client: FlaskClient, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    call = getattr(client, method)
    return call(f"/_control/{path}", json=body, **kw) if body is not None else call(f"/_control/{path}", **kw)


def test_reset_forgets_agents_logfiles_journal_faults_and_clock(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    control(client, "post", "faults", {"path": "/nothing"})
    control(client, "post", "clock", {"freeze": WHEN})
    assert control(client, "post", "reset").status_code == 204
    assert api.get_agent(agent_id).status_code == 404
    assert control(client, "get", "faults").get_json() == {"faults": []}
    assert control(client, "get", "clock").get_json()["frozen"] is False
    # Only the GET after the reset is in the journal.
    assert [e["method"] for e in control(client, "get", "requests").get_json()["requests"]] == ["GET"]


def test_state_seeds_a_logfile_in_any_state_at_any_date(api: Api, client: FlaskClient) -> None:
    seeded = control(
        client,
        "post",
        "state",
        {
            "agents": [{"id": "agent-1", "project_id": api.project_id}],
            "logfiles": [
                {"id": "lf-1", "agent_id": "agent-1", "state": "completed", "date": WHEN},
                {"id": "lf-2", "agent_id": "agent-1"},
            ],
        },
    )
    assert seeded.status_code == 200, seeded.get_json()
    body = api.get_logfile("agent-1", "lf-1").get_json()
    assert body["state"] == "completed" and body["date"] == WHEN
    assert {link["rel"] for link in body["links"]} == {"self", "logfile", "logfile_temp_url"}
    listed = api.list_logfiles("agent-1").get_json()["logfiles"]
    assert [(lf["id"], lf["state"]) for lf in listed] == [("lf-1", "completed"), ("lf-2", "requested")]
    assert api.get_agent("agent-1").get_json()["name"] == "seeded agent"


def test_state_export_then_import_is_a_round_trip(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    first, second = api.logfile(agent_id), api.logfile(agent_id)
    api.patch_state(agent_id, second, "started")
    exported = control(client, "get", "state").get_json()
    assert [lf["id"] for lf in exported["logfiles"]] == [first, second]
    control(client, "post", "reset")
    assert control(client, "put", "state", exported).status_code == 200
    assert control(client, "get", "state").get_json() == exported
    assert api.get_logfile(agent_id, second).get_json()["state"] == "started"


def test_replace_state_swaps_everything_and_add_state_refuses_taken_ids(
    api: Api, client: FlaskClient
) -> None:
    old = api.agent()
    document = {"agents": [{"id": "a", "project_id": api.project_id}]}
    assert control(client, "put", "state", document).status_code == 200
    assert api.get_agent(old).status_code == 404
    assert_fault(control(client, "post", "state", document), 409)


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"agents": [{"id": "a"}]}, "agents.0.project_id"),
        ({"logfiles": [{"agent_id": "nobody"}]}, "logfiles.0.agent_id"),
        ({"agents": [{"project_id": "p", "registered_time": "yesterday"}]}, "agents.0.registered_time"),
        ({"agents": [], "logfiles": [{"agent_id": "a", "state": "gone"}]}, "logfiles.0.state"),
        ({"agents": "x"}, "agents"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_state_bad_document_is_400_and_changes_nothing(
    api: Api, client: FlaskClient, document: Any, where: str
) -> None:
    agent_id = api.agent()
    before = control(client, "get", "state").get_json()
    body = assert_fault(control(client, "put", "state", document), 400)
    assert any(e.startswith(where) for e in body["errors"]), body
    assert control(client, "get", "state").get_json() == before
    assert api.get_agent(agent_id).status_code == 200


def test_requests_journal_records_v2_requests_oldest_first_with_filters(
    api: Api, client: FlaskClient
) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    api.patch_state(agent_id, logfile_id, "started")
    api.patch_state(agent_id, logfile_id, "requested")
    entries = control(client, "get", "requests").get_json()["requests"]
    assert [(e["method"], e["status"]) for e in entries] == [
        ("POST", 201),
        ("POST", 202),
        ("PATCH", 204),
        ("PATCH", 400),
    ]
    assert entries[2]["body"] == '[{"op": "replace", "path": "/state", "value": "started"}]'
    assert entries[2]["headers"]["Content-Type"] == "application/json-patch+json"
    assert entries[2]["headers"]["X-Auth-Token"] == api.token
    patches = control(client, "get", "requests?method=patch&status=204").get_json()["requests"]
    assert [e["seq"] for e in patches] == [entries[2]["seq"]]
    by_path = control(client, "get", "requests?path=*/logfiles").get_json()["requests"]
    assert [e["method"] for e in by_path] == ["POST"]
    later = control(client, "get", "requests?since=2999-01-01T00:00:00Z").get_json()["requests"]
    assert later == []
    assert control(client, "delete", "requests").status_code == 204
    assert control(client, "get", "requests").get_json() == {"requests": []}


def test_requests_journal_is_a_bounded_ring() -> None:
    client = create_app(Settings(journal_size=3)).test_client()
    for _ in range(5):
        client.get("/v2/p/agents/missing", headers={"X-Auth-Token": "t"})
    entries = client.get("/_control/requests").get_json()["requests"]
    assert [e["seq"] for e in entries] == [3, 4, 5]


def test_requests_bad_filter_is_400(client: FlaskClient) -> None:
    assert_fault(control(client, "get", "requests?status=abc"), 400)
    assert_fault(control(client, "get", "requests?since=yesterday"), 400)


def test_fault_503_with_retry_after_fires_once_then_the_request_goes_through(
    api: Api, client: FlaskClient
) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    rule = control(
        client,
        "post",
        "faults",
        {"method": "PATCH", "path": "/v2/*/logfiles/*", "status": 503, "headers": {"Retry-After": "2"}},
    )
    assert rule.status_code == 201
    first = api.patch_state(agent_id, logfile_id, "started")
    assert_fault(first, 503)
    assert first.headers["Retry-After"] == "2"
    assert api.get_logfile(agent_id, logfile_id).get_json()["state"] == "requested"
    assert api.patch_state(agent_id, logfile_id, "started").status_code == 204
    (listed,) = control(client, "get", "faults").get_json()["faults"]
    assert (listed["matched"], listed["fired"]) == (2, 1)
    patches = control(client, "get", "requests?method=PATCH").get_json()["requests"]
    assert [(e["status"], e["fault"]) for e in patches] == [(503, rule.get_json()["id"]), (204, None)]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 415, 500, 501, 503])
def test_fault_can_produce_every_documented_status(api: Api, client: FlaskClient, status: int) -> None:
    agent_id = api.agent()
    control(client, "post", "faults", {"status": status, "times": None, "message": "Injected."})
    body = assert_fault(api.get_agent(agent_id), status)
    assert body["message"] == "Injected."


def test_fault_every_kth_and_times(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    control(client, "post", "faults", {"method": "GET", "status": 500, "every": 2, "times": 2})
    statuses = [api.get_agent(agent_id).status_code for _ in range(6)]
    assert statuses == [200, 500, 200, 500, 200, 200]


def test_fault_probability_with_a_seed_repeats(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    runs = []
    for _ in range(2):
        control(client, "delete", "faults")
        rule = {"method": "GET", "status": 500, "times": None, "probability": 0.5, "seed": 7}
        control(client, "post", "faults", rule)
        runs.append([api.get_agent(agent_id).status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500}


def test_fault_matches_on_a_header(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    control(
        client, "post", "faults", {"status": 500, "times": None, "header": "X-Agent", "header_value": "b*"}
    )
    assert api.get_agent(agent_id).status_code == 200
    headers = {"X-Auth-Token": api.token, "X-Agent": "backup-1"}
    assert client.get(api.url("agents", agent_id), headers=headers).status_code == 500


def test_fault_latency_then_normal_answer(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    control(client, "post", "faults", {"action": "latency", "latency": 0.01})
    assert api.get_agent(agent_id).status_code == 200


def test_fault_delete_one_and_all(client: FlaskClient) -> None:
    one = control(client, "post", "faults", {}).get_json()["id"]
    control(client, "post", "faults", {})
    assert control(client, "delete", f"faults/{one}").status_code == 204
    assert_fault(control(client, "delete", f"faults/{one}"), 404)
    assert len(control(client, "get", "faults").get_json()["faults"]) == 1
    assert control(client, "delete", "faults").status_code == 204
    assert control(client, "get", "faults").get_json() == {"faults": []}


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ({"status": 200}, "status"),
        ({"status": "503"}, "status"),
        ({"action": "explode"}, "action"),
        ({"times": 0}, "times"),
        ({"every": 0}, "every"),
        ({"probability": 2}, "probability"),
        ({"latency": 600}, "latency"),
        ({"headers": {"Retry-After": 2}}, "headers"),
    ],
)
def test_fault_bad_rule_is_400(client: FlaskClient, rule: dict[str, Any], where: str) -> None:
    body = assert_fault(control(client, "post", "faults", rule), 400)
    assert any(e.startswith(where) for e in body["errors"]), body
    assert control(client, "get", "faults").get_json() == {"faults": []}


def test_clock_freeze_advance_and_real(api: Api, client: FlaskClient) -> None:
    frozen = control(client, "post", "clock", {"freeze": WHEN}).get_json()
    assert frozen == {"now": WHEN, "frozen": True, "offset_seconds": 0.0}
    agent_id = api.agent()
    assert api.get_agent(agent_id).get_json()["registered_time"] == WHEN
    control(client, "post", "clock", {"advance": 60})
    logfile = api.request_logfile(agent_id).get_json()
    assert logfile["date"] == "2014-09-23T12:23:40.606703Z"
    assert control(client, "post", "clock", {"real": True}).get_json()["frozen"] is False


@pytest.mark.parametrize(
    "command", [{}, {"freeze": "noon"}, {"advance": 1, "real": True}, {"advance": "soon"}, {"when": 1}]
)
def test_clock_bad_command_is_400(client: FlaskClient, command: dict[str, Any]) -> None:
    assert_fault(control(client, "post", "clock", command), 400)


def test_control_token_is_required_when_set() -> None:
    client = create_app(Settings(control_token="s3cret")).test_client()
    assert_fault(client.post("/_control/reset"), 401)
    assert client.post("/_control/reset", headers={"X-Control-Token": "s3cret"}).status_code == 204


def test_control_off_hides_the_control_plane_and_records_nothing() -> None:
    client = create_app(Settings(control=False)).test_client()
    assert_fault(client.post("/_control/reset"), 404)
    assert_fault(client.get("/_control/requests"), 404)


def test_state_generate_adds_logfiles_in_bulk(api: Api, client: FlaskClient) -> None:
    document = {
        "agents": [{"id": "bulk", "project_id": api.project_id}],
        "generate": [{"agent_id": "bulk", "count": 2500, "state": "started", "date": WHEN}],
    }
    answer = control(client, "post", "state", document).get_json()
    assert answer["counts"] == {"agents": 1, "logfiles": 2500, "events": 0, "objects": 0, "documents": 0}
    assert len(answer["logfiles"]) == 1000
    page = api.list_logfiles("bulk", "limit=1000").get_json()
    assert len(page["logfiles"]) == 1000 and page["links"][0]["rel"] == "next"
    assert {lf["state"] for lf in page["logfiles"]} == {"started"}
    dates = [lf["date"] for lf in page["logfiles"]]
    assert dates[0] == WHEN and dates[1] == "2014-09-23T12:22:40.606704Z"
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    assert_fault(control(client, "post", "state", {"generate": [{"agent_id": "nobody", "count": 1}]}), 400)


def test_state_document_may_exceed_the_contracts_1_mib(api: Api, client: FlaskClient) -> None:
    logfiles = [{"agent_id": "big", "state": "requested", "date": WHEN} for _ in range(20_000)]
    document = {"agents": [{"id": "big", "project_id": api.project_id}], "logfiles": logfiles}
    response = control(client, "post", "state", document)
    assert response.status_code == 200 and response.get_json()["counts"]["logfiles"] == 20_000


# One rule for every method: a fault answers before routing, as an outage in front would.


@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "OPTIONS", "PATCH"])
@pytest.mark.parametrize("route", ["agent", "unknown"])
def test_fault_answers_every_method_before_routing(
    api: Api, client: FlaskClient, method: str, route: str
) -> None:
    agent_id = api.agent()
    path = api.url("agents", agent_id) if route == "agent" else api.url("nothing-here", "nothing")
    control(client, "post", "faults", {"method": method, "status": 503, "times": None})
    answer = client.open(path, method=method, headers=api.headers())
    assert answer.status_code == 503
    if method != "HEAD":
        assert_fault(answer, 503)
    control(client, "delete", "faults")
    expected = {"GET": 200, "PATCH": 415} if route == "agent" else {}
    assert client.open(path, method=method, headers=api.headers()).status_code == expected.get(
        method, 405 if route == "agent" else 404
    )


def test_fault_default_path_is_every_contract_route(client: FlaskClient) -> None:
    (rule,) = [control(client, "post", "faults", {}).get_json()]
    assert rule["path"] == "/v2/*"
    assert client.get("/v2/p/agents/a", headers={"X-Auth-Token": "t"}).status_code == 503
    control(client, "post", "faults", {})
    assert client.get("/healthz").status_code == 200  # outside the contract: never faulted


def test_fault_latency_rule_shows_no_status_and_is_journaled(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    rule = control(client, "post", "faults", {"action": "latency", "latency": 0.001}).get_json()
    assert rule["status"] is None and rule["latency"] == 0.001
    status_rule = control(client, "post", "faults", {"path": "/nothing"}).get_json()
    assert status_rule["status"] == 503 and status_rule["latency"] is None
    assert api.get_agent(agent_id).status_code == 200
    (entry,) = control(client, "get", "requests?method=GET").get_json()["requests"]
    assert (entry["status"], entry["fault"]) == (200, rule["id"])


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ({"action": "latency", "status": 503}, "status"),
        ({"action": "drop", "latency": 1}, "latency"),
        ({"action": "status", "latency": 1}, "latency"),
        ({"latency": "1", "action": "latency"}, "latency"),
        ({"path": ""}, "path"),
        ({"path": "*" * 1025}, "path"),
        ({"errors": ["x"] * 101}, "errors"),
        ({"message": "m" * 1025}, "message"),
        ({"probability": True}, "probability"),
        ({"stauts": 500}, "stauts"),
    ],
)
def test_fault_rule_out_of_bounds_is_400(client: FlaskClient, rule: dict[str, Any], where: str) -> None:
    body = assert_fault(control(client, "post", "faults", rule), 400)
    assert any(e.startswith(where) for e in body["errors"]), body
    assert control(client, "get", "faults").get_json() == {"faults": []}


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("stauts=409", "stauts"),
        ("status=" + "9" * 5000, "status"),
        ("status=600", "status"),
        ("status=-1", "status"),
        ("path=" + "*" * 1025, "path"),
        ("since=2014-09-23T12:22:40", "since"),
    ],
)
def test_requests_filter_out_of_bounds_or_unknown_is_400(client: FlaskClient, query: str, where: str) -> None:
    body = assert_fault(control(client, "get", f"requests?{query}"), 400)
    assert any(e.startswith(where) for e in body["errors"]), body


@pytest.mark.parametrize(
    "command",
    [
        {"real": False},
        {"advance": "5"},
        {"advance": True},
        {"advance": 100 * 366 * 24 * 3600},
        {"advance": -100 * 366 * 24 * 3600},
        {"freeze": "2014-09-23T12:22:40"},
        {"freeze": 1},
    ],
)
def test_clock_command_out_of_bounds_is_400_and_changes_nothing(
    client: FlaskClient, command: dict[str, Any]
) -> None:
    before = control(client, "post", "clock", {"freeze": WHEN}).get_json()
    assert_fault(control(client, "post", "clock", command), 400)
    assert control(client, "get", "clock").get_json() == before


def test_clock_freeze_now_after_advance_is_the_service_time(client: FlaskClient) -> None:
    control(client, "post", "clock", {"freeze": WHEN})
    control(client, "post", "clock", {"advance": 3600})
    frozen = control(client, "post", "clock", {"freeze": "now"}).get_json()
    assert frozen["now"] == "2014-09-23T13:22:40.606703Z" and frozen["frozen"] is True


def test_journal_failure_never_changes_the_answer(api: Api, client: FlaskClient, monkeypatch: Any) -> None:
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    store = client.application.extensions["logfiles"].store

    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "record_request", broken)
    assert api.patch_state(agent_id, logfile_id, "started").status_code == 204
    monkeypatch.undo()
    assert api.get_logfile(agent_id, logfile_id).get_json()["state"] == "started"
    assert [e["method"] for e in control(client, "get", "requests").get_json()["requests"]] == [
        "POST",
        "POST",
        "GET",
    ]


class _TimedOutBody(io.BytesIO):
    """A client that sent its headers, then nothing more: every read times out."""

    def read(self, size: int | None = -1, /) -> bytes:
        raise TimeoutError("timed out")

    def readinto(self, buffer: Any, /) -> int:
        raise TimeoutError("timed out")


def test_journal_keeps_the_entry_of_a_body_that_cannot_be_read(client: FlaskClient) -> None:
    """The view answered 401 without reading; the journal's own read of the body fails."""
    answer = client.post(
        "/v2/p/agents",
        input_stream=_TimedOutBody(),
        headers={"Content-Type": "application/json", "Content-Length": "10"},
    )
    assert answer.status_code == 401
    (entry,) = control(client, "get", "requests").get_json()["requests"]
    assert (entry["method"], entry["status"], entry["body"]) == ("POST", 401, "")
