"""Review of issue 22 (hardening): inputs that made configuration routes do unbounded work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dateutil import rrule

from tests.conftest import PROJECT, Api, assert_fault

GUIDE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "guide-configurations.json").read_text()
)
# Every 7 minutes from a Monday 23:00: a week is a whole number of steps, so no step is ever
# a Tuesday at 19:07. dateutil walked such a rule to the year 9999 (minutes of CPU) per request.
NEVER = "RRULE:FREQ=MINUTELY;INTERVAL=7;BYDAY=TU;BYHOUR=19;BYMINUTE=7"
MONDAY = "2026-12-07T23:00:00Z"


@pytest.fixture
def bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail (instead of hanging) once dateutil has walked 30 years of months in one test."""
    original = rrule._iterinfo.rebuild
    walked = [0]

    def rebuild(info: rrule._iterinfo, year: int, month: int) -> None:
        walked[0] += 1
        assert walked[0] <= 12 * 30, f"dateutil walked to {year}-{month}"
        original(info, year, month)

    monkeypatch.setattr(rrule._iterinfo, "rebuild", rebuild)


def test_a_schedule_that_never_runs_is_a_400_at_once(api: Api, bounded: None) -> None:
    api.freeze_clock(MONDAY)
    agent_id = api.agent()
    body = dict(GUIDE["create_request"], agent_id=agent_id)
    body["schedule"] = {"recurrence": [NEVER], "time_zone": "UTC", "start": MONDAY}
    response = api._call(
        "post", ("configurations",), data=json.dumps(body), extra_headers={"Content-Type": "application/json"}
    )
    assert_fault(response, 400)
    assert any("never runs" in entry for entry in response.get_json()["errors"])


def test_a_seeded_schedule_that_never_runs_is_served_without_runs(api: Api, bounded: None) -> None:
    api.freeze_clock(MONDAY)
    seeded = {
        "agents": [{"id": "agent-1", "project_id": PROJECT}],
        "configurations": [
            {
                **GUIDE["create_request"],
                "id": "config-1",
                "agent_id": "agent-1",
                "schedule": {"recurrence": [NEVER], "time_zone": "UTC", "start": MONDAY},
            }
        ],
    }
    assert api.control("post", "state", seeded).status_code == 200
    details = api._call("get", ("configurations", "config-1"))
    assert details.status_code == 200
    assert details.get_json()["backups"]["next"] is None
    document = api._call("get", ("agents", "agent-1", "configuration")).get_json()
    assert document["configurations"][0]["times"] == []


def test_imported_job_documents_of_any_body_are_listed(api: Api) -> None:
    """The state document's `documents` are imported as given (an export's round trip): a job
    whose body is not what the service writes is listed as well as it can be read, never a 500."""
    keys = {"configuration_id": "", "state": "completed", "time": "2020-01-01T00:00:00.000000Z"}
    seeded = {
        "agents": [{"id": "agent-1", "project_id": PROJECT}],
        "documents": [
            {
                "kind": "backup",
                "project_id": PROJECT,
                "id": "b1",
                "parent": "agent-1",
                "version": 1,
                "keys": keys,
                "body": {},
            },
            {
                "kind": "cleanup",
                "project_id": PROJECT,
                "id": "c1",
                "parent": "agent-1",
                "version": 1,
                "keys": {**keys, "time": "2021-01-01T00:00:00.000000Z"},
                "body": {"agent_id": 5, "state": ["x"], "last_updated_time": "x", "configuration_id": {}},
            },
        ],
    }
    assert api.control("post", "state", seeded).status_code == 200, api.control("get", "state").get_json()
    for parts in (("activities",), ("agents", "agent-1", "activities")):
        response = api._call("get", parts)
        assert response.status_code == 200, response.get_data(as_text=True)
        listed = response.get_json()["activities"]
        assert [a["id"] for a in listed] == ["c1", "b1"]
        assert listed[1]["state"] == "completed" and listed[1]["agent"]["id"] == "agent-1"
