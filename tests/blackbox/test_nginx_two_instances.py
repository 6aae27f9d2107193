"""Two gunicorn instances behind nginx on one store (examples/nginx/): one world, whichever door.

What a request changes through instance A, instance B or nginx is what the others show: agents,
log files, agent tokens, objects, and the control plane (clock, faults, journal, reset), since
every instance keeps all of it in the shared store. nginx's part is checked too: links lead
back through it, 64 MiB uploads stream through, and a dropped connection is not retried away.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.blackbox.conftest import START_DEADLINE, free_port
from tests.blackbox.nginx_stack import NGINX, RUN_PY, Stack, example, needs_nginx, open_stack
from tests.conftest import JSON_PATCH, PROJECT, REGISTRATION, TOKEN, state_patch

pytestmark = needs_nginx
AUTH = {"X-Auth-Token": TOKEN}
PATCH = {**AUTH, "Content-Type": JSON_PATCH}
FROZEN = "2014-09-23T12:22:40.606703Z"
MiB = 1024 * 1024
TIMEOUT = 30


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store both instances open: one SQLite file on this host, or one PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def stack(shared_store: str, tmp_path: Path) -> Iterator[Stack]:
    """Instances A and B (2 workers each) on `shared_store`, nginx in front; all stopped after."""
    with open_stack(shared_store, tmp_path) as opened:
        yield opened


def test_agents_log_files_and_tokens_are_one_world_from_every_door(stack: Stack) -> None:
    a, b, front = stack.a.url, stack.b.url, stack.nginx.url
    session = requests.Session()
    created = session.post(f"{a}/v2/{PROJECT}/agents", json=REGISTRATION, headers=AUTH, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    agent_id, password = created.json()["id"], created.json()["password"]
    requested = session.post(f"{a}/v2/{PROJECT}/agents/{agent_id}/logfiles", headers=AUTH, timeout=TIMEOUT)
    assert requested.status_code == 202, requested.text
    path = f"/v2/{PROJECT}/agents/{agent_id}/logfiles/{requested.json()['id']}"

    for door in (b, front):
        got = session.get(door + path, headers=AUTH, timeout=TIMEOUT)
        assert got.status_code == 200 and got.json()["state"] == "requested", got.text
        # Links are built on the Host the client used: through nginx they lead back through it.
        assert got.json()["links"] == [{"href": door + path, "rel": "self"}]

    patched = session.patch(front + path, data=json.dumps(state_patch("started")), headers=PATCH)
    assert patched.status_code == 204, patched.text
    for door in (a, b):
        assert session.get(door + path, headers=AUTH, timeout=TIMEOUT).json()["state"] == "started"

    # The agent authenticates at B with the password A showed, and its token works at A.
    credentials = {"id": agent_id, "password": password, "host": REGISTRATION["host"]}
    issued = session.post(f"{b}/v2/{PROJECT}/agents/tokens", json=credentials, timeout=TIMEOUT)
    assert issued.status_code == 200, issued.text
    as_agent = {"X-Auth-Token": issued.json()["token"]["id"], "X-Agent-Id": agent_id}
    feed = session.get(f"{a}/v2/{PROJECT}/agents/{agent_id}/events", headers=as_agent, timeout=TIMEOUT)
    assert feed.status_code == 200, feed.text
    assert [e["event"] for e in feed.json()["events"]] == [
        "agent_registered",
        "logfile_upload",
        "logfile_started",
    ]
    done = session.patch(
        front + path,
        data=json.dumps(state_patch("completed")),
        headers={**as_agent, "Content-Type": JSON_PATCH},
    )
    assert done.status_code == 204, done.text
    for door in (a, b, front):
        assert session.get(door + path, headers=AUTH, timeout=TIMEOUT).json()["state"] == "completed"

    # nginx spread its requests over both instances.
    assert stack.upstreams_used() == {f"127.0.0.1:{stack.a.port}", f"127.0.0.1:{stack.b.port}"}


def test_the_control_plane_through_one_door_is_seen_through_the_others(stack: Stack) -> None:
    a, b, front = stack.a.url, stack.b.url, stack.nginx.url
    seeded = requests.post(
        f"{b}/_control/state", json={"agents": [{"id": "agent-1", "project_id": PROJECT}]}, timeout=TIMEOUT
    )
    assert seeded.status_code == 200, seeded.text
    agent = f"/v2/{PROJECT}/agents/agent-1"

    # The clock, frozen at A: B shows it, and a log file requested through nginx is dated by it.
    assert requests.post(f"{a}/_control/clock", json={"freeze": FROZEN}, timeout=TIMEOUT).status_code == 200
    # The dashboard's page served through nginx may change the control plane (the instance
    # sees nginx's Host, so the page's Origin is its own); a page from A may not, through nginx.
    for origin, status in ((front, 200), (a, 403)):
        changed = requests.post(
            f"{front}/_control/clock", json={"freeze": FROZEN}, headers={"Origin": origin}, timeout=TIMEOUT
        )
        assert changed.status_code == status, changed.text
    assert requests.get(f"{b}/_control/clock", timeout=TIMEOUT).json()["now"] == FROZEN
    requested = requests.post(f"{front}{agent}/logfiles", headers=AUTH, timeout=TIMEOUT)
    assert requested.status_code == 202 and requested.json()["date"] == FROZEN, requested.text

    # A fault added at B fires at A and through nginx, and its counts are one rule's.
    rule: dict[str, Any] = {"method": "GET", "path": agent, "status": 503, "times": 2}
    rule_id = requests.post(f"{b}/_control/faults", json=rule, timeout=TIMEOUT).json()["id"]
    statuses = [
        requests.get(door + agent, headers=AUTH, timeout=TIMEOUT).status_code for door in (a, front, front, a)
    ]
    assert statuses == [503, 503, 200, 200]
    (listed,) = requests.get(f"{front}/_control/faults", timeout=TIMEOUT).json()["faults"]
    assert (listed["matched"], listed["fired"]) == (4, 2)

    # A dropped connection reaches the client as nginx's 502: not retried on the other instance
    # (which would answer 200, the rule having fired).
    drop = {"action": "drop", "method": "GET", "path": agent}
    assert requests.post(f"{a}/_control/faults", json=drop, timeout=TIMEOUT).status_code == 201
    assert requests.get(front + agent, headers=AUTH, timeout=TIMEOUT).status_code == 502
    assert requests.get(front + agent, headers=AUTH, timeout=TIMEOUT).status_code == 200

    # One journal: every door's requests, with the faults that answered them.
    journal = requests.get(f"{b}/_control/requests", params={"path": agent}, timeout=TIMEOUT).json()
    entries = [(e["status"], e["fault"] == rule_id) for e in journal["requests"]]
    assert entries == [(503, True), (503, True), (200, False), (200, False), (0, False), (200, False)]

    # A reset through nginx empties the world for A and B alike, clock included.
    assert requests.post(f"{front}/_control/reset", timeout=TIMEOUT).status_code == 204
    for door in (a, b):
        assert requests.get(door + agent, headers=AUTH, timeout=TIMEOUT).status_code == 404
        assert requests.get(f"{door}/_control/clock", timeout=TIMEOUT).json()["frozen"] is False


def test_a_64_mib_upload_streams_through_nginx_and_either_instance_serves_it(stack: Stack) -> None:
    container = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/CloudBackupLogs"
    limit = 64 * MiB  # LOGFILES_MAX_OBJECT_BYTES' default, and so nginx's client_max_body_size
    digest = hashlib.md5(usedforsecurity=False)

    def body() -> Iterator[bytes]:  # chunked: nginx passes it on as it comes
        block = os.urandom(MiB)
        for number in range(limit // MiB):
            piece = block[:-4] + number.to_bytes(4, "big")
            digest.update(piece)
            yield piece

    put = requests.put(f"{stack.nginx.url}{container}/big.gz", data=body(), headers=AUTH, timeout=TIMEOUT)
    assert put.status_code == 201, put.text
    assert put.headers["ETag"] == digest.hexdigest()
    for server in (stack.a, stack.b):
        head = requests.head(f"{server.url}{container}/big.gz", headers=AUTH, timeout=TIMEOUT)
        assert head.headers["ETag"] == digest.hexdigest()
        assert head.headers["Content-Length"] == str(limit)
    read = hashlib.md5(usedforsecurity=False)
    with requests.get(
        f"{stack.nginx.url}{container}/big.gz", headers=AUTH, stream=True, timeout=TIMEOUT
    ) as got:
        for chunk in got.iter_content(MiB):
            read.update(chunk)
    assert read.hexdigest() == digest.hexdigest()

    # One byte more: nginx refuses it, by its length or as it streams, with the stub's own
    # answer, and nothing is stored.
    too_much = b"\0" * (limit + 1)
    refusal = requests.put(f"{stack.a.url}{container}/over.gz", data=too_much, headers=AUTH, timeout=TIMEOUT)
    assert refusal.status_code == 413, refusal.text

    def chunked() -> Iterator[bytes]:
        for _ in range(limit // MiB + 1):
            yield bytes(MiB)

    for data in (too_much, chunked()):
        over = requests.put(f"{stack.nginx.url}{container}/over.gz", data=data, headers=AUTH, timeout=TIMEOUT)
        assert over.status_code == 413, over.text
        assert over.json() == refusal.json()
    stored = requests.head(f"{stack.b.url}{container}/over.gz", headers=AUTH, timeout=TIMEOUT)
    assert stored.status_code == 404


def test_the_config_has_a_user_only_for_a_root_master_and_every_placeholder_filled() -> None:
    text = example.render_config(Path("/srv/x"), 8080, [8081, 8082], user=None)
    assert not re.search(r"^\s*user\s", text, re.MULTILINE)
    assert "listen 127.0.0.1:8080;" in text
    assert "server 127.0.0.1:8081 " in text and "server 127.0.0.1:8082 " in text
    assert "pid /srv/x/nginx.pid;" in text and "proxy_temp_path /srv/x/proxy_temp;" in text
    for directive in (
        "client_max_body_size 67108864;",
        "proxy_request_buffering off;",
        "proxy_http_version 1.1;",
    ):
        assert directive in text
    assert not re.search(r"@[A-Z_]+@", text)
    with_user = example.render_config(Path("/srv/x"), 8080, [8081], user="nobody nogroup", max_body=1000)
    assert re.search(r"^user nobody nogroup;$", with_user, re.MULTILINE)
    assert "client_max_body_size 1000;" in with_user and "more than 1,000 bytes" in with_user
    command = example.nginx_command(NGINX, Path("/srv/x"), Path("/srv/x/nginx.conf"))
    assert command[1:5] == ["-p", "/srv/x/", "-c", "/srv/x/nginx.conf"]
    assert command[-2:] == ["-g", "daemon off;"]


@dataclass
class RunPy:
    process: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, line: str, timeout: float = 2 * START_DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.text():
            code = self.process.poll()
            assert code is None, f"run.py exited with status {code}:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {line!r} from run.py:\n{self.text()}"
            time.sleep(0.05)

    def children(self) -> dict[str, int]:
        """What run.py said it started: name -> pid."""
        return {name: int(pid) for name, pid in re.findall(r"^started (.+?) pid (\d+) ", self.text(), re.M)}


@pytest.fixture
def run_py(tmp_path: Path) -> Iterator[Callable[..., RunPy]]:
    """Start examples/nginx/run.py; stopped after (SIGTERM, then SIGKILL to it and what it started)."""
    started: list[RunPy] = []

    def _start(*args: str, store: str) -> RunPy:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFILES_")}
        env["LOGFILES_STORE"] = store
        output = tmp_path / f"run-py-{len(started)}.out"
        with output.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, str(RUN_PY), *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(RunPy(process, output))
        return started[-1]

    yield _start
    for run in started:
        if run.process.poll() is None:
            run.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.process.wait(TIMEOUT)
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait(TIMEOUT)
            # run.py did not stop its children: they are orphans now, still alive, so their pids
            # are still theirs. Only ours: the command line says gunicorn or nginx.
            for pid in run.children().values():
                with contextlib.suppress(OSError):
                    if re.search(rb"gunicorn|nginx", Path(f"/proc/{pid}/cmdline").read_bytes()):
                        os.killpg(pid, signal.SIGKILL)


def test_run_py_serves_through_nginx_and_ctrl_c_stops_all_three(
    run_py: Callable[..., RunPy], tmp_path: Path
) -> None:
    front, port_a, port_b = free_port(), free_port(), free_port()
    run = run_py(
        "--port",
        str(front),
        "--instance-ports",
        f"{port_a},{port_b}",
        store=f"sqlite:///{tmp_path / 'shared.db'}",
    )
    run.wait_for("Ctrl-C stops all")
    children = run.children()
    assert set(children) == {"instance a", "instance b", "nginx"}
    created = requests.post(
        f"http://127.0.0.1:{port_a}/v2/{PROJECT}/agents", json=REGISTRATION, headers=AUTH, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    through = requests.get(f"http://127.0.0.1:{front}/v2/{PROJECT}/agents", headers=AUTH, timeout=TIMEOUT)
    assert [agent["id"] for agent in through.json()["agents"]] == [created.json()["id"]]
    prefix = Path(re.findall(r"^logs in (\S+);", run.text(), re.M)[0])
    assert (prefix / "nginx.conf").is_file()

    run.process.send_signal(signal.SIGINT)  # what Ctrl-C sends it
    assert run.process.wait(TIMEOUT) == 0, run.text()
    assert re.search(r"stopped nginx\nstopped instance a\nstopped instance b\n", run.text()), run.text()
    for pid in children.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # the group: master and workers alike
    for port in (front, port_a, port_b):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT)
    assert not prefix.exists()  # its own directory, removed after a clean stop


def test_run_py_refuses_the_memory_store(run_py: Callable[..., RunPy]) -> None:
    run = run_py("--port", str(free_port()), store="memory")
    assert run.process.wait(TIMEOUT) == 2
    assert "two instances need a store they share" in run.text()
    assert "started" not in run.text()
