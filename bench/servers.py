"""The servers the bench runs: the stub and its bare-Flask baseline under gunicorn, and seeding them.

Starting, readiness and stopping are logfiles/live.py's (the black-box tests use the same):
each server runs in its own session, so stopping its process group stops the master and its
workers alike.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from bench.scenarios import (
    CONFIG_AGENT,
    CONFIG_BODY,
    CONFIG_ID,
    CONFIG_PATH,
    FEED_AGENTS,
    FEED_EVENT,
    FEED_PROJECT,
    OBJECT_BODY,
    OBJECT_BYTES,
    OBJECT_GET_NAME,
    OBJECT_MD5,
    OBJECT_PROJECT,
    OBJECTS,
    TOKEN,
    Config,
)
from logfiles import live

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT = 60.0
# A start-up is timed to the first 200 on /healthz: a fine poll keeps the wait out of the number.
READY_POLL = 0.005


class BenchError(Exception):
    """A server or a tool did not do what the benchmark needs; the message says what."""


# What a misbehaving server or tool can raise; caught per part so one part cannot sink the rest.
FAILURES = (BenchError, OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError)


class Target(Protocol):
    """What the load and the seeding drive: one gunicorn server (`Server`), or instances behind
    nginx (`bench.stack.Stack`), reached at one URL."""

    name: str

    def launch(self) -> None: ...

    def wait_ready(self, timeout: float = ...) -> None: ...

    def stop(self) -> None: ...

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 120.0,
    ) -> tuple[int, bytes]: ...

    def url(self, path: str) -> str: ...

    def cpu_seconds(self) -> float:
        """CPU time of the app's processes (gunicorn masters and workers)."""
        ...

    def other_cpu_seconds(self) -> dict[str, float]:
        """CPU time of what else serves its requests (nginx, the database), by name."""
        ...


class Server:
    """One gunicorn master (and its workers), launched and stopped through logfiles.live."""

    def __init__(self, name: str, app: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.app = app
        self.env = dict(env)
        self.log_dir = log_dir
        self.port = live.free_port()
        self.live: live.LiveServer | None = None
        # Other processes whose CPU time its requests cost (the database server), by name.
        self.watch: dict[str, Callable[[], float]] = {}

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        if self.live is None:
            raise BenchError(f"{self.name}: not launched")
        return self.live.process

    def launch(self) -> None:
        # The stub's gunicorn.conf.py for both: the baseline gets identical gunicorn settings
        # (the control socket off included, so that servers side by side do not share one).
        self.live = live.start(
            live.gunicorn_command(self.app, "-c", "gunicorn.conf.py"),
            log_dir=self.log_dir,
            env=self.env,
            cwd=REPO,
            port=self.port,
            name=self.name,
            wait=False,
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll /healthz until a 200; fail early, with the log's tail, if gunicorn exits."""
        if self.live is None:
            raise BenchError(f"{self.name}: not launched")
        try:
            self.live.wait_ready(timeout, poll=READY_POLL)
        except live.StartError as exc:
            raise BenchError(f"{exc.reason}: {self.log_tail()}") from exc

    def start(self) -> Server:
        self.launch()
        self.wait_ready()
        return self

    def stop(self) -> None:
        """SIGTERM to the group (graceful, nothing is in flight), SIGKILL to it if it lingers."""
        if self.live is not None:
            self.live.stop()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 120.0,
    ) -> tuple[int, bytes]:
        return http_request(self.port, method, path, body, headers, timeout)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, lines: int = 5) -> str:
        """The log's last lines on one line, for a table cell."""
        if self.live is None:
            return "(no log)"
        return " | ".join(self.live.output().strip().splitlines()[-lines:]) or "(empty log)"

    def worker_pids(self) -> list[int]:
        """The master's children: gunicorn's workers."""
        return sorted(pid for pid, fields_ in _processes() if int(fields_[1]) == self.proc.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user and system) of the master, its workers, and any worker it has reaped.

        Under load from elsewhere a server gets less of the CPUs and serves fewer requests,
        but each request costs about the same CPU: per request, this is the steadier measure.
        """
        return tree_cpu_seconds(self.proc.pid)

    def other_cpu_seconds(self) -> dict[str, float]:
        return {name: read() for name, read in self.watch.items()}


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> tuple[int, bytes]:
    """One request to 127.0.0.1:`port` on a connection of its own: the status and the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def tree_cpu_seconds(parent: int) -> float:
    """CPU time (user and system) of `parent`, its live children and the children it has reaped.

    For a gunicorn master, nginx's master or PostgreSQL's postmaster (each backend is its child).
    """
    ticks = 0
    for pid, fields_ in _processes():
        if pid == parent:  # utime, stime, then its reaped children's cutime, cstime
            ticks += sum(int(n) for n in fields_[11:15])
        elif int(fields_[1]) == parent:
            ticks += int(fields_[11]) + int(fields_[12])
    return ticks / CLOCK_TICKS


def _processes() -> Iterator[tuple[int, list[str]]]:
    """Each process's pid and its /proc stat fields from the state on (field 3 is index 0)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue


@contextmanager
def running(*servers: Target) -> Iterator[None]:
    """Start every server (all or none) and stop them all, whatever happens."""
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.stop()


def stub(config: Config, log_dir: Path, env: Mapping[str, str] | None = None) -> Server:
    return Server(config.name, "wsgi:app", {**config.env, **(env or {})}, log_dir)


def baseline(config: Config, log_dir: Path, env: Mapping[str, str] | None = None) -> Server:
    """Bare Flask under the same LOGFILES_* (so the same workers and threads) as `config`."""
    return Server(f"baseline-{config.name}", "bench.baseline_app:app", {**config.env, **(env or {})}, log_dir)


# Seeding through the control plane.


def seed(server: Target, agents: Mapping[str, int], extra_agents: tuple[str, ...] = ()) -> dict[str, Any]:
    """POST /_control/state: the agents, then `generate` for each non-zero count."""
    document = {
        "agents": [{"id": a, "project_id": "p"} for a in (*agents, *extra_agents)],
        "generate": [{"agent_id": a, "count": n} for a, n in agents.items() if n],
    }
    status, body = server.request(
        "POST", "/_control/state", json.dumps(document).encode(), {"Content-Type": "application/json"}
    )
    if status != 200:
        raise BenchError(f"{server.name}: seeding answered {status}: {body[:300]!r}")
    answer: dict[str, Any] = json.loads(body)
    return answer


LIFETIME_HINT = "events are kept 10 minutes of service-clock time from seeding: fewer --rounds?"


def seed_feeds(server: Target) -> dict[str, tuple[int, int]]:
    """FEED_AGENTS in FEED_PROJECT with their events; each feed's (oldest, latest) event id.

    One document per agent (a document holds at most 100,000 events). The events take the
    service clock's time at seeding, so they are kept for 10 minutes of it: `check_feeds`
    tells whether they still are.
    """
    for document in feed_documents():
        status, body = server.request(
            "POST", "/_control/state", json.dumps(document).encode(), {"Content-Type": "application/json"}
        )
        if status != 200 or json.loads(body)["counts"]["events"] != len(document["events"]):
            raise BenchError(f"{server.name}: seeding the feeds' events answered {status}: {body[:300]!r}")
    return {name: feed_bounds(server, path) for name, path in feed_paths().items()}


def feed_documents() -> list[dict[str, Any]]:
    """The state documents `seed_feeds` posts, in order: one agent and its events each."""
    return [
        {
            "agents": [{"id": agent_id, "project_id": FEED_PROJECT}],
            "events": [{"agent_id": agent_id, "event": FEED_EVENT}] * count,
        }
        for agent_id, count in FEED_AGENTS.items()
    ]


def feed_paths() -> dict[str, str]:
    """Each feed the bench reads, by the name its scenarios' paths use for its latest id."""
    paths = {agent_id: f"/v2/{FEED_PROJECT}/agents/{agent_id}/events" for agent_id in FEED_AGENTS}
    return {**paths, FEED_PROJECT: f"/v2/{FEED_PROJECT}/events"}


def feed_bounds(server: Target, path: str) -> tuple[int, int]:
    """The oldest and the latest event id a feed lists (BenchError if it lists none)."""
    bounds = []
    for query in ("limit=1&sort_dir=asc", "limit=1&sort_dir=desc"):  # each feed's default aside
        status, body = server.request("GET", f"{path}?{query}", headers=TOKEN)
        if status != 200:
            raise BenchError(f"{server.name}: GET {path}?{query} answered {status}: {body[:300]!r}")
        events = json.loads(body)["events"]
        if not events:
            raise BenchError(f"{server.name}: {path} lists no event ({LIFETIME_HINT})")
        bounds.append(int(events[0]["id"]))
    return bounds[0], bounds[1]


def check_feeds(server: Target, seeded: Mapping[str, tuple[int, int]]) -> None:
    """BenchError unless every feed still lists the events seeded (none expired, none added)."""
    for name, path in feed_paths().items():
        now = feed_bounds(server, path)
        if now != seeded[name]:
            raise BenchError(
                f"{server.name}: {path} now lists events {now[0]}-{now[1]}, not {seeded[name][0]}-"
                f"{seeded[name][1]} ({LIFETIME_HINT})"
            )


def configuration_document() -> dict[str, Any]:
    """The state document `seed_configuration` posts: the create page's example body for a10."""
    return {"configurations": [{**CONFIG_BODY, "id": CONFIG_ID, "agent_id": CONFIG_AGENT}]}


def seed_configuration(server: Target) -> None:
    """The configuration rows' configuration (seeding emits no event), then a check it is served."""
    document = json.dumps(configuration_document()).encode()
    status, body = server.request("POST", "/_control/state", document, {"Content-Type": "application/json"})
    if status != 200 or json.loads(body)["counts"]["documents"] != 1:
        raise BenchError(f"{server.name}: seeding the configuration answered {status}: {body[:300]!r}")
    status, body = server.request("GET", CONFIG_PATH, headers=TOKEN)
    if status != 200:
        raise BenchError(f"{server.name}: GET {CONFIG_PATH} answered {status}: {body[:300]!r}")


# Where the configuration rows' events go: its project's feed (newest first by default).
CONFIG_EVENTS = "/v2/p/events"


def latest_event(server: Target, path: str = CONFIG_EVENTS) -> int:
    """The latest event id a feed lists, 0 when it lists none."""
    status, body = server.request("GET", f"{path}?limit=1&sort_dir=desc", headers=TOKEN)
    if status != 200:
        raise BenchError(f"{server.name}: GET {path} answered {status}: {body[:300]!r}")
    events = json.loads(body)["events"]
    return int(events[0]["id"]) if events else 0


def check_writes(server: Target, before: int, answered: int) -> int:
    """BenchError unless the configuration PATCHes emitted at least one event per 204 wrk counted
    (each was a write: none a same-value retry) and the project's latest is the configuration's;
    the events emitted since `before`. Nothing else writes while the row runs."""
    after = latest_event(server)
    own = latest_event(server, f"{CONFIG_PATH}/events")
    if own != after or after - before < answered:
        raise BenchError(
            f"{server.name}: {after - before:,} events (the configuration's latest {own}, the project's"
            f" {after}) for {answered:,} PATCHes answered: some changed nothing"
        )
    return after - before


def generate(server: Target, agent: str, count: int) -> None:
    document = {"generate": [{"agent_id": agent, "count": count}]}
    status, body = server.request(
        "POST", "/_control/state", json.dumps(document).encode(), {"Content-Type": "application/json"}
    )
    if status != 200:
        raise BenchError(f"{server.name}: generate answered {status}: {body[:300]!r}")


def first_logfile(server: Target, agent: str = "a10") -> str:
    status, body = server.request("GET", f"/v2/p/agents/{agent}/logfiles?limit=1", headers=TOKEN)
    if status != 200:
        raise BenchError(f"{server.name}: list answered {status}: {body[:300]!r}")
    logfile_id: str = json.loads(body)["logfiles"][0]["id"]
    return logfile_id


def object_document() -> dict[str, Any]:
    """The state document `seed_object` posts: the GET row's object with its bytes."""
    item = {
        "project_id": OBJECT_PROJECT,
        "name": OBJECT_GET_NAME,
        "content_base64": base64.b64encode(OBJECT_BODY).decode("ascii"),
    }
    return {"objects": [item]}


def seed_object(server: Server) -> None:
    """The GET row's 1 MiB object (OBJECT_BODY), through /_control/state's `objects`."""
    document = json.dumps(object_document()).encode()
    status, body = server.request("POST", "/_control/state", document, {"Content-Type": "application/json"})
    if status != 200 or json.loads(body)["counts"]["objects"] != 1:
        raise BenchError(f"{server.name}: seeding the object answered {status}: {body[:300]!r}")
    check_object(server, f"{OBJECTS}/{OBJECT_GET_NAME}")


def check_object(server: Server, path: str) -> None:
    """BenchError unless HEAD says the object holds OBJECT_BODY (its size and MD5)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("HEAD", path, headers=TOKEN)
        response = conn.getresponse()
        response.read()
        size, etag = response.getheader("Content-Length"), response.getheader("ETag")
    finally:
        conn.close()
    if response.status != 200 or size != str(OBJECT_BYTES) or etag != OBJECT_MD5:
        raise BenchError(
            f"{server.name}: HEAD {path} answered {response.status}, {size} bytes, ETag {etag}"
            f" (expected 200, {OBJECT_BYTES}, {OBJECT_MD5})"
        )
