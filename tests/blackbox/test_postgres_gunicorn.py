"""Two gunicorn instances (2 workers each) on one PostgreSQL database, nginx in front.

The races, crashes and outages a shared sandbox meets: 16 clients PATCHing the same log
files through nginx while an agent polls its feed, kill -9 of one instance mid-load, and
PostgreSQL itself going down and coming back mid-load.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.blackbox.nginx_stack import needs_nginx, open_stack
from tests.conftest import JSON_PATCH
from tests.pgcluster import PgCluster

pytestmark = needs_nginx
TOKEN = {"X-Auth-Token": "t"}
PATCH_HEADERS = {**TOKEN, "Content-Type": JSON_PATCH}
TIMEOUT = 10


def seed(url: str, logfiles: int) -> list[str]:
    document: dict[str, Any] = {
        "agents": [{"id": "agent", "project_id": "p"}],
        "generate": [{"agent_id": "agent", "count": logfiles}],
    }
    answer = requests.post(f"{url}/_control/state", json=document, timeout=30)
    assert answer.status_code == 200, answer.text
    return [lf["id"] for lf in answer.json()["logfiles"]]


def patch_body(value: str) -> str:
    return json.dumps([{"op": "replace", "path": "/state", "value": value}])


def listed(url: str) -> dict[str, str]:
    """Every log file of the agent and its state, page after page."""
    found: dict[str, str] = {}
    page_url = f"{url}/v2/p/agents/agent/logfiles?limit=1000"
    while page_url:
        page = requests.get(page_url, headers=TOKEN, timeout=TIMEOUT).json()
        found.update({lf["id"]: lf["state"] for lf in page["logfiles"]})
        page_url = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"), "")
    return found


def feed_ids(url: str, marker: int = 0) -> list[int]:
    """Event ids of the agent's feed after `marker`, in the order served, following `next`."""
    ids: list[int] = []
    while True:
        page = requests.get(
            f"{url}/v2/p/agents/agent/events?marker={marker}&limit=100", headers=TOKEN, timeout=TIMEOUT
        ).json()
        batch = [int(e["id"]) for e in page["events"]]
        if not batch:
            return ids
        ids += batch
        marker = batch[-1]


@dataclass(frozen=True)
class Sent:
    logfile_id: str
    value: str
    status: int
    started: float  # monotonic, before sending
    ended: float  # monotonic, after the answer


def test_race_sixteen_clients_through_nginx_no_lost_or_backward_transition(
    pg_url: str, tmp_path: Path
) -> None:
    with open_stack(pg_url, tmp_path, {"LOGFILES_JOURNAL_SIZE": "100000"}) as stack:
        front = stack.nginx.url
        ids = seed(front, 200)
        base = f"{front}/v2/p/agents/agent/logfiles/"
        results: list[Sent] = []
        lock = threading.Lock()
        deadline = time.monotonic() + 4.0
        polled: list[int] = []
        stop_polling = threading.Event()

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
                answer = session.patch(
                    base + logfile_id, data=patch_body(value), headers=PATCH_HEADERS, timeout=TIMEOUT
                )
                mine.append(Sent(logfile_id, value, answer.status_code, begun, time.monotonic()))
            with lock:
                results.extend(mine)

        def poller() -> None:
            """An agent polling its feed from its last id, alternating instances, as writers run."""
            marker = 0
            doors = [stack.a.url, stack.b.url]
            turn = 0
            while not stop_polling.is_set():
                page = requests.get(
                    f"{doors[turn % 2]}/v2/p/agents/agent/events?marker={marker}&limit=1000",
                    headers=TOKEN,
                    timeout=TIMEOUT,
                ).json()
                batch = [int(e["id"]) for e in page["events"]]
                polled.extend(batch)
                marker = batch[-1] if batch else marker
                turn += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        watcher = threading.Thread(target=poller)
        watcher.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        stop_polling.set()
        watcher.join(30)

        assert results, "no request was sent"
        assert {r.status for r in results} <= {204, 409}, {r.status for r in results}
        final = listed(front)
        for logfile_id in ids[:50]:
            mine = [r for r in results if r.logfile_id == logfile_id]
            completed = [r for r in mine if r.value == "completed" and r.status == 204]
            if completed:
                assert final[logfile_id] == "completed"
                first_done = min(r.ended for r in completed)
                # Nothing went completed -> started: no 'started' accepted after that answer.
                assert not [
                    r for r in mine if r.value == "started" and r.status == 204 and r.started > first_done
                ]
            elif any(r.status == 204 for r in mine):
                assert final[logfile_id] == "started"
            for conflict in (r for r in mine if r.status == 409):
                assert conflict.value == "started"
                assert any(c.started < conflict.ended for c in completed)

        # Each move happened once: one logfile_started and one logfile_completed event at most
        # per log file, and as many as the final states say.
        events = requests.get(
            f"{front}/v2/p/agents/agent/events?limit=1000", headers=TOKEN, timeout=TIMEOUT
        ).json()["events"]
        moves = [(e["event"], e["request_id"]) for e in events]
        assert {name for name, _ in moves} <= {"logfile_started", "logfile_completed"}
        assert len(moves) == len(set(moves)), "a transition was recorded twice"
        everything = feed_ids(front)
        assert everything == sorted(set(everything))
        # The poller read past each id only once everything below it was visible: it missed none.
        seen_up_to = max(polled, default=0)
        assert [i for i in everything if i <= seen_up_to] == sorted(set(polled))

        journal = requests.get(f"{front}/_control/requests?method=PATCH", timeout=TIMEOUT).json()["requests"]
        assert len(journal) == len(results)
        assert sorted(e["status"] for e in journal) == sorted(r.status for r in results)


def _writer(
    url: str, acknowledged: dict[str, str], lock: threading.Lock, stop: threading.Event, statuses: list[int]
) -> None:
    """Request a log file and complete it, over and over; note what the server acknowledged."""
    base = f"{url}/v2/p/agents/agent/logfiles"
    session = requests.Session()
    while not stop.is_set():
        try:
            created = session.post(base, headers=TOKEN, timeout=TIMEOUT)
            statuses.append(created.status_code)
            if created.status_code != 202:
                time.sleep(0.05)
                continue
            logfile_id = created.json()["id"]
            with lock:
                acknowledged[logfile_id] = "requested"
            done = session.patch(
                f"{base}/{logfile_id}", data=patch_body("completed"), headers=PATCH_HEADERS, timeout=TIMEOUT
            )
            statuses.append(done.status_code)
            if done.status_code == 204:
                with lock:
                    acknowledged[logfile_id] = "completed"
        except requests.RequestException:
            statuses.append(0)  # the connection broke (the instance was killed)
            if stop.wait(0.05):
                return


def _check_kept(url: str, acknowledged: dict[str, str]) -> None:
    found = listed(url)
    for logfile_id, state in acknowledged.items():
        assert logfile_id in found, f"acknowledged log file {logfile_id} is gone"
        if state == "completed":
            assert found[logfile_id] == "completed", logfile_id


def test_kill_9_of_one_instance_mid_load_the_other_serves_nothing_acknowledged_lost(
    pg_url: str, tmp_path: Path
) -> None:
    with open_stack(pg_url, tmp_path) as stack:
        seed(stack.nginx.url, 1)
        acknowledged: dict[str, str] = {}
        lock = threading.Lock()
        stop = threading.Event()
        on_a: list[int] = []
        on_b: list[int] = []
        threads = [
            threading.Thread(target=_writer, args=(server.url, acknowledged, lock, stop, statuses))
            for server, statuses in ((stack.a, on_a), (stack.a, on_a), (stack.b, on_b), (stack.b, on_b))
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        stack.a.stop(signal.SIGKILL)  # the master and its workers, mid-transaction maybe
        b_before = len(on_b)
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert len(acknowledged) > 10, "the load did not get going before the kill"
        # B kept serving, untroubled: the killed instance's sessions held nothing it waited for.
        after_kill = on_b[b_before:]
        assert after_kill and set(after_kill) <= {202, 204}, set(after_kill)
        with lock:
            expected = dict(acknowledged)
        _check_kept(stack.b.url, expected)


def test_postgresql_restart_mid_load_503_then_recovery_nothing_acknowledged_lost(
    fresh_pg_cluster: PgCluster, tmp_path: Path
) -> None:
    with open_stack(fresh_pg_cluster.url(), tmp_path) as stack:
        seed(stack.nginx.url, 1)
        acknowledged: dict[str, str] = {}
        lock = threading.Lock()
        stop = threading.Event()
        statuses: list[int] = []
        threads = [
            threading.Thread(target=_writer, args=(stack.nginx.url, acknowledged, lock, stop, statuses))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        fresh_pg_cluster.stop("immediate")  # a crash: no checkpoint, clients cut off
        time.sleep(1.0)
        down = requests.get(f"{stack.a.url}/v2/p/agents/agent", headers=TOKEN, timeout=TIMEOUT)
        health = requests.get(f"{stack.b.url}/healthz", timeout=TIMEOUT)
        fresh_pg_cluster.start()  # crash recovery replays the WAL
        back_at = len(statuses)
        time.sleep(2.0)
        stop.set()
        for thread in threads:
            thread.join(30)

        assert down.status_code == 503 and down.headers["Retry-After"] == "1", down.text
        assert set(down.json()) == {"message", "errors"}
        assert health.status_code == 503
        assert 503 in statuses, "no request met the outage"
        assert set(statuses) <= {202, 204, 503}, set(statuses)
        # Recovered by itself: after a first 503 per worker (its connection died), all good.
        tail = statuses[back_at:][8:]
        assert tail and set(tail) <= {202, 204}, statuses[back_at:]
        with lock:
            expected = dict(acknowledged)
        assert len(expected) > 10
        _check_kept(stack.nginx.url, expected)
        # And the agent's events survived with their numbers in order.
        ids = feed_ids(stack.nginx.url)
        assert ids == sorted(set(ids))
