"""Several gunicorn workers on one SQLite file: races, kill -9, restarts, shared control plane."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.blackbox.conftest import LiveServer
from tests.conftest import JSON_PATCH

TOKEN = {"X-Auth-Token": "t"}
PATCH_HEADERS = {**TOKEN, "Content-Type": JSON_PATCH}


def sqlite_env(tmp_path: Path, workers: int = 4, **extra: str) -> dict[str, str]:
    return {
        "LOGFILES_STORE": f"sqlite:///{tmp_path / 'shared.db'}",
        "LOGFILES_WORKERS": str(workers),
        **extra,
    }


def seed(server: LiveServer, logfiles: int) -> list[str]:
    document: dict[str, Any] = {
        "agents": [{"id": "agent", "project_id": "p"}],
        "generate": [{"agent_id": "agent", "count": logfiles}],
    }
    answer = requests.post(f"{server.url}/_control/state", json=document, timeout=30)
    assert answer.status_code == 200, answer.text
    return [lf["id"] for lf in answer.json()["logfiles"]]


def patch_body(value: str) -> str:
    return json.dumps([{"op": "replace", "path": "/state", "value": value}])


@dataclass(frozen=True)
class Sent:
    logfile_id: str
    value: str
    status: int
    started: float  # monotonic, before sending
    ended: float  # monotonic, after the answer


def test_race_four_workers_sixteen_clients_no_lost_or_backward_transition(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=sqlite_env(tmp_path, LOGFILES_JOURNAL_SIZE="100000"))
    ids = seed(server, 200)
    base = f"{server.url}/v2/p/agents/agent/logfiles/"
    results: list[Sent] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 4.0

    def client(number: int) -> None:
        rng = random.Random(number)
        session = requests.Session()
        mine: list[Sent] = []
        for _ in range(60):
            if time.monotonic() > deadline:
                break
            logfile_id = rng.choice(ids[:50])  # few enough that clients collide often
            value = rng.choice(["started", "started", "completed"])
            begun = time.monotonic()
            answer = session.patch(base + logfile_id, data=patch_body(value), headers=PATCH_HEADERS)
            mine.append(Sent(logfile_id, value, answer.status_code, begun, time.monotonic()))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert results, "no request was sent"
    assert {r.status for r in results} <= {204, 409}, {r.status for r in results}
    final = {
        lf["id"]: lf["state"]
        for lf in requests.get(base.rstrip("/") + "?limit=1000", headers=TOKEN).json()["logfiles"]
    }
    for logfile_id in ids[:50]:
        mine = [r for r in results if r.logfile_id == logfile_id]
        completed = [r for r in mine if r.value == "completed" and r.status == 204]
        # Every 204 fits the final state: completed once acknowledged, completed at the end.
        if completed:
            assert final[logfile_id] == "completed"
            first_done = min(r.ended for r in completed)
            # Nothing went completed -> started: no 'started' was accepted after that answer.
            assert not [
                r for r in mine if r.value == "started" and r.status == 204 and r.started > first_done
            ]
        elif any(r.status == 204 for r in mine):
            assert final[logfile_id] == "started"
        # Every 409 was a real backward move: a 'completed' was accepted before it answered.
        for conflict in (r for r in mine if r.status == 409):
            assert conflict.value == "started"
            assert any(c.started < conflict.ended for c in completed)
    journal = requests.get(f"{server.url}/_control/requests?method=PATCH").json()["requests"]
    assert len(journal) == len(results)
    assert sorted(e["status"] for e in journal) == sorted(r.status for r in results)


def test_kill_9_mid_load_loses_no_acknowledged_write(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    env = sqlite_env(tmp_path, workers=2)
    server = launch(env=env)
    seed(server, 1)
    base = f"{server.url}/v2/p/agents/agent/logfiles"
    acknowledged: dict[str, str] = {}  # logfile id -> last acknowledged state
    lock = threading.Lock()
    stop = threading.Event()

    def writer() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                created = session.post(base, headers=TOKEN, timeout=5)
                if created.status_code != 202:
                    continue
                logfile_id = created.json()["id"]
                with lock:
                    acknowledged[logfile_id] = "requested"
                done = session.patch(
                    f"{base}/{logfile_id}", data=patch_body("completed"), headers=PATCH_HEADERS, timeout=5
                )
                if done.status_code == 204:
                    with lock:
                        acknowledged[logfile_id] = "completed"
            except requests.RequestException:
                return

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(10)
    with lock:
        expected = dict(acknowledged)
    assert len(expected) > 10, "the load did not get going before the kill"

    database = tmp_path / "shared.db"
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = launch(env=env)
    listed: dict[str, str] = {}
    url = f"{again.url}/v2/p/agents/agent/logfiles?limit=1000"
    while url:
        page = requests.get(url, headers=TOKEN).json()
        listed.update({lf["id"]: lf["state"] for lf in page["logfiles"]})
        url = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"), "")
    for logfile_id, state in expected.items():
        assert logfile_id in listed, f"acknowledged log file {logfile_id} is gone"
        if state == "completed":
            assert listed[logfile_id] == "completed"


def test_clean_restart_keeps_everything(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, workers=2)
    first = launch(env=env)
    seed(first, 30)
    requests.post(f"{first.url}/_control/clock", json={"freeze": "2014-09-23T12:22:40.606703Z"})
    agent = requests.post(
        f"{first.url}/v2/p/agents",
        data=(Path(__file__).parents[1] / "data" / "agent-register-example.json").read_bytes(),
        headers={**TOKEN, "Content-Type": "application/json"},
    ).json()
    before = requests.get(f"{first.url}/_control/state").json()
    assert first.stop() == 0
    second = launch(env=env)
    assert requests.get(f"{second.url}/_control/state").json() == before
    got = requests.get(f"{second.url}/v2/p/agents/{agent['id']}", headers=TOKEN).json()
    assert got["registered_time"] == "2014-09-23T12:22:40.606703Z"
    assert requests.get(f"{second.url}/_control/clock").json()["frozen"] is True


def test_faults_journal_and_clock_are_shared_by_every_worker(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=sqlite_env(tmp_path, workers=3))
    (logfile_id,) = seed(server, 1)
    url = f"{server.url}/v2/p/agents/agent/logfiles/{logfile_id}"
    rule: dict[str, Any] = {"method": "GET", "path": "/v2/*/logfiles/*", "status": 503, "times": 4}
    rule_id = requests.post(f"{server.url}/_control/faults", json=rule).json()["id"]
    statuses = []
    for _ in range(24):  # fresh connections, so the requests spread over the workers
        statuses.append(requests.get(url, headers={**TOKEN, "Connection": "close"}).status_code)
    assert statuses.count(503) == 4 and statuses[:4] == [503] * 4
    assert statuses.count(200) == 20
    (listed,) = requests.get(f"{server.url}/_control/faults").json()["faults"]
    assert (listed["matched"], listed["fired"]) == (24, 4)
    journal = requests.get(f"{server.url}/_control/requests?method=GET").json()["requests"]
    assert [e["fault"] for e in journal].count(rule_id) == 4 and len(journal) == 24

    requests.post(f"{server.url}/_control/clock", json={"freeze": "2014-09-23T12:22:40.606703Z"})
    dates = {
        requests.post(
            f"{server.url}/v2/p/agents/agent/logfiles", headers={**TOKEN, "Connection": "close"}
        ).json()["date"]
        for _ in range(9)
    }
    assert dates == {"2014-09-23T12:22:40.606703Z"}


def test_dropped_connection_fault_over_http(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = launch(env=sqlite_env(tmp_path, workers=2))
    (logfile_id,) = seed(server, 1)
    url = f"{server.url}/v2/p/agents/agent/logfiles/{logfile_id}"
    requests.post(f"{server.url}/_control/faults", json={"action": "drop", "method": "GET"})
    try:
        answer = requests.get(url, headers=TOKEN, timeout=5)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError(f"expected a dropped connection, got {answer.status_code}")
    assert requests.get(url, headers=TOKEN, timeout=5).status_code == 200
    (entry, _) = requests.get(f"{server.url}/_control/requests").json()["requests"]
    assert entry["status"] == 0 and entry["fault"]
    assert "Traceback" not in server.output()


def test_memory_store_refuses_several_workers(launch: Callable[..., LiveServer]) -> None:
    server = launch(args=("-w", "2"), wait=False)
    assert server.process.wait(30) != 0
    lines = [line for line in server.output().splitlines() if "logfiles:" in line]
    assert len(lines) == 1 and "one worker" in lines[0], server.output()
