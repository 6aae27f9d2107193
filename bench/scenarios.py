"""What the bench drives: request shapes (scenarios), the stub's configurations, and the row ids."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TOKEN = {"X-Auth-Token": "t"}
PATCH_BODY = b'[{"op":"replace","path":"/state","value":"started"}]'
PATCH_HEADERS = {**TOKEN, "Content-Type": "application/json-patch+json"}
# The long PATCH rows: the same operation 100 and 10,000 times in one document (as
# bench/lua/patch.lua builds it from its count argument), a same-value retry once the first is in.
PATCH_OPERATION = PATCH_BODY[1:-1]


def patch_body(operations: int) -> bytes:
    """A PATCH document of `operations` copies of the PATCH row's one operation."""
    return b"[" + b",".join([PATCH_OPERATION] * operations) + b"]"


# The object rows: 1 MiB, the pattern bench/lua/objput.lua repeats (the same bytes on the wire),
# uploaded by PUT and, seeded through /_control/state, downloaded by GET; the baseline's are canned.
OBJECT_PATTERN = b"0123456789abcdef"
OBJECT_BYTES = 1024 * 1024
OBJECT_BODY = OBJECT_PATTERN * (OBJECT_BYTES // len(OBJECT_PATTERN))
OBJECT_MD5 = hashlib.md5(OBJECT_BODY, usedforsecurity=False).hexdigest()
OBJECT_PROJECT = "p"
OBJECT_CONTAINER = "CloudBackupLogs"  # exists in every project
OBJECTS = f"/cloudfiles/v1/MossoCloudFS_{OBJECT_PROJECT}/{OBJECT_CONTAINER}"
OBJECT_PUT_NAME = "bench/put"
OBJECT_GET_NAME = "bench/get"
OBJECT_PUT_HEADERS = {**TOKEN, "Content-Length": str(OBJECT_BYTES)}
# glibc malloc for the object rows' servers, stub and baseline alike (run.py --default-malloc
# leaves it out). Under glibc's defaults, gunicorn's buffering of a 1 MiB body (up to 1 MiB per
# recv, copied again at every 64 KiB read) grows and trims the heap's top on every upload, and
# whether a process then pays ~1,500 page faults (~4 ms of system time) per upload depends on
# what else it happens to hold: fixed thresholds keep both sides out of that lottery.
OBJECT_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(64 * 2**20)}
# wrk's connections for the object rows (run.py --object-connections), 1 MiB in flight on each:
# see bench/README.md for why fewer than the other rows' 16.
OBJECT_CONNECTIONS = 4
# Agents the load scenarios read (id -> log files generated), and the one POST writes to,
# so that POSTs never change what the list scenarios page through.
LIST_AGENTS = {"a10": 10, "a1k": 1_000, "a100k": 100_000}
POST_AGENT = "apost"
# The feed scenarios' agents (id -> events seeded), in a project of their own so that the
# events POST and PATCH emit in project `p` never reach their feeds. Seeded in this order
# into a fresh store, their events are numbered 1-10 and 11-100,010.
FEED_PROJECT = "pf"
FEED_AGENTS = {"f10": 10, "f100k": 100_000}
FEED_EVENT = "startup"
# The configuration rows: one configuration of agent a10 (project `p`, so its events never reach
# the feed rows' project), seeded through /_control/state with the create page's example body
# (tests/bench checks it against tests/data/guide-configurations.json) and the guide's id.
CONFIG_AGENT = "a10"
CONFIG_ID = "7c8ee069-568f-4d5a-932f-fb2af86b5fd5"
CONFIG_PATH = f"/v2/p/configurations/{CONFIG_ID}"
CONFIG_BODY: Mapping[str, object] = {
    "name": "Every Other Hour Configuration",
    "enabled": True,
    "schedule": {"recurrence": ["RRULE:FREQ=HOURLY;INTERVAL=2"], "time_zone": "US/Central"},
    "retention": {"days": 30},
    "inclusions": [{"type": "folder", "path": "/web/"}, {"type": "file", "path": "/etc/web/app.conf"}],
    "exclusions": [{"type": "folder", "path": "/web/cache/"}, {"type": "file", "path": "/web/cache.jpg"}],
    "notifications": [
        {"type": "email", "destination": "email@example.com", "on_success": True, "on_failure": True}
    ],
}
# The configuration PATCH row renames it every time (bench/lua/configpatch.lua: "bench <wrk
# thread>-<count>"), so that every request is a write with its configuration_changed event;
# the checked request before the load sends this one.
CONFIG_PATCH_BODY = b'[{"op":"replace","path":"/name","value":"bench 0-0"}]'


def fresh_markers() -> dict[str, int]:
    """Each feed's latest event id in a fresh store seeded with FEED_AGENTS (the project's: `pf`)."""
    markers: dict[str, int] = {}
    total = 0
    for agent_id, count in FEED_AGENTS.items():
        total += count
        markers[agent_id] = total
    markers[FEED_PROJECT] = total
    return markers


@dataclass(frozen=True)
class Scenario:
    """One request shape, driven against the stub and the baseline alike."""

    key: str
    label: str
    method: str
    # `{id}`: a seeded log file of agent a10; `{f10}`, `{f100k}`, `{pf}`: that feed's latest event id
    path: str
    lua: str
    status: int
    # The checked request before the load (Load.prepare): its body and headers (wrk's Lua
    # script sends the same), and the exact size of its answer's body (None: any size); with a
    # size, wrk's count of bytes read must also cover that many per request answered.
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: dict(TOKEN))
    answer_bytes: int | None = None
    lua_args: tuple[str, ...] = ()  # after `--` on wrk's command line: the script's init(args)

    @property
    def feed(self) -> bool:
        """Whether it reads an events feed (and so needs FEED_AGENTS' events seeded)."""
        return self.lua == "feed"

    @property
    def configuration(self) -> bool:
        """Whether it reads or writes the bench's configuration (and so needs it seeded)."""
        return self.path == CONFIG_PATH

    @property
    def object(self) -> bool:
        """Whether it is an object-store row (and so needs the GET object seeded)."""
        return self.path.startswith("/cloudfiles/")


SCENARIOS = (
    Scenario(
        "patch",
        "PATCH log file (same-value retry)",
        "PATCH",
        "/v2/p/agents/a10/logfiles/{id}",
        "patch",
        204,
        body=PATCH_BODY,
        headers=PATCH_HEADERS,
    ),
    Scenario(
        "patch100",
        "PATCH log file, 100 operations (same-value retry)",
        "PATCH",
        "/v2/p/agents/a10/logfiles/{id}",
        "patch",
        204,
        body=patch_body(100),
        headers=PATCH_HEADERS,
        lua_args=("100",),
    ),
    Scenario(
        "patch10k",
        "PATCH log file, 10,000 operations (same-value retry)",
        "PATCH",
        "/v2/p/agents/a10/logfiles/{id}",
        "patch",
        204,
        body=patch_body(10_000),
        headers=PATCH_HEADERS,
        lua_args=("10000",),
    ),
    Scenario("post", "POST request a log file", "POST", f"/v2/p/agents/{POST_AGENT}/logfiles", "post", 202),
    Scenario("get", "GET log file details", "GET", "/v2/p/agents/a10/logfiles/{id}", "get", 200),
    Scenario("list10", "GET list, agent with 10", "GET", "/v2/p/agents/a10/logfiles", "get", 200),
    Scenario("list1k", "GET list, agent with 1k", "GET", "/v2/p/agents/a1k/logfiles", "get", 200),
    Scenario("list100k", "GET list, agent with 100k", "GET", "/v2/p/agents/a100k/logfiles", "get", 200),
    # An agent's poll when nothing is new: marker = its latest event, so an empty page with both links.
    Scenario(
        "feed10",
        "GET events feed, nothing new, 10 events kept",
        "GET",
        f"/v2/{FEED_PROJECT}/agents/f10/events?marker={{f10}}",
        "feed",
        200,
    ),
    Scenario(
        "feed100k",
        "GET events feed, nothing new, 100k events kept",
        "GET",
        f"/v2/{FEED_PROJECT}/agents/f100k/events?marker={{f100k}}",
        "feed",
        200,
    ),
    Scenario(
        "feedproject",
        "GET project's events feed, nothing new, 100k kept",
        "GET",
        # sort_dir=asc: the project's feed is newest first by default, where a marker means older.
        f"/v2/{FEED_PROJECT}/events?marker={{{FEED_PROJECT}}}&sort_dir=asc",
        "feed",
        200,
    ),
    # A control panel's read of a configuration, then its change: each PATCH renames it (a new
    # name every request, so each is a write and emits configuration_changed), 204.
    Scenario("configget", "GET configuration details", "GET", CONFIG_PATH, "get", 200),
    Scenario(
        "configpatch",
        "PATCH configuration (a new name each time: a write and its event)",
        "PATCH",
        CONFIG_PATH,
        "configpatch",
        204,
        body=CONFIG_PATCH_BODY,
        headers=PATCH_HEADERS,
    ),
    # The same name every time: each upload replaces the object.
    Scenario(
        "objput",
        "PUT a 1 MiB object",
        "PUT",
        f"{OBJECTS}/{OBJECT_PUT_NAME}",
        "objput",
        201,
        body=OBJECT_BODY,
        headers=OBJECT_PUT_HEADERS,
        answer_bytes=0,
    ),
    Scenario(
        "objget",
        "GET a 1 MiB object",
        "GET",
        f"{OBJECTS}/{OBJECT_GET_NAME}",
        "get",
        200,
        answer_bytes=OBJECT_BYTES,
    ),
)
SCENARIO_BY_KEY = {s.key: s for s in SCENARIOS}


@dataclass(frozen=True)
class Config:
    """A documented configuration of the stub; `env` is added to a cleared LOGFILES_* environment."""

    name: str
    description: str
    env: Mapping[str, str]
    scenarios: tuple[str, ...]
    sqlite: bool = False
    postgres: bool = False  # on the bench's own PostgreSQL cluster (bench/postgres.py)
    # gunicorn instances of LOGFILES_WORKERS workers each; more than one: behind nginx, so
    # that wrk and the seeding have one URL (bench/stack.py), the baseline's likewise.
    instances: int = 1

    @property
    def optional(self) -> bool:
        """Whether its failure leaves the bench's exit status alone: a store that may not run here."""
        return self.sqlite or self.postgres

    @property
    def store_agents(self) -> bool:
        """Whether its rows page through the list agents (a1k, a100k) or POST: seed them all."""
        return any(key == "post" or key.startswith("list") for key in self.scenarios)


# The PostgreSQL configurations' rows: the PATCH, the events feeds and the configuration's read and write.
POSTGRES_SCENARIOS = ("patch", "feed10", "feed100k", "feedproject", "configget", "configpatch")
POSTGRES_PLACEHOLDER = "postgresql://postgres@127.0.0.1:<port>/postgres?options=-csearch_path%3D{schema}"


def placeholder_url(schema: str) -> str:
    """What the PostgreSQL configurations say before the bench's cluster has a port."""
    return POSTGRES_PLACEHOLDER.format(schema=schema)


def configs(tmp: Path, pg_url: Callable[[str], str] = placeholder_url) -> tuple[Config, ...]:
    """Every configuration; `pg_url(schema)`: a URL of the bench's cluster, its connections in `schema`."""
    all_keys = tuple(s.key for s in SCENARIOS)
    return (
        Config("memory", "memory store, journal on (1 worker, gevent)", {}, all_keys),
        Config(
            "memory-nojournal",
            "memory store, LOGFILES_JOURNAL_SIZE=0",
            {"LOGFILES_JOURNAL_SIZE": "0"},
            ("patch",),
        ),
        Config(
            "sqlite",
            "SQLite store, LOGFILES_WORKERS=4 (gevent)",
            {"LOGFILES_STORE": f"sqlite:///{tmp / 'bench.db'}", "LOGFILES_WORKERS": "4"},
            all_keys,
            sqlite=True,
        ),
        Config(
            "sqlite-nojournal",
            "SQLite store, LOGFILES_WORKERS=4, LOGFILES_JOURNAL_SIZE=0",
            {
                "LOGFILES_STORE": f"sqlite:///{tmp / 'bench-nojournal.db'}",
                "LOGFILES_WORKERS": "4",
                "LOGFILES_JOURNAL_SIZE": "0",
            },
            ("patch",),
            sqlite=True,
        ),
        Config(
            "postgres",
            "PostgreSQL store (one database on this machine), 2 instances x LOGFILES_WORKERS=2 (gevent) "
            "behind nginx; the baseline: 2 instances x 2 workers behind an nginx of its own",
            {"LOGFILES_STORE": pg_url("bench_postgres"), "LOGFILES_WORKERS": "2"},
            POSTGRES_SCENARIOS,
            postgres=True,
            instances=2,
        ),
        Config(
            "postgres-direct",
            "PostgreSQL store, 1 instance, LOGFILES_WORKERS=4 (gevent), no nginx: as `sqlite`",
            {"LOGFILES_STORE": pg_url("bench_postgres_direct"), "LOGFILES_WORKERS": "4"},
            POSTGRES_SCENARIOS,
            postgres=True,
        ),
    )


# Row ids for --only: `<scenario>-<config>`, and the parts that need no load generator.
ALL_IDS = [f"{key}-{config.name}" for config in configs(Path()) for key in config.scenarios]
# rss64: the worker's peak RSS during a 64 MiB upload, each store with 1 worker.
# pg-roundtrips: statements per request with the PostgreSQL store, in the app (bench/postgres.py);
# pg-serial: the rate of the writes that serialise across hosts, on the bench's cluster.
EXTRAS = ("startup", "rss", "disk", "rss64", "pg-roundtrips", "pg-serial")
POSTGRES_EXTRAS = ("pg-roundtrips", "pg-serial")
