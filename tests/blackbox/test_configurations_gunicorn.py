"""A control panel's loop over HTTP against gunicorn with several workers, on SQLite and on
PostgreSQL: create a configuration with a schedule, inclusions and exclusions, enable and
disable it from racing clients, read the agent's configuration as the agent, read the events
as the panel (issue 22, "what done looks like" 3)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.blackbox.conftest import LiveServer
from tests.conftest import JSON_PATCH, REGISTRATION

PANEL = {"X-Auth-Token": "panel"}
GUIDE = json.loads((Path(__file__).resolve().parents[1] / "data" / "guide-configurations.json").read_text())
TIMEOUT = 10
CLIENTS = 8


def loop(url: str) -> None:
    registered = requests.post(
        f"{url}/v2/p/agents", json=copy.deepcopy(REGISTRATION), headers=PANEL, timeout=TIMEOUT
    )
    assert registered.status_code == 201, registered.text
    agent = registered.json()
    body = {**copy.deepcopy(GUIDE["create_request"]), "agent_id": agent["id"]}
    made = requests.post(f"{url}/v2/p/configurations", json=body, headers=PANEL, timeout=TIMEOUT)
    assert made.status_code == 201, made.text
    config = made.json()
    assert made.headers["Location"] == config["links"][0]["href"]

    # Racing panels (each request may land on another worker): every change is kept, none lost,
    # and each emits its event in the same write.
    statuses: list[int] = []

    def rename(n: int) -> None:
        answer = requests.patch(
            f"{url}/v2/p/configurations/{config['id']}",
            json=[
                {"op": "replace", "path": "/name", "value": f"panel {n}"},
                {"op": "replace", "path": "/enabled", "value": n % 2 == 0},
            ],
            headers={**PANEL, "Content-Type": JSON_PATCH},
            timeout=TIMEOUT,
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=rename, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [204] * CLIENTS
    details = requests.get(f"{url}/v2/p/configurations/{config['id']}", headers=PANEL, timeout=TIMEOUT).json()
    assert details["name"] in {f"panel {n}" for n in range(CLIENTS)}
    assert details["enabled"] is (int(details["name"].split()[1]) % 2 == 0)

    # The agent: authenticates, sees configuration_changed in its feed, reads its configuration.
    token = requests.post(
        f"{url}/v2/p/agents/tokens", json={"id": agent["id"], "password": agent["password"]}, timeout=TIMEOUT
    ).json()["token"]["id"]
    as_agent = {"X-Auth-Token": token, "X-Agent-Id": agent["id"]}
    feed = requests.get(f"{url}/v2/p/agents/{agent['id']}/events", headers=as_agent, timeout=TIMEOUT).json()
    changed = [e for e in feed["events"] if e["event"] == "configuration_changed"]
    assert len(changed) == 1 + CLIENTS and all(e["configuration"] == {"id": config["id"]} for e in changed)
    document = requests.get(
        f"{url}/v2/p/agents/{agent['id']}/configuration", headers=as_agent, timeout=TIMEOUT
    )
    assert document.status_code == 200
    (entry,) = document.json()["configurations"]
    assert entry["name"] == details["name"] and entry["exclusions"] == body["exclusions"]
    assert len(entry["times"]) == 3

    # The panel reads the configuration's events, newest first, then deletes it.
    events = requests.get(
        f"{url}/v2/p/configurations/{config['id']}/events", headers=PANEL, timeout=TIMEOUT
    ).json()
    ids = [int(e["id"]) for e in events["events"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 1 + CLIENTS
    assert (
        requests.delete(
            f"{url}/v2/p/configurations/{config['id']}", headers=PANEL, timeout=TIMEOUT
        ).status_code
        == 204
    )
    assert (
        requests.get(f"{url}/v2/p/configurations/{config['id']}", headers=PANEL, timeout=TIMEOUT).status_code
        == 404
    )


def test_a_panels_loop_on_sqlite_with_four_workers(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = launch(env={"LOGFILES_STORE": f"sqlite:///{tmp_path / 'shared.db'}", "LOGFILES_WORKERS": "4"})
    loop(server.url)


def test_a_panels_loop_on_postgresql(
    launch: Callable[..., LiveServer], request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("pg_url"))
    server = launch(env={"LOGFILES_STORE": url, "LOGFILES_WORKERS": "2"})
    loop(server.url)
