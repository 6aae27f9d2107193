"""A control panel's real loop over HTTP, against gunicorn with several workers: SQLite, PostgreSQL.

Written from the guide's pages (bu2-config-operations, bu2-agent-operations, the events pages):
the panel creates a backup configuration with a schedule, inclusions and exclusions for an
agent, disables and enables it, the agent reads its configuration with its own token, and
the panel reads the events; each answer may come from any worker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.blackbox.conftest import LiveServer
from tests.conftest import JSON_PATCH, REGISTRATION, configuration_body

PROJECT = "110011"
PANEL = {"X-Auth-Token": "panel-token"}
TIMEOUT = 10
CLIENTS = 8  # racing panels


def create_body(agent_id: str) -> dict[str, Any]:
    """The create page's example request body, for this agent."""
    return configuration_body(agent_id)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, launch: Callable[..., LiveServer], tmp_path: Path) -> LiveServer:
    if request.param == "sqlite":
        env = {"LOGFILES_STORE": f"sqlite:///{tmp_path / 'stub.db'}", "LOGFILES_WORKERS": "3"}
    else:
        env = {"LOGFILES_STORE": request.getfixturevalue("pg_url"), "LOGFILES_WORKERS": "2"}
    return launch(env={**env, "LOGFILES_ACCESS_LOG": "off"})


def call(method: str, url: str, **kwargs: Any) -> requests.Response:
    headers = {**PANEL, **kwargs.pop("headers", {})}
    return requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)


def test_a_panel_configures_an_agent_that_reads_its_configuration(server: LiveServer) -> None:
    v2 = f"{server.url}/v2/{PROJECT}"
    agent = call("POST", f"{v2}/agents", json=REGISTRATION)
    assert agent.status_code == 201, agent.text
    agent_id, password = agent.json()["id"], agent.json()["password"]
    # The agent's own token, as the agent gets it.
    token = requests.post(
        f"{v2}/agents/tokens",
        json={"id": agent_id, "password": password},
        timeout=TIMEOUT,
    )
    assert token.status_code == 200, token.text
    as_agent = {"X-Auth-Token": token.json()["token"]["id"], "X-Agent-Id": agent_id}

    # 1. The panel creates a configuration with a schedule, inclusions and exclusions.
    created = call("POST", f"{v2}/configurations", json=create_body(agent_id))
    assert created.status_code == 201, created.text
    config = created.json()
    config_id = config["id"]
    assert created.headers["Location"].endswith(f"/v2/{PROJECT}/configurations/{config_id}")
    assert config["agent"]["id"] == agent_id
    assert config["schedule"]["recurrence"] == ["RRULE:FREQ=HOURLY;INTERVAL=2"]
    assert config["enabled"] is True and config["deleted"] is False
    assert [i["path"] for i in config["exclusions"]] == ["/web/cache/", "/web/cache.jpg"]

    # 2. Every worker sees it: details, the project's list, the agent's list.
    for _ in range(6):
        details = call("GET", f"{v2}/configurations/{config_id}")
        assert details.status_code == 200 and details.json()["name"] == config["name"]
    listed = call("GET", f"{v2}/configurations").json()["configurations"]
    assert [c["id"] for c in listed] == [config_id]
    per_agent = call("GET", f"{v2}/agents/{agent_id}/configurations").json()["configurations"]
    assert [c["id"] for c in per_agent] == [config_id]

    # 3. Disable, then enable again, by JSON Patch (the PATCH page); each read back.
    for enabled in (False, True):
        patched = call(
            "PATCH",
            f"{v2}/configurations/{config_id}",
            data=json.dumps([{"op": "replace", "path": "/enabled", "value": enabled}]),
            headers={"Content-Type": JSON_PATCH},
        )
        assert patched.status_code == 204, patched.text
        assert call("GET", f"{v2}/configurations/{config_id}").json()["enabled"] is enabled

    # Racing panels, each request on any worker: every PATCH is applied whole (name and
    # enabled from the same one), none lost, each with its event in the same write.
    statuses: list[int] = []

    def rename(n: int) -> None:
        answer = call(
            "PATCH",
            f"{v2}/configurations/{config_id}",
            data=json.dumps(
                [
                    {"op": "replace", "path": "/name", "value": f"panel {n}"},
                    {"op": "replace", "path": "/enabled", "value": n % 2 == 0},
                ]
            ),
            headers={"Content-Type": JSON_PATCH},
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=rename, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [204] * CLIENTS
    details = call("GET", f"{v2}/configurations/{config_id}").json()
    assert details["enabled"] is (int(details["name"].split()[1]) % 2 == 0)

    # 4. The agent reads its whole configuration with its own token.
    own = requests.get(f"{v2}/agents/{agent_id}/configuration", headers=as_agent, timeout=TIMEOUT)
    assert own.status_code == 200, own.text
    document = own.json()
    assert document["system_preferences"]["logging"]["level"] == "warn"
    mine = {c["id"]: c for c in document["configurations"]}
    assert set(mine) == {config_id}
    assert mine[config_id]["inclusions"] == config["inclusions"]
    assert mine[config_id]["name"] == details["name"]
    assert [vault["id"] for vault in document["vaults"]] == [agent.json()["vault"]["id"]]

    # 5. The panel reads the events: each change told the agent, in its feed and the project's.
    feed = call("GET", f"{v2}/agents/{agent_id}/events").json()["events"]
    changes = [e for e in feed if e["event"] == "configuration_changed"]
    assert len(changes) == 3 + CLIENTS  # created, disabled, enabled, each racing rename
    assert all(e["configuration"] == {"id": config_id} for e in changes)
    assert feed[0]["event"] == "agent_registered"
    project = call("GET", f"{v2}/events").json()["events"]  # newest first, as its page says
    ids = [int(e["id"]) for e in project]
    assert ids == sorted(ids, reverse=True)
    assert project[0]["event"] == "configuration_changed"
    own_events = call("GET", f"{v2}/configurations/{config_id}/events").json()["events"]
    own_ids = [int(e["id"]) for e in own_events]
    assert own_ids == sorted(own_ids, reverse=True) and len(own_ids) == 3 + CLIENTS

    # 6. Deleted: gone from every worker and every list; the agent is told.
    assert call("DELETE", f"{v2}/configurations/{config_id}").status_code == 204
    for _ in range(6):
        assert call("GET", f"{v2}/configurations/{config_id}").status_code == 404
    assert call("GET", f"{v2}/configurations").json()["configurations"] == []
    own_after = requests.get(f"{v2}/agents/{agent_id}/configuration", headers=as_agent, timeout=TIMEOUT)
    assert own_after.json()["configurations"] == []
    feed = call("GET", f"{v2}/agents/{agent_id}/events").json()["events"]
    assert [e["event"] for e in feed].count("configuration_changed") == 4 + CLIENTS
