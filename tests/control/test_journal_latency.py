"""The journal's `latency_ms`: from the start of the request to its entry, latency rules included."""

from __future__ import annotations

from tests.conftest import Api


def test_every_entry_has_a_non_negative_latency(api: Api) -> None:
    agent_id = api.agent()
    api.get_agent(agent_id)
    api.get_agent("nobody")
    entries = api.control("get", "requests").get_json()["requests"]
    assert [e["status"] for e in entries] == [201, 200, 404]
    for each in entries:
        assert isinstance(each["latency_ms"], float) and each["latency_ms"] >= 0, each


def test_a_latency_rule_shows_in_the_entrys_latency(api: Api) -> None:
    agent_id = api.agent()
    rule = {"action": "latency", "latency": 0.2, "method": "GET", "path": "/v2/*/agents/*"}
    assert api.control("post", "faults", rule).status_code == 201
    assert api.get_agent(agent_id).status_code == 200
    slow = api.control("get", "requests?method=GET").get_json()["requests"]
    assert len(slow) == 1
    assert slow[0]["fault"] is not None
    assert slow[0]["latency_ms"] >= 200, slow[0]
    registered = api.control("get", "requests?method=POST").get_json()["requests"]
    assert registered[0]["latency_ms"] < 200
