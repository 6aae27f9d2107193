"""The client's calls for backups, restores, cleanups, the requests and moving a vault, and the
CLI's `backups`, `restores` and `cleanups`, against a stub in a thread. The bodies are the
guide pages' own examples (tests/data/guide_operations.json), ids replaced by ours."""

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
DATA = Path(__file__).resolve().parents[1] / "data"
GUIDE = json.loads((DATA / "guide-configurations.json").read_text())
PAGES = {
    (op["method"], op["path"]): op
    for op in json.loads((DATA / "guide_operations.json").read_text())["operations"]
}
P = "/v2/{project_id}"


def page_request(method: str, path: str) -> Any:
    return copy.deepcopy(PAGES[(method, P + path)]["requests"][0]["body"])


@pytest.fixture(scope="module")
def stub() -> Iterator[StubClient]:
    with running_stub() as client:
        yield client


def register(stub: StubClient) -> str:
    agent = stub.call("POST", f"/v2/{PROJECT}/agents", copy.deepcopy(REGISTRATION), {"X-Auth-Token": TOKEN})
    return str(agent["id"])


@pytest.fixture
def agent_id(stub: StubClient) -> str:
    stub.reset()
    return register(stub)


def completed_backup(stub: StubClient, agent_id: str) -> dict[str, Any]:
    """A backup of a configuration of the agent, completed with the update page's own results."""
    configuration = stub.create_configuration(
        TOKEN, PROJECT, {**GUIDE["create_request"], "agent_id": agent_id}
    )
    backup = stub.start_backup(TOKEN, PROJECT, configuration["id"])
    stub.update_job(TOKEN, PROJECT, "backup", backup["id"], page_request("PATCH", "/backups/{backup_id}"))
    return backup


def test_a_backup_from_start_to_its_results(stub: StubClient, agent_id: str) -> None:
    configuration = stub.create_configuration(
        TOKEN, PROJECT, {**GUIDE["create_request"], "agent_id": agent_id}
    )
    backup = stub.start_backup(TOKEN, PROJECT, configuration["id"])
    assert (backup["state"], backup["configuration"]["id"], backup["agent"]["id"]) == (
        "start_requested",
        configuration["id"],
        agent_id,
    )
    assert [b["id"] for b in stub.jobs(TOKEN, PROJECT, "backup")["backups"]] == [backup["id"]]
    assert stub.jobs(TOKEN, PROJECT, "backup", restorable=True)["backups"] == []
    stub.set_job_state(TOKEN, PROJECT, "backup", backup["id"], "queued")
    assert stub.job(TOKEN, PROJECT, "backup", backup["id"])["state"] == "queued"
    stub.update_job(TOKEN, PROJECT, "backup", backup["id"], page_request("PATCH", "/backups/{backup_id}"))
    done = stub.job(TOKEN, PROJECT, "backup", backup["id"])
    assert (done["state"], done["snapshot_id"], done["errors"]["count"]) == ("completed_with_errors", 1111, 1)
    errors = stub.job_errors(TOKEN, PROJECT, "backup", backup["id"])
    assert errors["count"] == 1 and errors["list"][0]["type"] == "file_or_folder_missing"
    events = stub.job_events(TOKEN, PROJECT, "backup", backup["id"], sort_dir="asc")["events"]
    assert events and all(e["event"].startswith("backup_") for e in events)
    restorable = stub.jobs(TOKEN, PROJECT, "backup", restorable=True, configuration_id=configuration["id"])
    assert [b["id"] for b in restorable["backups"]] == [backup["id"]]
    with pytest.raises(ControlError) as caught:  # final: no change at all (the page's 409)
        stub.set_job_state(TOKEN, PROJECT, "backup", backup["id"], "completed")
    assert caught.value.status == 409 and caught.value.body["message"].startswith("Modifying a backup")


def test_a_restore_and_a_cleanup(stub: StubClient, agent_id: str) -> None:
    backup = completed_backup(stub, agent_id)
    body = page_request("POST", "/restores") | {"backup_id": backup["id"], "destination_agent_id": agent_id}
    restore = stub.start_restore(TOKEN, PROJECT, body)
    assert (restore["state"], restore["backup"]["id"]) == ("start_requested", backup["id"])
    stub.update_job(TOKEN, PROJECT, "restore", restore["id"], page_request("PATCH", "/restores/{restore_id}"))
    assert stub.job(TOKEN, PROJECT, "restore", restore["id"])["state"] == "completed_with_errors"
    cleanup = stub.start_cleanup(TOKEN, PROJECT, agent_id)
    stub.set_job_state(TOKEN, PROJECT, "cleanup", cleanup["id"], "stop_requested")
    stub.set_job_state(TOKEN, PROJECT, "cleanup", cleanup["id"], "stopped")
    listed = stub.jobs(TOKEN, PROJECT, "cleanup", sort_dir="asc")["cleanups"]
    assert [(c["id"], c["state"]) for c in listed] == [(cleanup["id"], "stopped")]


def test_the_cli_lists_backups_restores_and_cleanups(
    stub: StubClient, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = completed_backup(stub, agent_id)
    newer = stub.start_backup(TOKEN, PROJECT, backup["configuration"]["id"])
    cleanup = stub.start_cleanup(TOKEN, PROJECT, agent_id)
    assert cli.main(["backups", PROJECT, "--url", stub.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID",
        "AGENT",
        "CONFIGURATION",
        "STATE",
        "STARTED_TIME",
        "ENDED_TIME",
        "ERRORS",
    ]
    assert [line.split()[0] for line in lines[1:]] == [newer["id"], backup["id"]]  # newest first
    assert lines[2].split()[1:4] == [agent_id, backup["configuration"]["id"], "completed_with_errors"]
    assert lines[2].split()[-1] == "1"
    assert cli.main(["backups", PROJECT, "--url", stub.url, "--restorable"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == [backup["id"]]
    assert cli.main(["cleanups", PROJECT, "--url", stub.url, "--sort-dir", "asc"]) == 0
    assert cleanup["id"] in capsys.readouterr().out
    assert cli.main(["restores", PROJECT, "--url", stub.url]) == 0
    assert capsys.readouterr().out.split() == [
        "ID", "BACKUP", "DESTINATION_AGENT", "STATE", "STARTED_TIME", "ENDED_TIME", "ERRORS"
    ]  # fmt: skip
    assert cli.main(["backups", PROJECT, "--url", stub.url, "--configuration", "c"]) == 2


def test_browse_requests_from_the_panel_to_the_agents_results(stub: StubClient, agent_id: str) -> None:
    request_id = stub.request_browse(TOKEN, PROJECT, agent_id, "/etc")
    with pytest.raises(ControlError) as caught:  # the pages: no results until the agent reports
        stub.browse_results(TOKEN, PROJECT, request_id, agent_id=agent_id)
    assert caught.value.status == 404
    item = {"name": "hosts", "bytes": 12, "mime_type": "text/plain"}
    stub.report_browse(TOKEN, PROJECT, request_id, {"succeeded": True, "items": [item]}, agent_id=agent_id)
    results = stub.browse_results(TOKEN, PROJECT, request_id, agent_id=agent_id)
    assert (results["request_id"], results["succeeded"], results["items"][0]["name"]) == (
        request_id,
        True,
        "hosts",
    )
    backup = completed_backup(stub, agent_id)
    in_backup = stub.request_browse(TOKEN, PROJECT, agent_id, "/web", backup_id=backup["id"])
    stub.report_browse(TOKEN, PROJECT, in_backup, {"succeeded": False}, backup_id=backup["id"])
    assert stub.browse_results(TOKEN, PROJECT, in_backup, backup_id=backup["id"])["succeeded"] is False


def test_moving_a_vault_vault_encryption_and_password_verification(stub: StubClient, agent_id: str) -> None:
    def vault_of(agent: str) -> dict[str, Any]:
        found: dict[str, Any] = stub.call(
            "GET", f"/v2/{PROJECT}/agents/{agent}", None, {"X-Auth-Token": TOKEN}
        )
        return found["vault"]

    before = vault_of(agent_id)
    other = register(stub)
    stub.move_vault(TOKEN, PROJECT, other, agent_id)
    assert vault_of(other)["id"] == before["id"] != vault_of(agent_id)["id"]
    password = page_request("POST", "/agents/{agent_id}/vault-encryption-requests")[
        "new_encrypted_password_hex"
    ]
    with pytest.raises(ControlError) as caught:  # the page: not encrypted yet, nothing to verify
        stub.request_password_verification(TOKEN, PROJECT, agent_id, password)
    assert caught.value.status == 403
    encryption = stub.request_vault_encryption(TOKEN, PROJECT, agent_id, password)
    stub.report_vault_encryption(TOKEN, PROJECT, agent_id, encryption, succeeded=True)
    assert stub.vault_encryption(TOKEN, PROJECT, agent_id, encryption)["succeeded"] is True
    assert vault_of(agent_id)["encrypted"] is True
    verification = stub.request_password_verification(TOKEN, PROJECT, agent_id, password)
    stub.report_password_verification(TOKEN, PROJECT, agent_id, verification, verified=True)
    assert stub.password_verification(TOKEN, PROJECT, agent_id, verification)["valid"] is True
