"""Broken answers on real servers, seen from the client's side of the socket.

Each test runs against gunicorn with the memory store, with SQLite and two workers (the
journal entry is asked of whichever worker answers), with PostgreSQL (skipped without it),
and against the pytest plugin's in-process server (werkzeug's, `logfiles.testing`). Raw
sockets show what a client library would hide: how many bytes came, then EOF or a reset.
Nothing asserts an upper bound on time; the one timing check is a lower bound.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from logfiles.client import StubClient
from logfiles.faults import FaultRule
from logfiles.testing import running_stub
from tests.blackbox.conftest import LiveServer, start_server
from tests.pgcluster import unique_schema_name

TIMEOUT = 10.0  # any single wait on a socket; a server that misbehaves fails the test, never hangs it
TOKEN = {"X-Auth-Token": "t"}
AGENT = "/v2/p/agents/a"
LOGFILE = "/v2/p/agents/a/logfiles/l"
OBJECTS = "/cloudfiles/v1/MossoCloudFS_p/CloudBackupLogs"
SMALL = os.urandom(2048)  # trickled
LARGE = os.urandom(256 * 1024)  # streamed in pieces, and cut
SERVERS = ["gunicorn-memory", "gunicorn-sqlite", "gunicorn-postgres", "in-process"]


class _Errors(logging.Handler):
    """Error records of the in-process server (werkzeug logs a failed request at ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Stub:
    client: StubClient
    server: LiveServer | None  # None: the in-process server
    errors: _Errors = field(default_factory=_Errors)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.client.url.rsplit("//", 1)[1].rsplit(":", 1)
        return host, int(port)

    @property
    def keeps_alive(self) -> bool:
        """werkzeug's development server closes every connection after its answer."""
        return self.server is not None

    def url(self, path: str) -> str:
        return self.client.url + path

    def problems(self) -> list[str]:
        if self.server is None:
            return [record.getMessage() for record in self.errors.records]
        return [
            line for line in self.server.output().splitlines() if "Traceback" in line or "[ERROR]" in line
        ]


@pytest.fixture(scope="module", params=SERVERS)
def stub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stub]:
    """One server per kind for the module; each test resets it (`fresh`)."""
    kind = request.param
    if kind == "in-process":
        found = Stub(client=StubClient("http://unused"), server=None)
        werkzeug_log = logging.getLogger("werkzeug")
        werkzeug_log.addHandler(found.errors)
        try:
            with running_stub() as client:
                found.client = client
                yield found
        finally:
            werkzeug_log.removeHandler(found.errors)
        return
    tmp = tmp_path_factory.mktemp(kind)
    env: dict[str, str] = {}
    cleanup = contextlib.ExitStack()
    if kind == "gunicorn-sqlite":
        env = {"LOGFILES_STORE": f"sqlite:///{tmp / 'stub.db'}", "LOGFILES_WORKERS": "2"}
    elif kind == "gunicorn-postgres":
        cluster = request.getfixturevalue("pg_cluster")  # skips without PostgreSQL
        schema = unique_schema_name("broken_answers")
        cluster.create_schema(schema)
        cleanup.callback(cluster.drop_schema, schema)
        env = {"LOGFILES_STORE": cluster.url(schema), "LOGFILES_WORKERS": "2"}
    with cleanup:
        server = start_server(tmp, env)
        cleanup.callback(server.stop)  # stopped before the schema is dropped
        yield Stub(client=StubClient(server.url), server=server)


@pytest.fixture
def fresh(stub: Stub) -> Iterator[Stub]:
    """The stub reset and seeded; afterwards it must serve normally and have logged no error."""
    stub.client.reset()
    stub.client.seed(
        agents=[{"id": "a", "project_id": "p"}],
        logfiles=[{"id": "l", "agent_id": "a"}],
        objects=[
            {"project_id": "p", "name": "small.log", "content_base64": base64.b64encode(SMALL).decode()},
            {"project_id": "p", "name": "large.log", "content_base64": base64.b64encode(LARGE).decode()},
        ],
    )
    yield stub
    stub.client.clear_faults()
    assert requests.get(stub.url(AGENT), headers=TOKEN, timeout=TIMEOUT).status_code == 200
    assert stub.problems() == []


def send(stub: Stub, method: str, path: str, body: bytes = b"", **headers: str) -> socket.socket:
    """A new connection with one request on it (no `Connection: close`: the server decides)."""
    host, port = stub.address
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "X-Auth-Token: t"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


def until_eof(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a server that keeps the connection open
    (a whole answer on a keep-alive connection) fails with a timeout."""
    received = b""
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return Answer(
        int(status_line.split(" ")[1]), {name.lower(): value for name, value in headers.items()}, body
    )


def add(stub: Stub, **rule: Any) -> dict[str, Any]:
    return stub.client.fault(**rule)


def journal(stub: Stub, method: str) -> list[tuple[int, str | None]]:
    return [(entry["status"], entry["fault"]) for entry in stub.client.requests(method=method)]


def logfile_state(stub: Stub) -> str:
    state: str = requests.get(stub.url(LOGFILE), headers=TOKEN, timeout=TIMEOUT).json()["state"]
    return state


# truncate


def test_truncate_sends_the_whole_length_in_headers_and_half_the_body_then_closes(fresh: Stub) -> None:
    rule = add(fresh, action="truncate", method="GET", path=LOGFILE)
    answer = parse(until_eof(send(fresh, "GET", LOGFILE)))
    whole = requests.get(fresh.url(LOGFILE), headers=TOKEN, timeout=TIMEOUT).content
    assert answer.status == 200 and int(answer.headers["content-length"]) == len(whole)
    assert answer.body == whole[: len(whole) // 2]
    assert journal(fresh, "GET")[:1] == [(200, rule["id"])]


def test_truncate_cuts_a_streamed_object_download_half_way(fresh: Stub) -> None:
    rule = add(fresh, action="truncate", path=f"{OBJECTS}/large.log")
    answer = parse(until_eof(send(fresh, "GET", f"{OBJECTS}/large.log")))
    assert answer.headers["content-length"] == str(len(LARGE))
    assert answer.body == LARGE[: len(LARGE) // 2]
    assert journal(fresh, "GET") == [(200, rule["id"])]
    add(fresh, action="truncate", path=f"{OBJECTS}/large.log")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # what a client library makes of it
        requests.get(fresh.url(f"{OBJECTS}/large.log"), headers=TOKEN, timeout=TIMEOUT)


def test_truncate_lets_the_request_run_and_closes_before_a_bodiless_answer(fresh: Stub) -> None:
    """A PATCH's 204 has no body to cut: the client gets nothing, yet the change was made."""
    rule = add(fresh, action="truncate", method="PATCH")
    patch = b'[{"op": "replace", "path": "/state", "value": "started"}]'
    received = until_eof(send(fresh, "PATCH", LOGFILE, patch, Content_Type="application/json-patch+json"))
    assert received == b""
    assert journal(fresh, "PATCH") == [(204, rule["id"])]
    assert logfile_state(fresh) == "started"


def test_truncate_of_a_head_closes_before_the_answer(fresh: Stub) -> None:
    rule = add(fresh, action="truncate", method="HEAD", path=f"{OBJECTS}/*")
    assert until_eof(send(fresh, "HEAD", f"{OBJECTS}/small.log")) == b""
    assert journal(fresh, "HEAD") == [(200, rule["id"])]


# garbage


def test_garbage_sends_the_seeded_bytes_instead_of_an_answer_then_closes(fresh: Stub) -> None:
    rule = add(fresh, action="garbage", method="PATCH", size=300, seed=9)
    patch = b'[{"op": "replace", "path": "/state", "value": "started"}]'
    received = until_eof(send(fresh, "PATCH", LOGFILE, patch, Content_Type="application/json-patch+json"))
    (fired,) = stub_rules(fresh)
    assert received == FaultRule.from_fields(fired).garbage() and len(received) == 300
    assert journal(fresh, "PATCH") == [(0, rule["id"])]
    assert logfile_state(fresh) == "requested"  # before the model: nothing changed


def stub_rules(stub: Stub) -> list[dict[str, Any]]:
    return stub.client.faults()


def test_garbage_is_a_protocol_error_to_http_client(fresh: Stub) -> None:
    add(fresh, action="garbage", method="GET", seed=1)
    connection = http.client.HTTPConnection(*fresh.address, timeout=TIMEOUT)
    try:
        connection.request("GET", AGENT, headers=TOKEN)
        with pytest.raises((http.client.BadStatusLine, http.client.LineTooLong)):
            connection.getresponse()
    finally:
        connection.close()


# reset


def test_reset_is_econnreset_not_eof(fresh: Stub) -> None:
    rule = add(fresh, action="reset", method="GET")
    with send(fresh, "GET", AGENT) as sock, pytest.raises(ConnectionResetError):
        sock.recv(65536)
    assert journal(fresh, "GET") == [(0, rule["id"])]


def test_reset_honours_every_and_times(fresh: Stub) -> None:
    rule = add(fresh, action="reset", method="GET", every=2, times=2)
    outcomes = []
    for _ in range(6):
        try:
            answer = requests.get(fresh.url(AGENT), headers=TOKEN, timeout=TIMEOUT)
        except requests.ConnectionError:
            outcomes.append("reset")
        else:
            outcomes.append(str(answer.status_code))
    assert outcomes == ["200", "reset", "200", "reset", "200", "200"]
    assert journal(fresh, "GET") == [
        (200, None),
        (0, rule["id"]),
        (200, None),
        (0, rule["id"]),
        (200, None),
        (200, None),
    ]
    (listed,) = stub_rules(fresh)
    assert (listed["matched"], listed["fired"]) == (6, 2)


# trickle


def test_trickle_arrives_whole_and_no_sooner_than_its_rate_allows(fresh: Stub) -> None:
    rule = add(fresh, action="trickle", method="GET", path=f"{OBJECTS}/*", rate=1024)
    started = time.monotonic()
    answer = requests.get(fresh.url(f"{OBJECTS}/small.log"), headers=TOKEN, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200 and answer.content == SMALL
    assert elapsed >= 1.0  # 2 KiB at 1 KiB/s: a lower bound only
    assert journal(fresh, "GET") == [(200, rule["id"])]


def test_trickle_holds_no_worker(fresh: Stub) -> None:
    """While one answer trickles at 1 byte a second, the server answers others (one worker,
    with the memory store); the trickling client then gives up, which the server shrugs off."""
    add(fresh, action="trickle", path=f"{OBJECTS}/small.log", rate=1)
    with send(fresh, "GET", f"{OBJECTS}/small.log") as sock:
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        assert requests.get(fresh.url(AGENT), headers=TOKEN, timeout=TIMEOUT).status_code == 200
        assert (
            requests.get(fresh.url(f"{OBJECTS}/small.log"), headers=TOKEN, timeout=TIMEOUT).content == SMALL
        )
        assert len(parse(received).body) < len(SMALL)  # the trickle is still going


# body


def test_body_is_sent_verbatim(fresh: Stub) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>\xff"
    rule = add(
        fresh,
        action="body",
        status=502,
        headers={"Content-Type": "text/html", "X-Served-By": "nginx"},
        body_base64=base64.b64encode(page).decode(),
    )
    raw = until_eof(send(fresh, "GET", AGENT, Connection="close"))
    answer = parse(raw)
    assert answer.status == 502 and answer.body == page
    assert {name: answer.headers[name] for name in ("content-type", "x-served-by", "content-length")} == {
        "content-type": "text/html",
        "x-served-by": "nginx",
        "content-length": str(len(page)),
    }
    assert journal(fresh, "GET") == [(502, rule["id"])]


def test_body_keeps_the_connection_alive(fresh: Stub) -> None:
    if not fresh.keeps_alive:
        pytest.skip("werkzeug's development server closes every connection")
    rule = add(
        fresh, action="body", method="GET", body="{not json", headers={"Content-Type": "application/json"}
    )
    connection = http.client.HTTPConnection(*fresh.address, timeout=TIMEOUT)
    try:
        connection.request("GET", AGENT, headers=TOKEN)
        first = connection.getresponse()
        assert first.read() == b"{not json"
        sock = connection.sock
        connection.request("GET", AGENT, headers=TOKEN)
        second = connection.getresponse()
        assert second.status == 200 and b'"id"' in second.read()
        assert connection.sock is sock  # the same connection
    finally:
        connection.close()
    assert journal(fresh, "GET") == [(200, rule["id"]), (200, None)]


def test_a_keep_alive_client_recovers_from_each_broken_answer(fresh: Stub) -> None:
    """A requests session meets every kind in turn on its pooled connection, and goes on."""
    kinds: list[dict[str, Any]] = [
        {"action": "truncate"},
        {"action": "garbage"},
        {"action": "reset"},
        {"action": "body", "body": "x"},
        {"action": "trickle", "rate": 10_000_000},
    ]
    with requests.Session() as session:
        for rule in kinds:
            add(fresh, method="GET", **rule)
            with contextlib.suppress(requests.exceptions.RequestException):
                session.get(fresh.url(AGENT), headers=TOKEN, timeout=TIMEOUT)
            answer = session.get(fresh.url(AGENT), headers=TOKEN, timeout=TIMEOUT)
            assert answer.status_code == 200 and answer.json()["id"] == "a", rule
    faults = [fault for _, fault in journal(fresh, "GET")]
    assert len(faults) == 10 and all(fault is None for fault in faults[1::2])
    assert all(faults[0::2])


def test_rules_fire_across_concurrent_clients_as_many_times_as_asked(fresh: Stub) -> None:
    """`times` holds across workers and connections: 8 clients at once, 3 resets in all."""
    rule = add(fresh, action="reset", method="GET", times=3)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            outcome = str(requests.get(fresh.url(AGENT), headers=TOKEN, timeout=TIMEOUT).status_code)
        except requests.ConnectionError:
            outcome = "reset"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert sorted(outcomes) == ["200"] * 5 + ["reset"] * 3
    assert sorted(journal(fresh, "GET"), key=str) == sorted(
        [(200, None)] * 5 + [(0, rule["id"])] * 3, key=str
    )
