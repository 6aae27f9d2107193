"""Clients that stall, idle or wait must not stop `gunicorn wsgi:app` from answering others.

Each test opens its stalling connections, then asserts that ordinary requests are still
answered (within a generous deadline, never how fast), and closes every connection it
opened in `finally`. Under the old gthread workers (a thread per connection being read)
each of them times out.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.blackbox.conftest import LiveServer

STALLED = 64  # eight times the memory store's old threads, four times SQLite's old total
ANSWER_DEADLINE = 10.0  # seconds: long enough for any machine, short of a hang
HEADERS = {"X-Auth-Token": "t", "Content-Type": "application/json"}


@pytest.fixture(params=["memory", "sqlite"])
def server(request: pytest.FixtureRequest, launch: Callable[..., LiveServer], tmp_path: Path) -> LiveServer:
    env = {} if request.param == "memory" else {"LOGFILES_STORE": f"sqlite:///{tmp_path / 'stub.db'}"}
    return launch(env)


@pytest.fixture
def memory_server(launch: Callable[..., LiveServer]) -> LiveServer:
    return launch()


@contextlib.contextmanager
def stalled(server: LiveServer, payload: bytes, count: int = STALLED) -> Iterator[list[socket.socket]]:
    """`count` connections that each sent `payload` and then send nothing more."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_DEADLINE)
            sockets.append(sock)
            if payload:
                sock.sendall(payload)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def assert_answers(server: LiveServer) -> None:
    """A health check and an API request, each on a new connection, are answered."""
    assert requests.get(server.url + "/healthz", timeout=ANSWER_DEADLINE).status_code == 200
    missing = requests.get(server.url + "/v2/110011/agents/none", headers=HEADERS, timeout=ANSWER_DEADLINE)
    assert missing.status_code == 404 and set(missing.json()) == {"message", "errors"}


def body_request(headers: str, body: bytes = b"") -> bytes:
    return (
        f"POST /v2/110011/agents HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
        f"Content-Type: application/json\r\n{headers}\r\n"
    ).encode() + body


def test_stalled_one_byte_clients_do_not_block_answers(server: LiveServer) -> None:
    with stalled(server, b"G") as sockets:
        assert_answers(server)
        # The request line has a bound: the server closes the stalled connection itself.
        sockets[0].settimeout(ANSWER_DEADLINE)
        assert sockets[0].recv(1024) == b""


def test_stalled_idle_connections_do_not_block_answers(server: LiveServer) -> None:
    with stalled(server, b""):
        assert_answers(server)


def test_keepalive_connections_stalled_in_their_next_request_do_not_block_answers(
    memory_server: LiveServer,
) -> None:
    answered = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with stalled(memory_server, answered) as sockets:
        for sock in sockets:  # each got its answer, stays open, then starts another request
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sock.sendall(b"G")
        assert_answers(memory_server)


def test_short_bodies_do_not_block_answers(server: LiveServer) -> None:
    with stalled(server, body_request("Content-Length: 10\r\n", b"{")):
        assert_answers(server)


def test_huge_content_length_does_not_block_answers(memory_server: LiveServer) -> None:
    with stalled(memory_server, body_request(f"Content-Length: {10**30}\r\n")):
        assert_answers(memory_server)


def test_chunk_without_data_does_not_block_answers(memory_server: LiveServer) -> None:
    with stalled(memory_server, body_request("Transfer-Encoding: chunked\r\n", b"a\r\n")):
        assert_answers(memory_server)


def test_latency_faults_leave_healthz_and_control_answering(memory_server: LiveServer) -> None:
    url = memory_server.url
    rule: dict[str, Any] = {"action": "latency", "latency": 5, "times": None, "path": "/v2/*"}
    created = requests.post(url + "/_control/faults", json=rule, timeout=ANSWER_DEADLINE)
    assert created.status_code == 201
    statuses: list[int] = []

    def slow_request() -> None:
        with contextlib.suppress(requests.RequestException):
            response = requests.get(url + "/v2/110011/agents/none", headers=HEADERS, timeout=30)
            statuses.append(response.status_code)

    threads = [threading.Thread(target=slow_request, daemon=True) for _ in range(20)]
    try:
        for thread in threads:
            thread.start()
        # In flight: all 20 have matched the rule (and are waiting out its latency).
        deadline = time.monotonic() + ANSWER_DEADLINE
        while True:
            rules = requests.get(url + "/_control/faults", timeout=ANSWER_DEADLINE).json()["faults"]
            matched = rules[0]["matched"]
            if matched >= 20 or time.monotonic() > deadline:
                break
        # All 20 in flight at once: none had to finish to let the last one start.
        assert matched >= 20 and statuses == []
        assert requests.get(url + "/healthz", timeout=ANSWER_DEADLINE).status_code == 200
        assert requests.delete(url + "/_control/faults", timeout=ANSWER_DEADLINE).status_code in (200, 204)
        listed = requests.get(url + "/_control/faults", timeout=ANSWER_DEADLINE).json()
        assert listed["faults"] == [], json.dumps(listed)
    finally:
        for thread in threads:
            thread.join(30)
    assert statuses == [404] * 20
