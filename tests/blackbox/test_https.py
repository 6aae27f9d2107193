"""HTTPS as users run it: `gunicorn wsgi:app` (gevent workers), `logfiles-stub serve` and `python app.py`.

Every server is started through the `launch` fixture (stopped when the test ends); with
`tls=True` it makes its CA at start and writes the CA's certificate into the test's
directory, which the clients here trust (`verify=`), and nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import trustme

from logfiles.worker import HANDSHAKE_TIMEOUT
from tests.blackbox.conftest import LiveServer
from tests.blackbox.test_entry_config_errors import CLI, CONFIG_ERROR_STATUS, ENTRY_POINTS, stopped_output
from tests.conftest import REGISTRATION

HEADERS = {"X-Auth-Token": "token", "Content-Type": "application/json"}
DEADLINE = 10.0  # seconds for an answer: any machine, short of a hang


def sqlite(tmp_path: Path, workers: int = 2) -> dict[str, str]:
    return {"LOGFILES_STORE": f"sqlite:///{tmp_path / 'stub.db'}", "LOGFILES_WORKERS": str(workers)}


def verify(server: LiveServer) -> str:
    assert server.ca_file is not None
    return str(server.ca_file)


def peer_certificate(server: LiveServer) -> bytes:
    """One new connection's GET /healthz (200); the certificate the server presented."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=server.ssl_context(), timeout=DEADLINE
    )
    try:
        connection.request("GET", "/healthz")
        assert isinstance(connection.sock, ssl.SSLSocket)
        der = connection.sock.getpeercert(binary_form=True)  # before the answer may close it
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert der
    return der


def served_certificate(server: LiveServer) -> bytes:
    """peer_certificate, failing with the server's log if there is no answer."""
    try:
        return peer_certificate(server)
    except OSError as exc:  # http.client's RemoteDisconnected included
        pytest.fail(f"no answer ({exc!r}); the server's log:\n{server.output()}")


def test_two_gevent_workers_serve_one_certificate_and_every_link_says_https(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(sqlite(tmp_path), args=("--access-logformat", "pid=%(p)s %(r)s %(s)s"), tls=True)
    base = f"https://127.0.0.1:{server.port}"
    assert server.url == base
    assert (
        f"trust it with its certificate: {server.ca_file} (curl --cacert {server.ca_file})" in server.output()
    )
    assert f"Listening at: {base}" in server.output()

    # Both workers answer, each on new connections, with the one certificate made in the master.
    seen: set[bytes] = set()
    for _ in range(200):
        seen.add(peer_certificate(server))
        if len(set(re.findall(r"pid=<(\d+)> GET /healthz", server.output()))) == 2:
            break
    assert len(set(re.findall(r"pid=<(\d+)> GET /healthz", server.output()))) == 2, server.output()
    assert len(seen) == 1

    # verify= on each request: a Session's `verify` loses to REQUESTS_CA_BUNDLE in the environment.
    session = requests.Session()
    ca = verify(server)
    assert session.get(f"{base}/healthz", verify=ca, timeout=DEADLINE).status_code == 200
    agent = session.post(
        f"{base}/v2/110011/agents", json=REGISTRATION, headers=HEADERS, verify=ca, timeout=DEADLINE
    )
    assert agent.status_code == 201
    assert agent.headers["Location"] == f"{base}/v2/110011/agents/{agent.json()['id']}"
    requested = session.post(
        agent.headers["Location"] + "/logfiles", headers=HEADERS, verify=ca, timeout=DEADLINE
    )
    assert requested.status_code == 202
    location = requested.headers["Location"]
    assert location.startswith(f"{base}/v2/110011/agents/{agent.json()['id']}/logfiles/")
    assert requested.json()["links"] == [{"href": location, "rel": "self"}]
    feed = session.get(f"{base}/v2/110011/events", headers=HEADERS, verify=ca, timeout=DEADLINE).json()
    assert feed["links"] and all(
        link["href"].startswith(f"{base}/v2/110011/events") for link in feed["links"]
    )
    (version,) = session.get(f"{base}/", verify=ca, timeout=DEADLINE).json()["versions"]
    assert version["links"] == [{"href": f"{base}/v2", "rel": "self"}]
    assert "Traceback" not in server.output()


def test_plain_http_to_the_tls_port_gets_no_answer_from_the_app(launch: Callable[..., LiveServer]) -> None:
    server = launch(args=("--access-logformat", "%(r)s %(s)s"), tls=True)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/healthz?plain", timeout=DEADLINE)
    assert requests.get(f"{server.url}/healthz", verify=verify(server), timeout=DEADLINE).status_code == 200
    output = server.output()
    assert "?plain" not in output  # not in the access log: the app never saw it
    assert re.search(r"TLS handshake with 127\.0\.0\.1:\d+ failed: \[SSL: HTTP_REQUEST\]", output), output
    assert "Traceback" not in output


def test_a_client_without_the_ca_fails_verification(launch: Callable[..., LiveServer]) -> None:
    server = launch(tls=True)
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{server.url}/healthz", timeout=DEADLINE)  # the system's CAs only
    # The right CA, a name the certificate does not carry.
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        server.ssl_context().wrap_socket(raw, server_hostname="example.com")
    assert requests.get(f"{server.url}/healthz", verify=verify(server), timeout=DEADLINE).status_code == 200
    assert "TLS handshake with 127.0.0.1:" in server.output()
    assert "Traceback" not in server.output()


def test_given_certificate_and_key_are_served(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    authority = trustme.CA()
    leaf = authority.issue_cert("127.0.0.1")
    ca, cert, key = tmp_path / "ours-ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    authority.cert_pem.write_to_path(ca)
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    server = launch({"LOGFILES_TLS_CERT": str(cert), "LOGFILES_TLS_KEY": str(key)}, ca_file=ca)
    assert server.url.startswith("https://127.0.0.1:")
    agent = requests.post(
        f"{server.url}/v2/110011/agents", json=REGISTRATION, headers=HEADERS, verify=str(ca), timeout=DEADLINE
    )
    assert agent.status_code == 201 and agent.headers["Location"].startswith(
        f"{server.url}/v2/110011/agents/"
    )
    assert f"serving https with the certificate {cert} (key {key})" in server.output()
    assert "throw-away CA" not in server.output()


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    """The server's TMPDIR: where its default CA file and its private key directory go."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    return directory


def private_dirs(temp_dir: Path) -> list[Path]:
    return sorted(temp_dir.glob("logfiles-tls-*"))


def serving_pids(server: LiveServer) -> set[str]:
    """Workers that have answered (access log format `pid=%(p)s ...`): booted, signal handlers set."""
    return set(re.findall(r"pid=<(\d+)> ", server.output()))


def booted(server: LiveServer) -> set[str]:
    return set(re.findall(r"Booting worker with pid: (\d+)", server.output()))


def until(
    condition: Callable[[], bool], server: LiveServer, action: Callable[[], object] | None = None
) -> None:
    """Do `action` (default: wait a little) until `condition` holds; fail with the log after 30 s."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, server.output()
        if action is None:
            time.sleep(0.05)
        else:
            action()


def test_a_replaced_worker_serves_the_same_certificate_and_the_key_goes_at_exit(
    launch: Callable[..., LiveServer], tmp_path: Path, temp_dir: Path
) -> None:
    """A worker that exits (here on SIGTERM, running the exit handlers) must not take the key with it.

    Also: without LOGFILES_TLS_CA_FILE the CA goes to logfiles-ca.pem in the temp dir. Every
    signal goes to a worker that has answered: gunicorn loses one that reaches a worker still
    booting (it has the master's handlers until it sets its own).
    """
    env = {**sqlite(tmp_path), "LOGFILES_TLS": "on", "TMPDIR": str(temp_dir)}
    server = launch(
        env, args=("--access-logformat", "pid=%(p)s %(r)s %(s)s"), ca_file=temp_dir / "logfiles-ca.pem"
    )
    (directory,) = private_dirs(temp_dir)
    assert directory.stat().st_mode & 0o777 == 0o700
    first = served_certificate(server)

    def same_certificate() -> None:
        assert served_certificate(server) == first

    until(lambda: len(serving_pids(server)) == 2, server, same_certificate)
    old = sorted(serving_pids(server))[0]
    os.kill(int(old), signal.SIGTERM)  # a worker of the server this test started
    until(lambda: f"Worker exiting (pid: {old})" in server.output() and len(booted(server)) == 3, server)
    (new,) = booted(server) - serving_pids(server)
    until(lambda: new in serving_pids(server), server, same_certificate)  # it loaded the key
    assert "Traceback" not in server.output(), server.output()
    status = server.stop()
    if private_dirs(temp_dir):
        pytest.fail(f"the key's directory outlived the server (status {status}); its log:\n{server.output()}")
    assert (temp_dir / "logfiles-ca.pem").exists()  # the client's copy stays


def test_a_stopping_worker_answers_a_connection_it_accepted_before_the_handshake(
    launch: Callable[..., LiveServer],
) -> None:
    """A worker told to stop closes its listener, then serves what it accepted; a handshake may end later."""
    server = launch(tls=True)  # one worker, which has answered the readiness probe
    (worker,) = booted(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as raw:
        time.sleep(0.2)  # accepted: its greenlet waits for the ClientHello
        os.kill(int(worker), signal.SIGTERM)  # a worker of the server this test started
        time.sleep(2.5)  # the worker's loop notices within a second and closes its listener
        with server.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = tls.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 "), server.output()
    until(lambda: f"Worker exiting (pid: {worker})" in server.output(), server)
    until(lambda: server.answers(), server)  # its replacement has booted: safe to stop
    assert "Traceback" not in server.output(), server.output()


def test_a_reload_keeps_the_certificate_clients_trust(
    launch: Callable[..., LiveServer], temp_dir: Path
) -> None:
    """SIGHUP makes gunicorn read gunicorn.conf.py again and replace the workers: same CA, same key."""
    server = launch({"TMPDIR": str(temp_dir)}, tls=True)
    ca_before = verify(server)
    ca_pem = Path(ca_before).read_bytes()
    first = peer_certificate(server)
    (old,) = re.findall(r"Booting worker with pid: (\d+)", server.output())
    os.kill(server.process.pid, signal.SIGHUP)  # the master this test started
    deadline = time.monotonic() + 30
    while f"Worker exiting (pid: {old})" not in server.output():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    assert len(re.findall(r"Booting worker with pid: (\d+)", server.output())) == 2
    assert peer_certificate(server) == first  # served by the new worker
    assert Path(ca_before).read_bytes() == ca_pem
    assert len(private_dirs(temp_dir)) == 1
    assert server.output().count("curl --cacert") == 2  # the line again, same file
    assert "Traceback" not in server.output()


@pytest.mark.parametrize("entry", ["logfiles-stub serve", "python app.py"])
def test_other_entry_points_serve_https_too(
    launch: Callable[..., LiveServer], entry: str, temp_dir: Path
) -> None:
    server = launch({"TMPDIR": str(temp_dir)}, command=ENTRY_POINTS[entry], tls=True)
    agent = requests.post(
        f"{server.url}/v2/110011/agents",
        json=REGISTRATION,
        headers=HEADERS,
        verify=verify(server),
        timeout=DEADLINE,
    )
    assert agent.status_code == 201 and agent.headers["Location"].startswith(
        f"{server.url}/v2/110011/agents/"
    )
    assert f"curl --cacert {server.ca_file}" in server.output()
    server.stop()
    assert private_dirs(temp_dir) == []  # the key went with the server


def test_cli_options_serve_https_and_client_commands_take_the_ca(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    import subprocess

    ca = tmp_path / "cli-ca.pem"
    server = launch(command=(*CLI, "serve", "--tls", "--tls-ca-file", str(ca)), ca_file=ca)
    assert server.url.startswith("https://")
    trusted = subprocess.run(
        [*CLI, "export", "--url", server.url, "--ca-file", str(ca)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert trusted.returncode == 0, trusted.stderr
    assert '"agents": []' in trusted.stdout
    untrusted = subprocess.run(
        [*CLI, "reset", "--url", server.url], capture_output=True, text=True, timeout=60
    )
    assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    missing = subprocess.run(
        [*CLI, "reset", "--url", server.url, "--ca-file", str(tmp_path / "nope.pem")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (missing.returncode, missing.stderr) == (
        2,
        f"logfiles-stub: --ca-file {tmp_path / 'nope.pem'}: no such file\n",
    )


@contextlib.contextmanager
def silent_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=DEADLINE))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_clients_that_never_finish_a_handshake_do_not_stop_others_and_are_dropped(
    launch: Callable[..., LiveServer],
) -> None:
    server = launch(tls=True)  # the memory store: one worker
    with silent_connections(server.port, 32) as stalled:
        stalled[0].sendall(b"\x16\x03\x01\x02\x00")  # the start of a ClientHello, and no more
        assert (
            requests.get(f"{server.url}/healthz", verify=verify(server), timeout=DEADLINE).status_code == 200
        )
        started = time.monotonic()
        for sock in stalled:
            sock.settimeout(HANDSHAKE_TIMEOUT + DEADLINE)
            assert sock.recv(1) == b""  # closed by the server
        assert time.monotonic() - started < HANDSHAKE_TIMEOUT + DEADLINE
    assert f"no TLS handshake within {HANDSHAKE_TIMEOUT:g} s" in server.output()
    assert "Traceback" not in server.output()


def bad_pair(tmp_path: Path) -> dict[str, str]:
    authority = trustme.CA()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    authority.issue_cert("127.0.0.1").cert_chain_pems[0].write_to_path(cert)
    authority.issue_cert("127.0.0.1").private_key_pem.write_to_path(key)
    return {"LOGFILES_TLS_CERT": str(cert), "LOGFILES_TLS_KEY": str(key)}


BAD = {
    "cert without key": (
        lambda tmp: {"LOGFILES_TLS_CERT": str(tmp / "cert.pem")},
        "LOGFILES_TLS_KEY: must be set",
    ),
    "key of another certificate": (bad_pair, "LOGFILES_TLS_KEY: '"),
    "CA file in no directory": (
        lambda tmp: {"LOGFILES_TLS": "on", "LOGFILES_TLS_CA_FILE": str(tmp / "none" / "ca.pem")},
        "LOGFILES_TLS_CA_FILE: cannot write the CA certificate to ",
    ),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD)
def test_bad_tls_configuration_stops_every_entry_point_with_one_line(
    launch: Callable[..., LiveServer], tmp_path: Path, entry: str, case: str
) -> None:
    make_env, start = BAD[case]
    server = launch(env=make_env(tmp_path), command=ENTRY_POINTS[entry], wait=False)
    status, output = stopped_output(server)  # within its DEADLINE, or the test fails
    assert status == CONFIG_ERROR_STATUS, output
    assert output.startswith(f"logfiles: configuration error: {start}"), output
    assert output.count("\n") == 1 and output.endswith("\n"), output
