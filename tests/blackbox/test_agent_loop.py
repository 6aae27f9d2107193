"""An agent's whole loop over real HTTP: gunicorn, 4 workers, one SQLite file.

The agent registers (through the control panel), authenticates as itself, and from then on
uses only its own token: it polls its events feed from the newest id it has seen, finds the
work order the control panel's log-file request made, and reports progress with PATCH. Every
request opens a new connection, so they spread over the workers, whose ids must agree.
Written from docs/SPEC.md ("Agents: the rest of the resource", "Events").
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.blackbox.conftest import LiveServer
from tests.blackbox.test_sqlite_gunicorn import sqlite_env
from tests.conftest import JSON_PATCH, REGISTRATION, registration

PROJECT = "110011"
PANEL = {"X-Auth-Token": "control-panel-token", "Connection": "close"}  # open mode: any token
POLLS = 100  # at most, for anything to show in a feed; it shows at once when nothing is wrong
POLL_DEADLINE = 10.0  # seconds, a bound on the same loops
TIMEOUT = 10.0  # seconds per request


class Agent:
    """The agent under test: what it knows (its id, its token, the newest event id seen)."""

    def __init__(self, url: str, agent_id: str, token: str) -> None:
        self.url = url
        self.id = agent_id
        self.token = token
        self.marker: int | None = None
        self.seen: list[dict[str, Any]] = []

    @property
    def headers(self) -> dict[str, str]:
        # A new connection for every request: the next one may reach another worker.
        return {"X-Auth-Token": self.token, "X-Agent-Id": self.id, "Connection": "close"}

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=TIMEOUT, **kw)

    def poll(self) -> list[dict[str, Any]]:
        """One GET of the feed from the newest id seen; the events it shows, kept in `seen`."""
        query = "" if self.marker is None else f"?marker={self.marker}"
        answer = self.call("GET", f"/v2/{PROJECT}/agents/{self.id}/events{query}")
        assert answer.status_code == 200, answer.text
        page = answer.json()
        events: list[dict[str, Any]] = page["events"]
        numbers = [int(e["id"]) for e in events]
        if self.marker is not None:
            assert all(n > self.marker for n in numbers), (self.marker, numbers)
        assert numbers == sorted(set(numbers)), numbers
        if events:
            self.marker = numbers[-1]
        # SPEC/README: `next` continues from the last event, or from the marker when empty.
        assert next_marker(page) == self.marker, page["links"]
        self.seen.extend(events)
        return events

    def poll_until(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """Poll (bounded) until `done(everything seen so far)`; what this wait brought."""
        start = len(self.seen)
        deadline = time.monotonic() + POLL_DEADLINE
        for _ in range(POLLS):
            self.poll()
            if done(self.seen) or time.monotonic() > deadline:
                break
        assert done(self.seen), [e["event"] for e in self.seen]
        return self.seen[start:]

    def patch_state(self, logfile_id: str, state: str) -> requests.Response:
        return self.call(
            "PATCH",
            f"/v2/{PROJECT}/agents/{self.id}/logfiles/{logfile_id}",
            json=[{"op": "replace", "path": "/state", "value": state}],
            headers={"Content-Type": JSON_PATCH},
        )


def next_marker(page: dict[str, Any]) -> int | None:
    (href,) = [link["href"] for link in page["links"] if link["rel"] == "next"]
    markers = parse_qs(urlsplit(href).query).get("marker")
    return None if markers is None else int(markers[0])


def named(*names: str) -> Callable[[list[dict[str, Any]]], bool]:
    def done(seen: list[dict[str, Any]]) -> bool:
        shown = [e["event"] for e in seen]
        return all(name in shown for name in names)

    return done


def panel(method: str, url: str, **kw: Any) -> requests.Response:
    return requests.request(method, url, headers={**PANEL, **kw.pop("headers", {})}, timeout=TIMEOUT, **kw)


@pytest.fixture
def server(launch: Callable[..., LiveServer], tmp_path: Path) -> LiveServer:
    """Open mode (no tokens file), SQLite, 4 workers, the clock frozen so times are exact."""
    live = launch(env=sqlite_env(tmp_path, workers=4))
    frozen = requests.post(f"{live.url}/_control/clock", json={"freeze": "now"}, timeout=TIMEOUT)
    assert frozen.status_code == 200 and frozen.json()["frozen"], frozen.text
    return live


def register_and_authenticate(url: str) -> tuple[Agent, dict[str, Any], dict[str, Any]]:
    """The control panel registers the agent; the agent authenticates with id and password."""
    registered = panel("POST", f"{url}/v2/{PROJECT}/agents", json=registration())
    assert registered.status_code == 201, registered.text
    body = registered.json()
    status = panel("GET", f"{url}/v2/{PROJECT}/agents/{body['id']}/status")
    assert status.json() == {"busy": False, "online": False}  # registration alone does not count
    credentials = {
        "id": body["id"],
        "password": body["password"],
        "host": {"fingerprint": REGISTRATION["host"]["fingerprint"]},
    }
    # No X-Auth-Token: the agent has none yet.
    answer = requests.post(
        f"{url}/v2/{PROJECT}/agents/tokens",
        json=credentials,
        headers={"Connection": "close"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert set(token) == {"id", "expires"}
    assert str(uuid.UUID(token["id"])) == token["id"]
    return Agent(url, body["id"], token["id"]), body, token


def test_agent_loop_register_authenticate_poll_work_and_report(server: LiveServer) -> None:
    agent, registered, token = register_and_authenticate(server.url)
    now = requests.get(f"{server.url}/_control/clock", timeout=TIMEOUT).json()["now"]
    clock = requests.post(f"{server.url}/_control/clock", json={"advance": 86400}, timeout=TIMEOUT)
    assert token["expires"] == clock.json()["now"]  # SPEC (ours): 24 h by the service clock
    requests.post(f"{server.url}/_control/clock", json={"freeze": now}, timeout=TIMEOUT)
    status = panel("GET", f"{server.url}/v2/{PROJECT}/agents/{agent.id}/status")
    assert status.json() == {"busy": False, "online": True}  # an agent token issued counts

    # First poll: its registration.
    (first,) = agent.poll_until(named("agent_registered"))
    assert first["event"] == "agent_registered"
    assert first["time"] == registered["registered_time"] == now
    assert first["agent"] == {
        "id": agent.id,
        "name": REGISTRATION["name"],
        "host": {"os": REGISTRATION["host"]["os"]},
    }
    assert agent.poll() == []  # nothing new, and `next` stays at the marker

    # The control panel asks for a log file; the agent's next polls show the work order.
    requested = panel("POST", f"{server.url}/v2/{PROJECT}/agents/{agent.id}/logfiles")
    assert requested.status_code == 202, requested.text
    logfile_id = requested.json()["id"]
    (upload,) = agent.poll_until(named("logfile_upload"))
    assert (upload["event"], upload["request_id"], upload["agent"]) == (
        "logfile_upload",
        logfile_id,
        {"id": agent.id},
    )
    (upload_link,) = upload["links"]
    assert upload_link["rel"] == "logfile"

    # The agent reports, with its own token only.
    started = agent.patch_state(logfile_id, "started")
    assert started.status_code == 204, started.text
    status = panel("GET", f"{server.url}/v2/{PROJECT}/agents/{agent.id}/status")
    assert status.json() == {"busy": True, "online": True}
    completed = agent.patch_state(logfile_id, "completed")
    assert completed.status_code == 204, completed.text
    assert agent.patch_state(logfile_id, "completed").status_code == 204  # a retry: no event

    reported = agent.poll_until(named("logfile_started", "logfile_completed"))
    assert agent.poll() == []
    assert [(e["event"], e["request_id"]) for e in reported] == [
        ("logfile_started", logfile_id),
        ("logfile_completed", logfile_id),
    ]
    numbers = [int(e["id"]) for e in agent.seen]
    assert numbers == sorted(set(numbers)), numbers
    assert [e["event"] for e in agent.seen] == [
        "agent_registered",
        "logfile_upload",
        "logfile_started",
        "logfile_completed",
    ]

    # SPEC: the upload URL is the completed log file's `logfile` link.
    details = agent.call("GET", f"/v2/{PROJECT}/agents/{agent.id}/logfiles/{logfile_id}").json()
    assert details["state"] == "completed"
    links = {link["rel"]: link["href"] for link in details["links"]}
    assert links["logfile"] == upload_link["href"]
    status = panel("GET", f"{server.url}/v2/{PROJECT}/agents/{agent.id}/status")
    assert status.json() == {"busy": False, "online": True}

    assert_agent_token_was_the_agents(server, agent)


def assert_agent_token_was_the_agents(server: LiveServer, agent: Agent) -> None:
    """Every request naming the agent carried its token, and the service took it as the
    agent's: bound to the agent's project, and expired 24 h after it was issued."""
    journal = requests.get(f"{server.url}/_control/requests?agent_id={agent.id}", timeout=TIMEOUT)
    entries = journal.json()["requests"]
    assert entries and all(e["headers"]["X-Auth-Token"] == agent.token for e in entries)
    assert {e["method"] for e in entries} == {"GET", "PATCH"}
    elsewhere = requests.get(f"{server.url}/v2/other-project/events", headers=agent.headers, timeout=TIMEOUT)
    assert elsewhere.status_code == 403, elsewhere.text  # open mode would take any other token
    requests.post(f"{server.url}/_control/clock", json={"advance": 86400}, timeout=TIMEOUT)
    expired = agent.call("GET", f"/v2/{PROJECT}/agents/{agent.id}/events")
    assert expired.status_code == 401, expired.text
    assert panel("GET", f"{server.url}/v2/{PROJECT}/agents/{agent.id}/events").status_code == 200


POSTERS = 3
POSTS_EACH = 12
MODES = (None, "active", "real_time")  # how each poster's events are told apart (0: heartbeats)


def test_agent_polls_while_others_post_ids_keep_increasing_across_workers(server: LiveServer) -> None:
    """Posts land on any of the 4 workers while the agent polls from the newest id: every
    poll shows only newer ids, in order, and the polls together miss nothing and repeat nothing."""
    agent, _, _ = register_and_authenticate(server.url)
    agent.poll_until(named("agent_registered"))
    failures: list[str] = []
    barrier = threading.Barrier(POSTERS + 1)

    def post(poster: int) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            for n in range(POSTS_EACH):
                if poster == 0:  # the agent itself, with its own token
                    answer = agent.call(
                        "POST", f"/v2/{PROJECT}/agents/{agent.id}/events", json={"event": "heartbeat"}
                    )
                else:  # the control panel, for every agent of the project
                    answer = panel(
                        "POST",
                        f"{server.url}/v2/{PROJECT}/events",
                        json={"event": "agent_activate", "mode": MODES[poster]},
                    )
                if answer.status_code != 202:
                    failures.append(f"{poster}-{n}: {answer.status_code} {answer.text}")
        except Exception as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=post, args=(poster,)) for poster in range(POSTERS)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=TIMEOUT)
        deadline = time.monotonic() + 4 * POLL_DEADLINE
        while len(agent.seen) < 1 + POSTERS * POSTS_EACH and time.monotonic() < deadline:
            agent.poll()  # asserts: only ids after the marker, increasing, `next` at the newest
    finally:
        for thread in threads:
            thread.join(timeout=4 * POLL_DEADLINE)
    assert failures == []
    agent.poll_until(lambda seen: len(seen) >= 1 + POSTERS * POSTS_EACH)
    assert agent.poll() == []

    numbers = [int(e["id"]) for e in agent.seen]
    assert numbers == sorted(set(numbers)), "ids went back or repeated across polls"
    posters = [0 if e["event"] == "agent_heartbeat" else MODES.index(e["mode"]) for e in agent.seen[1:]]
    assert sorted(posters) == sorted(p for p in range(POSTERS) for _ in range(POSTS_EACH))
    for poster in range(POSTERS):  # each poster's events in the order it posted them
        times = [e["time"] for e, p in zip(agent.seen[1:], posters, strict=True) if p == poster]
        assert times == sorted(times)
    for e in agent.seen[1:]:
        if e["event"] == "agent_heartbeat":
            assert e["agent"] == {"id": agent.id} and "mode" not in e
        else:  # SPEC: a project-wide event shows in each agent's feed, without `agent`
            assert e["event"] == "agent_activate" and "agent" not in e
    # The project's feed holds the same events, newest first (its default).
    project = panel("GET", f"{server.url}/v2/{PROJECT}/events?limit=1000").json()
    assert [int(e["id"]) for e in project["events"]] == numbers[::-1]
