"""The object store over HTTP: real gunicorn, the SQLite store, four workers (SPEC "The log's bytes").

Chunked uploads and ranges, one name uploaded by many clients at once, the size limit, workers
killed with SIGKILL in the middle of uploads, a restart and a reset; with `requests`, and with raw
sockets where the framing or the timing matters. Only the server each test starts is signalled,
and only the workers of its own master.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.blackbox.conftest import LiveServer

PROJECT = "p"
TOKEN = {"X-Auth-Token": "t"}
LOGS = "CloudBackupLogs"
MIB = 1024 * 1024
SOCKET_TIMEOUT = 15.0
WAIT = 20.0  # seconds any one condition may take to come about


def objects_env(tmp_path: Path, workers: int = 4, **extra: str) -> dict[str, str]:
    return {"LOGFILES_STORE": f"sqlite:///{tmp_path / 'db'}", "LOGFILES_WORKERS": str(workers), **extra}


def objects_dir(tmp_path: Path) -> Path:
    return tmp_path / "db.objects"


def files_in(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def object_path(name: str, container: str = LOGS) -> str:
    return f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/{quote(container, safe='')}/{quote(name, safe='/')}"


def url(server: LiveServer, name: str, container: str = LOGS) -> str:
    return server.url + object_path(name, container)


def container_url(server: LiveServer, container: str = LOGS) -> str:
    return f"{server.url}/cloudfiles/v1/MossoCloudFS_{PROJECT}/{quote(container, safe='')}"


def listing(server: LiveServer, container: str = LOGS) -> dict[str, dict[str, Any]]:
    answer = requests.get(
        container_url(server, container), params={"format": "json"}, headers=TOKEN, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return {item["name"]: item for item in answer.json()}


def fresh_get(target: str, **headers: str) -> requests.Response:
    """A GET on a new connection (so that the requests spread over the workers)."""
    return requests.get(target, headers={**TOKEN, "Connection": "close", **headers}, timeout=30)


def assert_fault_body(answer: requests.Response, status: int) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert set(body) == {"message", "errors"} and body["message"] and body["errors"], body


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.02)


# Processes: the workers are the children of the server's own gunicorn master.


def worker_pids(server: LiveServer) -> set[int]:
    """Live children of this server's master (its gunicorn workers), from /proc."""
    master = server.process.pid
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone while we looked
        state, parent = fields[0], int(fields[1])
        if parent == master and state != "Z":
            children.add(int(stat.parent.name))
    return children


def serving_workers(server: LiveServer, clients: list[socket.socket]) -> dict[int, int]:
    """Client port -> the pid of the worker holding that connection (its socket's inode in /proc)."""
    ports = {client.getsockname()[1] for client in clients}
    inodes: dict[str, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server.port and int(remote.split(":")[1], 16) in ports:
            inodes[f"socket:[{inode}]"] = int(remote.split(":")[1], 16)
    serving: dict[int, int] = {}
    for pid in worker_pids(server):
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target in inodes:
                        serving[inodes[target]] = pid
    return serving


# Raw HTTP/1.1 over a socket.


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def connect(server: LiveServer) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT)
    client.settimeout(SOCKET_TIMEOUT)
    return client


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_answer(client: socket.socket) -> RawAnswer | None:
    """One answer (Content-Length framed), or None if the server closed without one."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            piece = client.recv(65536)
        except ConnectionResetError:
            piece = b""
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = client.recv(65536)
        if not piece:
            break
        body += piece
    return RawAnswer(int(status_line.split()[1]), headers, body)


def raw_fault(answer: RawAnswer | None, status: int) -> dict[str, Any]:
    assert answer is not None, "no answer"
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(answer.body)
    assert set(body) == {"message", "errors"} and body["message"] and body["errors"], body
    return body


def chunked(pieces: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


# Chunked uploads, ranges.


def test_chunked_upload_of_3_mib_reads_back_whole_with_its_md5_and_ranges(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=objects_env(tmp_path))
    rng = random.Random(3)
    data = rng.randbytes(3 * MIB + 12345)
    cuts = sorted(rng.sample(range(1, len(data)), 40))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]

    def body() -> Iterator[bytes]:
        yield from pieces

    put = requests.put(url(server, "logs/big.log"), data=body(), headers=TOKEN, timeout=60)
    assert put.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in put.request.headers
    assert put.status_code == 201, put.text
    assert put.headers["ETag"] == md5(data)
    assert put.content == b""

    for _ in range(4):  # new connections: several workers read the one file
        got = fresh_get(url(server, "logs/big.log"))
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["ETag"] == md5(data)
        assert got.headers["Content-Length"] == str(len(data))
    head = requests.head(url(server, "logs/big.log"), headers=TOKEN, timeout=30)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Length"] == str(len(data)) and head.headers["ETag"] == md5(data)
    assert listing(server)["logs/big.log"]["hash"] == md5(data)
    assert listing(server)["logs/big.log"]["bytes"] == len(data)

    size = len(data)
    for header, first, last in (
        ("bytes=0-0", 0, 0),
        ("bytes=1000-2999999", 1000, 2999999),
        (f"bytes={size - 10}-", size - 10, size - 1),
        ("bytes=-100", size - 100, size - 1),
        (f"bytes=3000000-{10**15}", 3000000, size - 1),
    ):
        part = fresh_get(url(server, "logs/big.log"), Range=header)
        assert part.status_code == 206, (header, part.status_code)
        assert part.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert part.headers["Content-Length"] == str(last - first + 1)
        assert part.content == data[first : last + 1]
    beyond = fresh_get(url(server, "logs/big.log"), Range=f"bytes={size}-")
    assert_fault_body(beyond, 416)
    assert beyond.headers["Content-Range"] == f"bytes */{size}"
    assert "Traceback" not in server.output()


def test_raw_chunked_upload_with_odd_chunk_sizes_and_extensions(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=objects_env(tmp_path))
    data = bytes(range(256)) * 1000
    pieces = [data[:1], data[1:70000], data[70000:70001], data[70001:]]
    body = b"1;ext=1\r\n" + pieces[0] + b"\r\n" + chunked(pieces[1:])
    client = connect(server)
    try:
        head = {**TOKEN, "Transfer-Encoding": "chunked", "Content-Type": "text/x-log"}
        client.sendall(request_head("PUT", object_path("raw/chunked"), head) + body)
        answer = read_answer(client)
    finally:
        client.close()
    assert answer is not None and answer.status == 201, answer
    assert answer.headers["etag"] == md5(data)
    got = fresh_get(url(server, "raw/chunked"))
    assert got.content == data and got.headers["Content-Type"] == "text/x-log"


# One name, many uploaders.


@dataclass
class Race:
    """One round: every uploader's status, and what a reader saw meanwhile."""

    statuses: list[int] = field(default_factory=list)
    seen: list[tuple[int, bytes]] = field(default_factory=list)


def race(target: str, contents: list[bytes]) -> Race:
    """Upload every content to `target` at once, each on its own connection, while a reader reads."""
    result = Race()
    lock = threading.Lock()
    barrier = threading.Barrier(len(contents) + 1)
    done = threading.Event()

    def upload(content: bytes) -> None:
        barrier.wait(WAIT)
        answer = requests.put(target, data=content, headers={**TOKEN, "Connection": "close"}, timeout=60)
        with lock:
            result.statuses.append(answer.status_code)

    def read() -> None:
        barrier.wait(WAIT)
        for _ in range(200):
            if done.is_set():
                return
            answer = fresh_get(target)
            with lock:
                result.seen.append((answer.status_code, answer.content))

    uploaders = [threading.Thread(target=upload, args=(content,)) for content in contents]
    reader = threading.Thread(target=read)
    for thread in [*uploaders, reader]:
        thread.start()
    for thread in uploaders:
        thread.join(60)
    done.set()
    reader.join(60)
    return result


def test_concurrent_uploads_of_one_name_leave_one_whole_upload(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=objects_env(tmp_path))
    contents = [bytes([65 + i]) * (MIB + 1000 * i) for i in range(6)]
    target = url(server, "race/one-name.log")
    for round_number in range(3):
        result = race(target, contents)
        assert result.statuses == [201] * len(contents), result.statuses

        final = fresh_get(target)
        assert final.status_code == 200
        assert final.content in contents, f"round {round_number}: not one whole upload"
        assert final.headers["ETag"] == md5(final.content)
        listed = listing(server)
        assert list(listed) == ["race/one-name.log"]
        assert listed["race/one-name.log"]["hash"] == md5(final.content)
        assert listed["race/one-name.log"]["bytes"] == len(final.content)
        assert result.seen, "the reader read nothing"
        for status, content in result.seen:  # a reader sees one whole upload, or none yet
            if status == 404:
                assert round_number == 0
            else:
                assert status == 200 and content in contents, (status, len(content))
        # Every replaced upload's file is gone: one object, one file.
        assert len(files_in(objects_dir(tmp_path))) == 1, files_in(objects_dir(tmp_path))


# The size limit.


def test_over_the_limit_is_413_at_once_and_nothing_is_stored(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=objects_env(tmp_path, LOGFILES_MAX_OBJECT_BYTES=str(MIB)))

    # Declared too large: the answer comes before a byte of the body is sent.
    client = connect(server)
    try:
        client.sendall(
            request_head("PUT", object_path("declared"), {**TOKEN, "Content-Length": str(2 * MIB)})
        )
        answer = read_answer(client)
    finally:
        client.close()
    raw_fault(answer, 413)

    # Declared too large, body sent by requests as a whole.
    whole = requests.put(url(server, "whole"), data=b"w" * (MIB + 1), headers=TOKEN, timeout=60)
    assert_fault_body(whole, 413)

    # Chunked: no length to refuse up front; refused once the limit is passed.
    def over() -> Iterator[bytes]:
        for _ in range(16):
            yield b"c" * (64 * 1024)
        yield b"!"

    streamed = requests.put(url(server, "streamed"), data=over(), headers=TOKEN, timeout=60)
    assert streamed.request.headers.get("Transfer-Encoding") == "chunked"
    assert_fault_body(streamed, 413)

    for name in ("declared", "whole", "streamed"):
        assert fresh_get(url(server, name)).status_code == 404
    assert listing(server) == {}
    assert [f for f in files_in(objects_dir(tmp_path)) if not f.endswith(".part")] == []
    wait_until(lambda: files_in(objects_dir(tmp_path)) == [], "the refused uploads' part files removed")

    # Exactly the limit is an object.
    exact = requests.put(url(server, "exact"), data=b"e" * MIB, headers=TOKEN, timeout=60)
    assert exact.status_code == 201, exact.text
    assert fresh_get(url(server, "exact")).content == b"e" * MIB
    assert "Traceback" not in server.output()


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        # More than the 16 MiB the server would read past a refusal: not worth reading.
        ({"Content-Length": str(64 * MIB)}, b"", 413),
        ({"Transfer-Encoding": "chunked"}, b"zz\r\nbad\r\n0\r\n\r\n", 400),
    ],
    ids=["declared-far-too-large", "chunk-size-not-hex"],
)
def test_refused_upload_answer_closes_the_connection(
    launch: Callable[..., LiveServer], tmp_path: Path, headers: dict[str, str], body: bytes, status: int
) -> None:
    server = launch(env=objects_env(tmp_path, workers=2, LOGFILES_MAX_OBJECT_BYTES=str(MIB)))
    client = connect(server)
    try:
        client.sendall(request_head("PUT", object_path("refused"), {**TOKEN, **headers}) + body)
        answer = read_answer(client)
    finally:
        client.close()
    assert answer is not None
    raw_fault(answer, status)
    assert answer.headers.get("connection", "").lower() == "close", answer.headers


# Framing the HTTP layer or the upload refuses: a fault, nothing stored.


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Length": "abc"}, b"xyz"),
        ({"Content-Length": "-1"}, b""),
        ({"Transfer-Encoding": "chunked"}, b"zz\r\nbad\r\n0\r\n\r\n"),
        ({"Transfer-Encoding": "chunked"}, b"5\r\nshort"),
        ({"Content-Length": "3", "Transfer-Encoding": "chunked"}, b"3\r\nabc\r\n0\r\n\r\n"),
    ],
    ids=[
        "length-not-a-number",
        "length-negative",
        "chunk-size-not-hex",
        "chunk-cut-short",
        "length-and-chunked",
    ],
)
def test_malformed_framing_is_a_fault_and_stores_nothing(
    launch: Callable[..., LiveServer], tmp_path: Path, headers: dict[str, str], body: bytes
) -> None:
    server = launch(env=objects_env(tmp_path, workers=2))
    client = connect(server)
    try:
        client.sendall(request_head("PUT", object_path("framed"), {**TOKEN, **headers}) + body)
        client.shutdown(socket.SHUT_WR)  # the body ends here, whatever it said
        answer = read_answer(client)
    finally:
        client.close()
    if answer is not None:  # a body cut short may also be dropped without an answer
        raw_fault(answer, 400)
    assert fresh_get(url(server, "framed")).status_code == 404
    assert listing(server) == {}
    assert "Traceback" not in server.output()


def test_body_shorter_than_its_length_stores_nothing(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=objects_env(tmp_path, workers=2))
    client = connect(server)
    try:
        client.sendall(request_head("PUT", object_path("short"), {**TOKEN, "Content-Length": "100000"}))
        client.sendall(b"s" * 5000)
        client.shutdown(socket.SHUT_WR)
        answer = read_answer(client)
    finally:
        client.close()
    if answer is not None:
        raw_fault(answer, 400)
    assert fresh_get(url(server, "short")).status_code == 404
    assert listing(server) == {}


# kill -9 in the middle of uploads.


@dataclass
class Writes:
    """One client's uploads to its own names: every attempt in order, and the acknowledged ones."""

    attempts: dict[str, list[bytes]] = field(default_factory=dict)
    acknowledged: dict[str, int] = field(default_factory=dict)  # name -> index of its last 201


def slow_upload(server: LiveServer, name: str, content: bytes, first_piece: int) -> socket.socket:
    client = connect(server)
    head = request_head("PUT", object_path(name), {**TOKEN, "Content-Length": str(len(content))})
    client.sendall(head + content[:first_piece])
    return client


def test_kill_9_of_the_workers_mid_upload_leaves_no_partial_object(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=objects_env(tmp_path))
    size = 512 * 1024

    def content(tag: str, byte: int) -> bytes:
        return tag.encode().ljust(64, b".") + bytes([byte]) * (size - 64)

    # Acknowledged before anything is killed.
    before = {f"keep-{i}": content(f"keep-{i}", 97 + i) for i in range(4)}
    before |= {f"slow-{i}": content(f"old-{i}", 65 + i) for i in range(4)}
    for name, data in before.items():
        assert requests.put(url(server, name), data=data, headers=TOKEN, timeout=60).status_code == 201

    # Clients that keep uploading while the workers die.
    writes = [Writes() for _ in range(3)]
    stop = threading.Event()

    def writer(number: int) -> None:
        mine = writes[number]
        for attempt in range(100):
            if stop.is_set():
                return
            name = f"busy-{number}-{attempt % 3}"
            data = content(f"busy-{number}-{attempt}", 48 + attempt % 10)[: 64 * 1024 + attempt]
            mine.attempts.setdefault(name, []).append(data)
            try:
                answer = requests.put(
                    url(server, name), data=data, headers={**TOKEN, "Connection": "close"}, timeout=30
                )
            except requests.RequestException:
                continue  # the worker died under it: not acknowledged
            if answer.status_code == 201:
                mine.acknowledged[name] = len(mine.attempts[name]) - 1

    # Uploads cut off: new bytes for the slow-i names, and names never stored.
    cut = {f"slow-{i}": content(f"new-{i}", 75 + i) for i in range(4)}
    cut |= {f"fresh-{i}": content(f"fresh-{i}", 110 + i) for i in range(4)}
    clients = [slow_upload(server, name, data, 100 * 1024) for name, data in cut.items()]
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(len(writes))]
    try:
        parts = objects_dir(tmp_path)
        wait_until(
            lambda: sum(f.endswith(".part") for f in files_in(parts)) == len(clients),
            "every cut-off upload has begun its file",
        )
        for thread in threads:
            thread.start()
        wait_until(
            lambda: sum(len(mine.acknowledged) for mine in writes) >= len(writes),
            "the other clients' uploads are being acknowledged",
        )
        for client, data in zip(clients, cut.values(), strict=True):
            client.sendall(data[100 * 1024 : 300 * 1024])  # more, slowly; never all of it
        serving = serving_workers(server, clients)
        assert len(serving) == len(clients), serving
        victims = set(serving.values())
        assert victims <= worker_pids(server)
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        stop.set()
        for client in clients:
            client.settimeout(5)
            with contextlib.suppress(OSError):
                answer = read_answer(client)
                assert answer is None or answer.status != 201, "a cut-off upload was acknowledged"
    finally:
        stop.set()
        for client in clients:
            client.close()
        for thread in threads:
            thread.join(60)

    wait_until(lambda: len(worker_pids(server) - victims) >= 4, "the master forks new workers")
    server.wait_ready(WAIT)
    with sqlite3.connect(tmp_path / "db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    listed = listing(server)
    for name, data in before.items():  # keep-i as acknowledged; slow-i still the old bytes
        got = fresh_get(url(server, name))
        assert (got.status_code, got.content == data) == (200, True), name
    for name in (n for n in cut if n.startswith("fresh-")):
        assert fresh_get(url(server, name)).status_code == 404, name
        assert name not in listed
    acknowledged = 0
    for mine in writes:
        for name, attempts in mine.attempts.items():
            got = fresh_get(url(server, name))
            last = mine.acknowledged.get(name)
            if last is None:
                assert got.status_code == 404 or got.content in attempts, name
            else:
                acknowledged += 1
                assert got.status_code == 200, name
                assert got.content in attempts[last:], (
                    f"{name}: not its last acknowledged upload or a later one"
                )
    assert acknowledged > 0, "no upload was acknowledged during the test"
    # The listing and GET agree, name by name.
    known = set(before) | set(cut) | {name for mine in writes for name in mine.attempts}
    assert set(listed) <= known
    for name in known:
        got = fresh_get(url(server, name))
        if name in listed:
            assert got.status_code == 200
            assert (md5(got.content), len(got.content)) == (listed[name]["hash"], listed[name]["bytes"])
        else:
            assert got.status_code == 404, name
    # Workers forked moments ago may still be patching gevent, with the master's SIGTERM handler
    # (which only queues the signal): a graceful stop could wait out its timeout. Kill the group.
    server.stop(signal.SIGKILL)


# Restart and reset.


def test_objects_survive_a_restart_and_a_reset_removes_them_and_their_files(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    env = objects_env(tmp_path)
    first = launch(env=env)
    assert requests.put(container_url(first, "kept"), headers=TOKEN, timeout=30).status_code == 201
    stored = {
        (LOGS, "agent/2014-09-23.log"): b"log line\n" * 1000,
        (LOGS, "é/ü ñ"): bytes(range(256)),
        ("kept", "empty"): b"",
        ("kept", "a/b/c"): os.urandom(200_000),
    }
    for (container, name), data in stored.items():
        answer = requests.put(url(first, name, container), data=data, headers=TOKEN, timeout=60)
        assert answer.status_code == 201, answer.text
    listings = {container: listing(first, container) for container in (LOGS, "kept")}
    assert first.stop() == 0

    second = launch(env=env)
    for (container, name), data in stored.items():
        got = fresh_get(url(second, name, container))
        assert (got.status_code, got.content) == (200, data), name
        assert got.headers["ETag"] == md5(data)
    assert {container: listing(second, container) for container in (LOGS, "kept")} == listings
    assert len(files_in(objects_dir(tmp_path))) == len(stored)

    assert requests.post(f"{second.url}/_control/reset", timeout=30).status_code == 204
    for (container, name), _ in stored.items():
        assert fresh_get(url(second, name, container)).status_code == 404, name
    assert listing(second) == {}
    gone = requests.get(container_url(second, "kept"), headers=TOKEN, timeout=30)
    assert_fault_body(gone, 404)
    assert files_in(objects_dir(tmp_path)) == []
    assert "Traceback" not in first.output() + second.output()


def test_a_refused_upload_a_little_too_large_keeps_the_connection(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """Within 16 MiB the rest of the body is read and dropped: the 413 comes at once, and the
    connection carries the next request once the client has sent the body it announced."""
    server = launch(env=objects_env(tmp_path, workers=2, LOGFILES_MAX_OBJECT_BYTES=str(MIB)))
    client = connect(server)
    try:
        client.sendall(request_head("PUT", object_path("refused"), {**TOKEN, "Content-Length": str(2 * MIB)}))
        answer = read_answer(client)  # before a byte of the body was sent
        assert answer is not None
        raw_fault(answer, 413)
        assert answer.headers.get("connection", "").lower() != "close", answer.headers
        client.sendall(b"x" * (2 * MIB))
        client.sendall(request_head("GET", object_path("refused"), TOKEN))
        after = read_answer(client)
    finally:
        client.close()
    assert after is not None
    raw_fault(after, 404)
