"""5,000 clients that hold a connection and send (next to) nothing must not shut others out.

Past the 4,096 connections a worker used to take: bodies that trickle a byte every few
seconds, abandoned waits and stalled TLS handshakes. While they are held, a health check, a
control-plane GET and a fresh /v2 request, each on a new connection, must be answered (a
generous deadline: "answered at all", not how fast; bench/stall.py measures that). And past
a worker's connection cap, the slow holders that sent least are closed, not the newcomers.

Each test opens at most 5,000 sockets of its own (its open-files soft limit is raised for
them, or the test is skipped where the hard limit is too low) and closes them in `finally`.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.blackbox.conftest import LiveServer

CLIENTS = 5000
WAITS = 1000  # of CLIENTS; the rest trickle a body
PROBE_DEADLINE = 30.0  # seconds: "answered at all"
CONNECT_DEADLINE = 30.0
TRICKLE_SECONDS = 5.0
HEADERS = {"X-Auth-Token": "t"}
BODY_HEAD = (
    b"POST /v2/110011/agents HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
)
WAIT_HEAD = b"GET /_control/requests/wait?timeout=60&path=/nothing/comes HTTP/1.1\r\nHost: x\r\n\r\n"


def raise_files_limit(wanted: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE to `wanted`, or skip the test (inherited by the server)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the open-files hard limit is {hard}: {wanted} sockets cannot be opened")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@contextlib.contextmanager
def crowd(port: int, heads: list[bytes]) -> Iterator[list[socket.socket]]:
    """One connection per entry of `heads`, each sent its head; a thread trickles a byte to body ones."""
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(TRICKLE_SECONDS):
            for sock, head in zip(sockets, heads, strict=False):
                if head.endswith(b"{"):
                    with contextlib.suppress(OSError):
                        sock.send(b" ")

    trickler = threading.Thread(target=trickle, daemon=True)
    try:
        for head in heads:
            sock = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_DEADLINE)
            sockets.append(sock)
            if head:
                sock.sendall(head)
        trickler.start()
        yield sockets
    finally:
        stop.set()
        if trickler.is_alive():
            trickler.join(PROBE_DEADLINE)
        for sock in sockets:
            sock.close()


def assert_probes_answered(server: LiveServer, verify: str | bool = True) -> None:
    """Health, the control plane and a fresh /v2 request, each on a new connection, are answered."""
    url = server.url
    assert requests.get(url + "/healthz", timeout=PROBE_DEADLINE, verify=verify).status_code == 200
    control = requests.get(url + "/_control/faults", timeout=PROBE_DEADLINE, verify=verify)
    assert control.status_code == 200 and "faults" in control.json()
    missing = requests.get(
        url + "/v2/110011/agents/none", headers=HEADERS, timeout=PROBE_DEADLINE, verify=verify
    )
    assert missing.status_code == 404 and set(missing.json()) == {"message", "errors"}


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"LOGFILES_STORE": f"sqlite:///{tmp_path / 'stub.db'}", "LOGFILES_WORKERS": "2"}


@pytest.mark.parametrize("store", ["memory", "sqlite-2-workers"])
def test_5000_trickling_bodies_and_abandoned_waits_leave_every_probe_answered(
    launch: Callable[..., LiveServer], tmp_path: Path, store: str
) -> None:
    raise_files_limit(CLIENTS + 512)
    server = launch({} if store == "memory" else sqlite_env(tmp_path))
    heads = [WAIT_HEAD if i % (CLIENTS // WAITS) == 0 else BODY_HEAD for i in range(CLIENTS)]
    with crowd(server.port, heads):
        time.sleep(1)  # the server reads every head and starts every request
        assert_probes_answered(server)
        time.sleep(TRICKLE_SECONDS)  # and again once the bodies have trickled a byte more
        assert_probes_answered(server)
    # What is checked is checked: no graceful wait for a thousand abandoned waits to time out.
    server.stop(timeout=1)


def test_5000_stalled_tls_handshakes_leave_every_probe_answered(launch: Callable[..., LiveServer]) -> None:
    raise_files_limit(CLIENTS + 512)
    server = launch(tls=True)
    assert server.ca_file is not None
    with crowd(server.port, [b""] * CLIENTS):  # connected, no ClientHello: each waits in its handshake
        assert_probes_answered(server, verify=str(server.ca_file))


def test_past_the_connection_cap_the_slowest_holders_are_closed_not_the_newcomers(
    launch: Callable[..., LiveServer],
) -> None:
    cap = 600  # gunicorn's --worker-connections, small, so that 900 stalled bodies pass it
    raise_files_limit(2048)
    server = launch(args=("--worker-connections", str(cap)))
    stalled_head = BODY_HEAD.replace(b"{", b"")  # head only: no body byte ever comes
    # An upload that makes steady progress, started before the crowd: it is never the one closed.
    size = 64 * 1024
    container = requests.put(server.url + "/cloudfiles/v1/MossoCloudFS_110011/c", headers=HEADERS, timeout=10)
    assert container.status_code in (201, 202)
    upload = socket.create_connection(("127.0.0.1", server.port), timeout=PROBE_DEADLINE)
    upload.sendall(
        b"PUT /cloudfiles/v1/MossoCloudFS_110011/c/steady HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )

    def send_steadily() -> None:  # 1 KiB every 50 ms: about 3 s in all, while the crowd comes
        with contextlib.suppress(OSError):
            for _ in range(size // 1024):
                upload.sendall(b"x" * 1024)
                time.sleep(0.05)

    sender = threading.Thread(target=send_steadily, daemon=True)
    try:
        sender.start()
        with crowd(server.port, [stalled_head] * (cap * 3 // 2)) as sockets:
            assert_probes_answered(server)
            sender.join(PROBE_DEADLINE)
            answer = upload.recv(65536)
            assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
            # The worker closed some of the crowd without an answer: an end of stream, or a reset.
            closed = 0
            for sock in sockets:
                sock.settimeout(0)
                try:
                    closed += sock.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            assert closed >= cap // 2
        assert "slow connections" in server.output()
    finally:
        upload.close()
