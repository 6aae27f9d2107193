"""The client's /v2 calls (logfiles/client_v2.py) and the CLI's `backups`, `restores`,
`cleanups` and `health`, against a stub in a thread; the pure helpers first."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logfiles import cli
from logfiles.client import ControlError, StubClient
from logfiles.client_v2 import request_id_of, state_patch
from logfiles.testing import running_stub
from tests.conftest import REGISTRATION

TOKEN = "t"
PROJECT = "110011"
DATA = Path(__file__).resolve().parents[1] / "data"
GUIDE = json.loads((DATA / "guide-configurations.json").read_text())
PAGES = {
    (op["method"], op["path"]): op
    for op in json.loads((DATA / "guide_operations.json").read_text())["operations"]
}
SETTINGS_EXAMPLE = PAGES[("GET", "/v2/{project_id}/settings/summaries")]["responses"][0]["body"]


def test_a_state_patch_is_the_update_pages_shape() -> None:
    assert state_patch("completed", snapshot_id=1, ended_time="T") == [
        {"op": "replace", "path": "/state", "value": "completed"},
        {"op": "add", "path": "/snapshot_id", "value": 1},
        {"op": "add", "path": "/ended_time", "value": "T"},
    ]


def test_a_requests_id_is_the_last_segment_of_its_location() -> None:
    assert request_id_of("http://h/v2/p/agents/a/browse-requests/r-1") == "r-1"
    assert request_id_of("http://h/v2/p/agents/a/vault-encryption-requests/r-2/") == "r-2"


def test_a_call_that_names_no_route_is_refused_before_sending() -> None:
    client = StubClient("http://127.0.0.1:9")  # nothing listens: a call that went out would fail otherwise
    with pytest.raises(ValueError, match="backup, restore, cleanup"):
        client.job(TOKEN, PROJECT, "backups", "b1")
    with pytest.raises(ValueError, match="not both"):
        client.browse_results(TOKEN, PROJECT, "r1")


@pytest.fixture(scope="module")
def stub() -> Iterator[StubClient]:
    with running_stub() as client:
        yield client


@pytest.fixture
def fresh(stub: StubClient) -> StubClient:
    stub.reset()
    return stub


def register(stub: StubClient, **changes: Any) -> str:
    body = {**copy.deepcopy(REGISTRATION), **changes}
    return str(stub.call("POST", f"/v2/{PROJECT}/agents", body, {"X-Auth-Token": TOKEN})["id"])


def test_health_ping_and_summary_settings_through_the_client(fresh: StubClient) -> None:
    report = fresh.health(TOKEN, PROJECT)
    assert {name: entry["online"] for group in report.values() for name, entry in group.items()} == {
        "cassandra": True,
        "swift": True,
        "pecan": True,
    }
    assert fresh.health(TOKEN, PROJECT, "swift")["online"] is True
    fresh.ping(TOKEN, PROJECT)
    assert fresh.summary_settings(TOKEN, PROJECT) == SETTINGS_EXAMPLE
    mine = [{"type": "email", "destination": "ops@example.com"}]
    fresh.set_summary_settings(TOKEN, PROJECT, mine, weekly=True)
    assert fresh.summary_settings(TOKEN, PROJECT) == {"daily": False, "weekly": True, "notifications": mine}
    with pytest.raises(ControlError) as caught:
        fresh.health(TOKEN, PROJECT, "storage")
    assert caught.value.status == 404


def test_health_answers_a_503_report_and_raises_an_injected_fault(fresh: StubClient) -> None:
    """The report with a system offline is an answer (read `online`); a fault body is an error."""
    offline = {"storage": {"cassandra": {"online": False, "links": []}}}
    fresh.fault(path="/v2/*/health", action="body", status=503, body=json.dumps(offline), times=None)
    assert fresh.health(TOKEN, PROJECT) == offline
    fresh.clear_faults()
    fresh.fault(path="/v2/*/health", status=503)
    with pytest.raises(ControlError) as caught:
        fresh.health(TOKEN, PROJECT)
    assert caught.value.status == 503 and "message" in caught.value.body


def test_the_cli_prints_health_and_exits_1_when_a_system_is_offline(
    fresh: StubClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["health", PROJECT, "--url", fresh.url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["SYSTEM", "GROUP", "ONLINE", "NODE"]
    assert [line.split()[:3] for line in out[1:]] == [
        ["cassandra", "storage", "True"],
        ["swift", "storage", "True"],
        ["pecan", "transport", "True"],
    ]
    offline = {"storage": {"cassandra": {"online": False, "links": []}}}
    fresh.fault(path="/v2/*/health", action="body", status=503, body=json.dumps(offline), times=None)
    assert cli.main(["health", PROJECT, "--url", fresh.url]) == 1
    assert "cassandra  storage  False" in capsys.readouterr().out
