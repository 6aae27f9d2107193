"""Answers gunicorn gives itself, before the application: the bounds, and the fault body on each."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.blackbox.conftest import LiveServer, start_server

DEADLINE = 10.0
LIMIT_REQUEST_LINE = 8190  # gunicorn's largest; it counts the line without its CRLF


def exchange(server: LiveServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` on a new connection; the status, headers and body of the answer (read to close)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
            head, sep, body = data.partition(b"\r\n\r\n")
            lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if sep and lengths and len(body) >= int(lengths[0].split(b":")[1]):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer on a kept-alive connection: its head, then its Content-Length of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"closed before a whole head: {data[:200]!r}"
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    want = int(lengths[0].split(b":")[1]) if lengths else 0
    while len(body) < want:
        piece = sock.recv(65536)
        assert piece, "closed before the whole body"
        body += piece
    return head + b"\r\n\r\n" + body


def request_line(length: int) -> bytes:
    """`GET <path> HTTP/1.1` of exactly `length` bytes (CRLF not counted), then a minimal request."""
    fixed = len("GET /v2/110011/agents/ HTTP/1.1")
    line = f"GET /v2/110011/agents/{'a' * (length - fixed)} HTTP/1.1"
    return f"{line}\r\nHost: x\r\nX-Auth-Token: t\r\n\r\n".encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_server(tmp_path_factory.mktemp("http-layer")) as started:
        yield started


def test_request_line_of_8_kib_with_crlf_reaches_the_app(server: LiveServer) -> None:
    status, headers, body = exchange(server, request_line(LIMIT_REQUEST_LINE))
    assert status == 404 and headers["content-type"] == "application/json"
    assert set(json.loads(body)) == {"message", "errors"}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (request_line(LIMIT_REQUEST_LINE + 1), 414),
        (b"NOT A REQUEST LINE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
    ],
    ids=["line-too-long", "malformed-line", "too-many-headers", "bad-header-name", "length-and-chunked"],
)
def test_http_layer_refusal_is_a_fault_body(server: LiveServer, raw: bytes, status: int) -> None:
    answered, headers, body = exchange(server, raw)
    assert answered == status
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert set(document) == {"message", "errors"} and document["errors"]
    assert all(isinstance(error, str) and error for error in document["errors"])


@pytest.mark.parametrize(
    "codings", ["gzip, chunked", "deflate,chunked", "identity, chunked", "x-custom, chunked"]
)
def test_a_transfer_coding_besides_chunked_is_a_501_before_the_body_is_read(
    server: LiveServer, codings: str
) -> None:
    # A body the stub would take as chunked: gunicorn alone hands its coded bytes on.
    body = b"2\r\n{}\r\n0\r\n\r\n"
    raw = (
        f"POST /_control/reset HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: {codings}\r\n\r\n"
    ).encode() + body
    status, headers, answer = exchange(server, raw)
    assert status == 501
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    document = json.loads(answer)
    assert set(document) == {"message", "errors"} and "transfer coding" in document["errors"][0]


def head_of_first_answer(server: LiveServer, raw: bytes) -> bytes:
    """Send `raw` (headers only: the client waits for `100 Continue`); everything answered until close."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        sock.sendall(raw)
        data = b""
        while piece := sock.recv(65536):
            data += piece
    return data


@pytest.mark.parametrize(
    "target",
    [
        "POST /v2/110011/agents HTTP/1.1\r\nX-Auth-Token: t\r\nContent-Type: application/json",
        "POST /_control/state HTTP/1.1\r\nContent-Type: application/json",
        "PUT /cloudfiles/v1/MossoCloudFS_110011/c/o HTTP/1.1\r\nX-Auth-Token: t",
    ],
    ids=["v2", "control", "object"],
)
def test_a_body_over_its_bound_is_refused_without_100_continue(server: LiveServer, target: str) -> None:
    length = {"v2": 2**20 + 1, "control": 256 * 2**20 + 1, "object": 64 * 2**20 + 1}[
        "v2" if "/v2/" in target else "control" if "_control" in target else "object"
    ]
    raw = f"{target}\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {length}\r\n\r\n".encode()
    answered = head_of_first_answer(server, raw)
    assert answered.startswith(b"HTTP/1.1 413"), answered[:200]
    assert b"100 Continue" not in answered


def test_a_body_within_its_bound_gets_100_continue_then_its_answer(server: LiveServer) -> None:
    body = json.dumps({"agents": [{"id": "a-100", "project_id": "p"}]}).encode()
    # A keep-alive request first: the 100 Continue goes to the second request of a connection.
    raw = b"GET /v2/110011/agents/none HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        sock.sendall(raw)
        first = read_answer(sock)
        assert first.startswith(b"HTTP/1.1 404"), first[:200]
        sock.sendall(
            b"POST /_control/state HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200")


def test_a_trailing_slash_and_a_json_suffix_reach_their_routes_through_gunicorn(server: LiveServer) -> None:
    """SPEC, The whole service: the SDK's `.../events/` poll and the guide's `.json` suffix, as
    gunicorn hands the path over; the links stay canonical, the journal keeps the path as sent."""
    registration = json.dumps(
        {
            "name": "n",
            "version": "1",
            "vault_size": None,
            "host": {
                "flavor": "raxcloudserver",
                "region": "DFW",
                "machine": {"id": "m"},
                "os": {"name": "Ubuntu", "version": "14.04", "architecture": "64-bit"},
                "fingerprint": "f",
                "addresses": [{"version": 4, "addr": "10.0.0.1"}],
            },
            "rsa_public_key": {"modulus": "m", "exponent": 65537},
        }
    ).encode()
    head = (
        b"POST /v2/110011/agents/ HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
        b"Content-Type: application/json\r\n"
    )
    status, headers, body = exchange(
        server, head + f"Content-Length: {len(registration)}\r\n\r\n".encode() + registration
    )
    assert status == 201, body
    agent_id = json.loads(body)["id"]
    assert headers["location"] == f"http://x/v2/110011/agents/{agent_id}"
    status, _, body = exchange(
        server,
        f"GET /v2/110011/agents/{agent_id}/events/ HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n\r\n".encode(),
    )
    assert status == 200, body
    feed = json.loads(body)
    assert [e["event"] for e in feed["events"]] == ["agent_registered"]
    assert all(
        link["href"].startswith(f"http://x/v2/110011/agents/{agent_id}/events?") for link in feed["links"]
    )
    status, _, body = exchange(
        server, b"GET /v2/110011/agents.json HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n\r\n"
    )
    assert status == 200 and [a["id"] for a in json.loads(body)["agents"]] == [agent_id]
    status, _, body = exchange(
        server, b"GET /_control/requests?method=GET HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    paths = [entry["path"] for entry in json.loads(body)["requests"]]
    assert paths[-2:] == [f"/v2/110011/agents/{agent_id}/events/", "/v2/110011/agents.json"]
