"""Over real HTTP against `gunicorn wsgi:app`: the whole flow, limits, and bad configuration."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from tests.blackbox.conftest import LiveServer
from tests.conftest import JSON_PATCH, REGISTRATION

HEADERS = {"X-Auth-Token": "token", "Content-Type": "application/json"}
MiB = 1024 * 1024


def patch(session: requests.Session, url: str, value: str) -> requests.Response:
    body = json.dumps([{"op": "replace", "path": "/state", "value": value}])
    return session.patch(url, data=body, headers={"X-Auth-Token": "t", "Content-Type": JSON_PATCH})


def test_logfile_flow_over_http(launch: Callable[..., LiveServer]) -> None:
    server = launch()
    session = requests.Session()
    agent = session.post(f"{server.url}/v2/110011/agents", json=REGISTRATION, headers=HEADERS)
    assert agent.status_code == 201
    assert agent.headers["Location"] == f"{server.url}/v2/110011/agents/{agent.json()['id']}"

    requested = session.post(agent.headers["Location"] + "/logfiles", headers=HEADERS)
    assert requested.status_code == 202
    url = requested.headers["Location"]
    assert requested.json()["links"] == [{"href": url, "rel": "self"}]

    assert patch(session, url, "started").status_code == 204
    assert patch(session, url, "completed").status_code == 204
    assert patch(session, url, "started").status_code == 409

    listed = session.get(agent.headers["Location"] + "/logfiles", headers=HEADERS).json()
    (logfile,) = listed["logfiles"]
    assert logfile["state"] == "completed"
    assert {link["rel"] for link in logfile["links"]} == {"self", "logfile", "logfile_temp_url"}

    assert session.delete(url, headers=HEADERS).status_code == 204
    gone = session.get(url, headers=HEADERS)
    assert gone.status_code == 404 and set(gone.json()) == {"message", "errors"}
    assert re.search(r'"PATCH /v2/110011/agents/\S+ HTTP/1.1" 204', server.output())


def _chunks(total: int) -> Iterator[bytes]:
    yield b"["
    sent = 1
    while sent < total - 1:
        piece = b" " * min(64 * 1024, total - 1 - sent)
        sent += len(piece)
        yield piece
    yield b"]"


def test_chunked_body_over_1_mib_is_413_and_exactly_1_mib_is_read(
    launch: Callable[..., LiveServer],
) -> None:
    server = launch()
    headers = {"X-Auth-Token": "t", "Content-Type": JSON_PATCH}
    agent = requests.post(f"{server.url}/v2/p/agents", json=REGISTRATION, headers=HEADERS).json()
    url = f"{server.url}/v2/p/agents/{agent['id']}/logfiles"
    logfile = requests.post(url, headers=HEADERS).json()
    target = f"{url}/{logfile['id']}"
    big = requests.patch(target, data=_chunks(MiB + 1), headers=headers)
    assert big.status_code == 413 and big.json()["errors"]
    exact = requests.patch(target, data=_chunks(MiB), headers=headers)
    assert exact.status_code == 400  # read whole: an empty array, not too large
    assert exact.json()["errors"] == ["body: must hold at least one operation"]


def test_long_request_line_and_header_reach_the_app(launch: Callable[..., LiveServer]) -> None:
    server = launch()
    long_path = "/v2/p/agents/" + "a" * (8 * 1024 - 40)
    response = requests.get(server.url + long_path, headers={"X-Auth-Token": "t" * 16 * 1000})
    assert response.status_code == 404
    assert set(response.json()) == {"message", "errors"}


def test_bad_configuration_stops_start_with_one_line(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    bad = tmp_path / "tokens.json"
    bad.write_text("{not json")
    server = launch(env={"LOGFILES_TOKENS_FILE": str(bad), "LOGFILES_CONTROL_TOKEN": "c"}, wait=False)
    assert server.process.wait(30) != 0
    output = server.output()
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "LOGFILES_TOKENS_FILE" in line]
    assert len(lines) == 1, output


def test_unknown_store_stops_start(launch: Callable[..., LiveServer]) -> None:
    server = launch(env={"LOGFILES_STORE": "redis://nowhere"}, wait=False)
    assert server.process.wait(30) != 0
    assert "LOGFILES_STORE" in server.output() and "Traceback" not in server.output()


def test_raw_malformed_json_over_socket_gets_fault_body(launch: Callable[..., LiveServer]) -> None:
    server = launch()
    body = b"{not json"
    head, payload = _raw(
        server,
        b"POST /v2/p/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: t\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert head.startswith(b"HTTP/1.1 400")
    assert set(json.loads(payload)) == {"message", "errors"}


def test_unopenable_sqlite_store_stops_start_with_one_line(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    server = launch(env={"LOGFILES_STORE": f"sqlite:///{missing}"}, wait=False)
    assert server.process.wait(30) != 0
    lines = [line for line in server.output().splitlines() if "LOGFILES_STORE" in line]
    assert len(lines) == 1 and "Traceback" not in server.output(), server.output()


def _raw(server: LiveServer, request: bytes) -> tuple[bytes, bytes]:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return head, payload


def test_malformed_chunked_body_is_400_not_500(launch: Callable[..., LiveServer]) -> None:
    server = launch()
    for body in (b"ZZ\r\nabc\r\n0\r\n\r\n", b"5\r\nabcdefgh\r\n0\r\n\r\n"):
        head, payload = _raw(
            server,
            b"POST /v2/p/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: t\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + body,
        )
        assert head.startswith(b"HTTP/1.1 400"), head
        assert json.loads(payload)["errors"][0].startswith("body: ")
    assert "Traceback" not in server.output()


def test_leading_empty_segment_is_no_route(launch: Callable[..., LiveServer]) -> None:
    server = launch()
    body = json.dumps(REGISTRATION).encode()
    head, payload = _raw(
        server,
        b"POST //v2/p/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: t\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert head.startswith(b"HTTP/1.1 404"), head
    assert set(json.loads(payload)) == {"message", "errors"}
    state = requests.get(f"{server.url}/_control/state").json()
    assert state["agents"] == []
