"""The bench's PostgreSQL parts: its own cluster, round trips per request, and what serialises.

- **The cluster** (`BenchPostgres`): tests/pgcluster.py's throw-away cluster (initdb under /tmp,
  127.0.0.1 only, run as `postgres` when we are root, removed afterwards), but durable as a
  real server is: fsync, synchronous_commit and full_page_writes on (PostgreSQL's defaults,
  which the test suite turns off) and shared_buffers at its default 128MB. A commit then
  waits for its WAL to reach the disk, as it would in production, and that wait is part of
  what the rows measure. One schema per configuration, so each starts as a fresh store.
- **Round trips** (`round_trips`, row `pg-roundtrips`): in the app, through Flask's test
  client (no server, no socket), every statement the store's psycopg connections execute
  is counted and timed by kind: one `execute` is one round trip (a simple query or one
  extended-protocol exchange). Warm-up first, so the pool holds its connection and psycopg
  has prepared each statement (its one-time extra round trip per statement and connection).
- **What serialises** (`serial_rates`, row `pg-serial`): threads of one process (1, then 8)
  write through the store as fast as they can, each to rows of its own, for a few seconds a
  round. Two writes share a row across every host: the event counter (a state-changing PATCH
  takes its row lock in the check-and-set and holds it to the commit, the WAL flush included)
  and the journal's trim (each entry deletes the oldest, so concurrent entries wait for each
  other's commits). Each is run beside the same write without that shared row: the shared
  ones gain little from more writers, and their rate with 8 is that kind of write's ceiling.
"""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from unittest import mock

import psycopg

from bench.scenarios import FEED_PROJECT, TOKEN, fresh_markers
from bench.servers import FAILURES, BenchError, tree_cpu_seconds
from logfiles.errors import ConfigError, LogfilesError

if TYPE_CHECKING:
    from flask.testing import FlaskClient

    from tests.pgcluster import PgCluster

# Closer to a production server than the test suite's cluster (tests/pgcluster.py SETTINGS).
BENCH_SETTINGS: Mapping[str, str] = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "128MB",
}
# What a PostgreSQL part can raise (the store's 503s and the driver's errors included): caught
# per part, it says "unavailable" in the results and the bench goes on.
PG_FAILURES = (*FAILURES, LogfilesError, ConfigError, psycopg.Error)
SETTINGS_NOTE = (
    "the bench's own cluster (PostgreSQL on this machine, sharing its cores), fsync, "
    "synchronous_commit and full_page_writes on, shared_buffers 128MB"
)


class BenchPostgres:
    """The bench's cluster, started once per run; `reason` says why there is none."""

    def __init__(self, cluster: PgCluster | None, reason: str = "") -> None:
        self.cluster = cluster
        self.reason = reason
        self._schemas: set[str] = set()

    @classmethod
    def start(cls) -> BenchPostgres:
        """A started cluster, or none and the reason (not installed, no `postgres` user, no start)."""
        try:
            from tests.pgcluster import PgCluster, PgStartError, PgUnavailable
        except ImportError as exc:  # pytest or psycopg missing: the dev requirements are not installed
            return cls(None, f"cannot import tests/pgcluster.py: {exc}")
        try:
            cluster = PgCluster(settings=BENCH_SETTINGS, start_timeout=60.0)
        except PgUnavailable as exc:
            return cls(None, str(exc))
        try:
            cluster.start()
        except (PgStartError, OSError, subprocess.SubprocessError) as exc:
            cluster.remove()
            return cls(None, f"PostgreSQL did not start: {str(exc).splitlines()[0]}")
        return cls(cluster)

    def url(self, schema: str) -> str:
        """A URL whose connections see `schema` alone, made on first use: a fresh store each."""
        if self.cluster is None:
            raise BenchError(f"no PostgreSQL: {self.reason}")
        if schema not in self._schemas:
            self.cluster.create_schema(schema)
            self._schemas.add(schema)
        return self.cluster.url(schema)

    def cpu_seconds(self) -> float:
        """CPU time of the postmaster and every process it started (backends, WAL writer, ...)."""
        pid = None if self.cluster is None else self.cluster.postmaster_pid()
        if pid is None:
            raise BenchError("the bench's PostgreSQL server is not running")
        return tree_cpu_seconds(pid)

    def version(self) -> str:
        """`PostgreSQL 15.x`, as the server says it."""
        if self.cluster is None:
            return "no PostgreSQL"
        return f"PostgreSQL {self.cluster.execute('SHOW server_version')[0][0]}"

    def remove(self) -> None:
        if self.cluster is not None:
            self.cluster.remove()


def analyze(url: str) -> None:
    """ANALYZE after seeding: what autovacuum does within a minute of a bulk import in a running
    service, done at once so that every run plans on the same statistics (without it, the plans
    a row got depended on whether autovacuum had come by yet)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        connection.execute("ANALYZE")


# Round trips.

# Each statement the store sends, by what it is for (first match in the whitespace-folded SQL).
CHECK_AND_SET = "check-and-set: log file, its events, trims"
KINDS = (
    ("WITH changed AS", CHECK_AND_SET),
    ("WITH entry AS", "journal entry (insert, trim)"),
    ("SELECT rule FROM faults", "fault rules read"),
    ("SELECT a.project_id, l.id", "log file read (agent joined)"),
    ("FROM agents WHERE id", "agent read"),
    ("FROM clock", "service clock read"),
    ("FROM events", "events read"),
    ("SET statement_timeout", "new connection's set-up"),
)


def kind(query: object) -> str:
    text = " ".join(query.split()) if isinstance(query, str) else repr(query)
    for marker, name in KINDS:
        if marker in text:
            return name
    return text[:60]


class StatementCounter:
    """Every statement this process's psycopg cursors execute while `on`: its kind and wall time."""

    def __init__(self) -> None:
        self.on = False
        self.calls: list[tuple[str, float]] = []

    @contextmanager
    def installed(self) -> Iterator[StatementCounter]:
        """psycopg.Cursor.execute (which Connection.execute calls) wrapped, for the block's time."""
        original = psycopg.Cursor.execute

        def execute(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(cursor, query, *args, **kwargs)
            finally:
                if self.on:
                    self.calls.append((kind(query), time.perf_counter() - started))

        with mock.patch.object(psycopg.Cursor, "execute", execute):
            yield self

    @contextmanager
    def counting(self) -> Iterator[list[tuple[str, float]]]:
        """The calls made within the block."""
        self.calls = []
        self.on = True
        try:
            yield self.calls
        finally:
            self.on = False


# The shapes counted: the PATCH the bench's load row sends (after its first, a same-value
# retry), the same PATCH when it changes the state, and the feed rows' polls.
PATCH_SHAPES = {
    "patch-change": "PATCH log file, state changed (requested to started)",
    "patch": "PATCH log file, same-value retry (the load's PATCH row)",
}
FEED_SHAPES = {
    "feed10": "GET events feed, nothing new (the load's feed10 and feed100k rows)",
    "feedproject": "GET project's events feed, nothing new",
}
PATCH_BODY = b'[{"op":"replace","path":"/state","value":"started"}]'
PATCH_HEADERS = {**TOKEN, "Content-Type": "application/json-patch+json"}
WARM_UP = 10


def round_trips(url: str, requests: int = 50) -> list[dict[str, Any]]:
    """Statements per request of each shape, by kind, in the app on the PostgreSQL store at `url`.

    A fresh store: agent a10 with log files enough for one state-changing PATCH each, the
    feeds' agents (f10 with its 10 events). Each shape is warmed up, then run `requests`
    times while the counter is on.
    """
    from logfiles import Settings, create_app

    app = create_app(Settings(store_url=url))
    client = app.test_client()
    try:
        logfiles = _seed(client, requests + WARM_UP)
        markers = fresh_markers()
        paths = {
            "feed10": f"/v2/{FEED_PROJECT}/agents/f10/events?marker={markers['f10']}",
            "feedproject": f"/v2/{FEED_PROJECT}/events?marker={markers[FEED_PROJECT]}&sort_dir=asc",
        }
        changed = iter(logfiles)
        retried = f"/v2/p/agents/a10/logfiles/{logfiles[0]}"

        def patch(path: str) -> None:
            answer = client.patch(path, data=PATCH_BODY, headers=PATCH_HEADERS)
            if answer.status_code != 204:
                raise BenchError(f"PATCH {path} answered {answer.status_code}: {answer.data[:200]!r}")

        def get(path: str) -> None:
            answer = client.get(path, headers=TOKEN)
            if answer.status_code != 200 or answer.get_json()["events"]:
                raise BenchError(f"GET {path} answered {answer.status_code}: {answer.data[:200]!r}")

        shapes: dict[str, Callable[[], None]] = {
            "patch-change": lambda: patch(f"/v2/p/agents/a10/logfiles/{next(changed)}"),
            "patch": lambda: patch(retried),
            "feed10": lambda: get(paths["feed10"]),
            "feedproject": lambda: get(paths["feedproject"]),
        }
        counter = StatementCounter()
        found = []
        with counter.installed():
            for key, run in shapes.items():
                for _ in range(WARM_UP):
                    run()
                with counter.counting() as calls:
                    for _ in range(requests):
                        run()
                found.append(_summary(key, {**PATCH_SHAPES, **FEED_SHAPES}[key], requests, calls))
        return found
    finally:
        app.extensions["logfiles"].store.close()


def _seed(client: FlaskClient, count: int) -> list[str]:
    """a10 with `count` log files (their ids, in order) and the feeds' agents, f10's 10 events."""
    documents: list[dict[str, Any]] = [
        {"agents": [{"id": "a10", "project_id": "p"}], "generate": [{"agent_id": "a10", "count": count}]},
        {
            "agents": [
                {"id": "f10", "project_id": FEED_PROJECT},
                {"id": "f100k", "project_id": FEED_PROJECT},
            ],
            "events": [{"agent_id": "f10", "event": "startup"}] * 10,
        },
    ]
    for document in documents:
        answer = client.post("/_control/state", json=document)
        if answer.status_code != 200:
            raise BenchError(f"seeding answered {answer.status_code}: {answer.data[:300]!r}")
    listed = client.get(f"/v2/p/agents/a10/logfiles?limit={count}", headers=TOKEN).get_json()
    return [item["id"] for item in listed["logfiles"]]


def _summary(key: str, label: str, requests: int, calls: list[tuple[str, float]]) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = {}
    for name, seconds in calls:
        by_kind.setdefault(name, []).append(seconds)
    return {
        "shape": key,
        "label": label,
        "requests": requests,
        "statements": len(calls) / requests,
        "check_and_set": len(by_kind.get(CHECK_AND_SET, [])) / requests,
        "by_kind": [
            {
                "kind": name,
                "per_request": len(times) / requests,
                "median_us": statistics.median(times) * 1e6,
            }
            for name, times in by_kind.items()
        ],
    }


# What serialises across hosts.

JOURNAL_KEPT = 1000  # LOGFILES_JOURNAL_SIZE's default: every entry past it trims the oldest
JOURNAL_UNTRIMMED = 1_000_000  # more than a run writes: the trim finds nothing to delete
SERIAL_THREADS = 8  # the store's pool per process (connection.POOL_SIZE)


@dataclasses.dataclass(frozen=True)
class Case:
    key: str
    label: str
    shared: bool  # whether every writer waits for the one before it (a shared row)


# Each shared case after the same write without the shared row, which it is compared with.
SERIAL_CASES = (
    Case("no-counter", "check-and-set, no event: the counter untouched", False),
    Case("counter", "check-and-set with its event (a state-changing PATCH's write)", True),
    Case("journal-untrimmed", "journal entry, nothing to trim", False),
    Case("journal", f"journal entry, {JOURNAL_KEPT:,} kept (each trims the oldest)", True),
)


def serial_rates(
    url: str,
    seconds: float,
    db_cpu: Callable[[], float],
    threads: int = SERIAL_THREADS,
    rounds: int = 1,
) -> list[dict[str, Any]]:
    """Each case's writes per second from `threads` threads, each on rows of its own, and the
    database's CPU per write; the shared cases are bounded by one commit after the other.

    `rounds` of every case in turn, so that load from elsewhere on the machine meets them
    alike; the medians over the rounds.
    """
    from logfiles import Settings, create_app

    app = create_app(Settings(store_url=url, journal_size=0))
    client = app.test_client()
    store = app.extensions["logfiles"].store
    try:
        document = {
            "agents": [{"id": "serial", "project_id": "p"}],
            "generate": [{"agent_id": "serial", "count": threads}],
        }
        if client.post("/_control/state", json=document).status_code != 200:
            raise BenchError("seeding the serial agent failed")
        logfiles = store.list_logfiles("p", "serial", threads).items
        for _ in range(JOURNAL_KEPT + 100):  # past the kept size: every later entry trims
            store.record_request(_entry(), JOURNAL_KEPT)
        works = _works(store, logfiles)
        for work in works.values():  # connections open, statements prepared (psycopg: the 5th use)
            for once in work:
                for _ in range(6):
                    once()
        measured: dict[str, list[dict[str, float]]] = {case.key: [] for case in SERIAL_CASES}
        for _ in range(rounds):
            for case in SERIAL_CASES:
                # The dead rows the case before left: cleaned now, not by autovacuum during this one.
                with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
                    connection.execute("VACUUM")
                measured[case.key].append(_timed(case, works[case.key], seconds, db_cpu))
        return [_combined(case, threads, measured[case.key]) for case in SERIAL_CASES]
    finally:
        store.close()


def _entry() -> Any:
    from logfiles.journal import JournalEntry

    return JournalEntry(
        time=datetime.now(UTC), method="PATCH", path="/v2/p/agents/serial/logfiles/x", query="",
        headers={"X-Auth-Token": "t"}, body="", status=204, latency_ms=1.0,
    )  # fmt: skip


def _works(store: Any, logfiles: list[Any]) -> dict[str, list[Callable[[], None]]]:
    """Each case's write, one per thread: thread n toggles log file n (both check-and-set cases
    alike, so each knows the state the other left) or writes a journal entry."""
    from logfiles.events import Event
    from logfiles.model import LogFileState

    current = list(logfiles)

    def toggle(index: int, event: bool) -> Callable[[], None]:
        def once() -> None:
            before = current[index]
            state = LogFileState.STARTED if before.state is LogFileState.REQUESTED else LogFileState.REQUESTED
            emitted = [Event(before.project_id, before.agent_id, datetime.now(UTC), "logfile_started")]
            current[index] = store.update_logfile(
                before.project_id,
                before.agent_id,
                before.id,
                lambda found: dataclasses.replace(found, state=state),
                lambda _before, _after: emitted if event else [],
                expected=before,
            )

        return once

    def journal(kept: int) -> Callable[[], None]:
        return lambda: store.record_request(_entry(), kept)

    indexes = range(len(logfiles))
    return {
        "counter": [toggle(n, True) for n in indexes],
        "no-counter": [toggle(n, False) for n in indexes],
        "journal": [journal(JOURNAL_KEPT) for _ in indexes],
        "journal-untrimmed": [journal(JOURNAL_UNTRIMMED) for _ in indexes],
    }


def _timed(
    case: Case, work: list[Callable[[], None]], seconds: float, db_cpu: Callable[[], float]
) -> dict[str, float]:
    """One run: every thread writes until `seconds` are up; writes, elapsed time, CPU spent."""
    done = [0] * len(work)
    failures: list[BaseException] = []
    stop = threading.Event()

    def loop(index: int) -> None:
        try:
            while not stop.is_set():
                work[index]()
                done[index] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below, after the threads stop
            failures.append(exc)
            stop.set()

    workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(len(work))]
    db_before, client_before, started = db_cpu(), time.process_time(), time.monotonic()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(30)
    elapsed = time.monotonic() - started
    db_spent, client_spent = db_cpu() - db_before, time.process_time() - client_before
    if failures:
        raise BenchError(f"pg-serial {case.key}: {failures[0]!r}")
    writes = max(sum(done), 1)
    return {
        "writes": sum(done),
        "seconds": elapsed,
        "rate": sum(done) / elapsed,
        "db_cpu_us": db_spent / writes * 1e6,
        "client_cpu_us": client_spent / writes * 1e6,
    }


def _combined(case: Case, threads: int, runs: list[dict[str, float]]) -> dict[str, Any]:
    """The medians over the rounds (rates, CPU per write), the totals (writes, seconds)."""
    return {
        "case": case.key,
        "label": case.label,
        "shared": case.shared,
        "threads": threads,
        "rounds": len(runs),
        "seconds": round(sum(r["seconds"] for r in runs), 2),
        "writes": sum(int(r["writes"]) for r in runs),
        "rates": [round(r["rate"], 1) for r in runs],
        "rate": statistics.median(r["rate"] for r in runs),
        "db_cpu_us": statistics.median(r["db_cpu_us"] for r in runs),
        "client_cpu_us": statistics.median(r["client_cpu_us"] for r in runs),
    }
