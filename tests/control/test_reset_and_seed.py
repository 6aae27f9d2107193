"""One call for a test's set-up: POST /_control/reset with a state document resets, then seeds."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from logfiles.store.memory import _dismantle
from logfiles.store.memory_events import MemoryEvents
from tests.conftest import Api

WHEN = "2014-09-23T12:22:40.606703Z"
SMALL = {
    "agents": [{"id": "agent-1", "project_id": "110011"}],
    "logfiles": [{"id": "log-1", "agent_id": "agent-1", "state": "started"}],
}


def test_reset_with_a_document_forgets_everything_then_seeds_it(api: Api, client: FlaskClient) -> None:
    old_agent = api.agent()
    client.post("/_control/faults", json={"path": "/nothing"})
    client.post("/_control/clock", json={"freeze": WHEN})
    answer = client.post("/_control/reset", json=SMALL)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["agents"] == [{"id": "agent-1", "project_id": "110011"}]
    assert body["logfiles"] == [{"id": "log-1", "agent_id": "agent-1"}]
    assert body["counts"] == {"agents": 1, "logfiles": 1, "events": 0, "objects": 0, "documents": 0}
    assert api.get_agent(old_agent).status_code == 404
    assert client.get("/_control/faults").get_json() == {"faults": []}
    assert client.get("/_control/clock").get_json()["frozen"] is False
    state = client.get("/_control/state").get_json()
    assert [lf["state"] for lf in state["logfiles"]] == ["started"]
    # Real time dates the seeded log file, not the clock frozen before the reset.
    assert not state["logfiles"][0]["date"].startswith("2014-")


def test_reset_with_an_invalid_document_is_400_and_forgets_nothing(api: Api, client: FlaskClient) -> None:
    kept = api.agent()
    answer = client.post("/_control/reset", json={"agents": [{"id": "a"}]})  # no project_id
    assert answer.status_code == 400
    assert set(answer.get_json()) == {"message", "errors"}
    assert api.get_agent(kept).status_code == 200


def test_reset_with_a_document_naming_an_id_twice_is_409_and_forgets_nothing(
    api: Api, client: FlaskClient
) -> None:
    kept = api.agent()
    twice = {"agents": [{"id": "a", "project_id": "p"}, {"id": "a", "project_id": "p"}]}
    assert client.post("/_control/reset", json=twice).status_code == 409
    assert api.get_agent(kept).status_code == 200


def test_reset_with_a_body_that_is_not_json_is_415(client: FlaskClient) -> None:
    answer = client.post("/_control/reset", data="agents", content_type="text/plain")
    assert answer.status_code == 415


def test_reset_without_a_body_is_204_as_before(client: FlaskClient) -> None:
    assert client.post("/_control/reset").status_code == 204


def test_reset_with_a_document_keeps_event_numbers_counting(client: FlaskClient) -> None:
    client.post("/_control/reset", json={**SMALL, "events": [{"agent_id": "agent-1", "event": "startup"}]})
    first = client.get("/_control/state").get_json()["events"][0]["id"]
    client.post("/_control/reset", json={**SMALL, "events": [{"agent_id": "agent-1", "event": "startup"}]})
    second = client.get("/_control/state").get_json()["events"][0]["id"]
    assert int(second) > int(first)


@pytest.mark.parametrize("size", [0, 1, 1000, 20_000])
def test_dismantle_takes_apart_nested_containers(size: int) -> None:
    events = MemoryEvents()
    garbage = ({str(n): {"x": [n, (n, {n: n})]} for n in range(size)}, events, [list(range(size))])
    outer, _, listed = garbage
    _dismantle(garbage)
    assert outer == {} and listed == []
    assert events.all == type(events.all)() and events.by_agent == {}
