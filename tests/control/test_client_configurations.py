"""The client's configuration calls and the CLI's `configurations`, against a stub in a thread."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logfiles import cli
from logfiles.client import ControlError, StubClient
from logfiles.testing import running_stub
from tests.conftest import REGISTRATION

TOKEN = "t"
PROJECT = "110011"
GUIDE = json.loads((Path(__file__).resolve().parents[1] / "data" / "guide-configurations.json").read_text())


@pytest.fixture(scope="module")
def stub() -> Iterator[StubClient]:
    with running_stub() as client:
        yield client


@pytest.fixture
def agent_id(stub: StubClient) -> str:
    stub.reset()
    stub.freeze("2014-08-05T18:22:21Z")
    registered = stub.call(
        "POST", f"/v2/{PROJECT}/agents", copy.deepcopy(REGISTRATION), {"X-Auth-Token": TOKEN}
    )
    return str(registered["id"])


def example(agent_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**copy.deepcopy(GUIDE["create_request"]), "agent_id": agent_id, **changes}
    return body


def test_a_panels_loop_through_the_client(stub: StubClient, agent_id: str) -> None:
    made = stub.create_configuration(TOKEN, PROJECT, example(agent_id))
    assert made["next"] == {"scheduled_time": "2014-08-05T20:22:21Z"}
    other = stub.create_configuration(TOKEN, PROJECT, example(agent_id, name="Second", schedule=None))
    first = stub.configurations(TOKEN, PROJECT, limit=1)
    assert [c["id"] for c in first["configurations"]] == [made["id"]] and first["links"][0]["rel"] == "next"
    rest = stub.configurations(TOKEN, PROJECT, agent_id, marker=made["id"])
    assert [c["id"] for c in rest["configurations"]] == [other["id"]]
    assert stub.configurations(TOKEN, PROJECT, restorable=True) == {"configurations": []}
    stub.update_configuration(
        TOKEN, PROJECT, made["id"], [{"op": "replace", "path": "/enabled", "value": False}]
    )
    assert stub.configuration(TOKEN, PROJECT, made["id"])["enabled"] is False
    document = stub.agent_configuration(TOKEN, PROJECT, agent_id)
    assert [c["id"] for c in document["configurations"]] == [made["id"], other["id"]]
    stub.delete_configuration(TOKEN, PROJECT, other["id"])
    with pytest.raises(ControlError) as caught:
        stub.configuration(TOKEN, PROJECT, other["id"])
    assert caught.value.status == 404


def test_a_bad_body_raises_the_fault(stub: StubClient, agent_id: str) -> None:
    with pytest.raises(ControlError) as caught:
        stub.create_configuration(TOKEN, PROJECT, example(agent_id, notifications=[]))
    assert caught.value.status == 400
    assert caught.value.body["errors"] == [
        "notifications: at least one notification must have on_failure true"
    ]


def test_the_cli_lists_configurations(
    stub: StubClient, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = stub.create_configuration(TOKEN, PROJECT, example(agent_id))
    assert cli.main(["configurations", PROJECT, "--url", stub.url, "--agent", agent_id]) == 0
    out = capsys.readouterr().out
    assert made["id"] in out and "Every Other Hour Configuration" in out and "2014-08-05T20:22:21Z" in out
    assert cli.main(["configurations", PROJECT, "--url", stub.url, "--agent", "nobody"]) == 1
    assert "404" in capsys.readouterr().err


def test_seed_and_reset_take_configurations_and_jobs(stub: StubClient) -> None:
    agents = [{"id": "a1", "project_id": PROJECT}]
    configuration = {**example("a1"), "id": "c1"}
    jobs = [{"type": "backup", "agent_id": "a1", "id": "b1", "configuration_id": "c1"}]
    stub.reset(agents=agents, configurations=[configuration], jobs=jobs)
    headers = {"X-Auth-Token": TOKEN}
    details = stub.call("GET", f"/v2/{PROJECT}/configurations/c1", None, headers)
    assert details["name"] == configuration["name"] and details["agent"]["id"] == "a1"
    activities = stub.call("GET", f"/v2/{PROJECT}/configurations/c1/activities", None, headers)
    assert [(a["id"], a["type"]) for a in activities["activities"]] == [("b1", "backup")]
    stub.seed(configurations=[{**example("a1"), "id": "c2", "name": "second"}])
    listed = stub.call("GET", f"/v2/{PROJECT}/agents/a1/configurations", None, headers)
    assert [c["id"] for c in listed["configurations"]] == ["c1", "c2"]
    stub.reset()
    assert stub.state()["documents"] == []
