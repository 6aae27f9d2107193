"""Measurements: each configuration's load rows (with SQLite's disk use), start-up time, worker RSS,
and the worker's peak RSS during a 64 MiB upload."""

from __future__ import annotations

import hashlib
import http.client
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.load import Load
from bench.postgres import analyze
from bench.report import Results, Row
from bench.scenarios import (
    LIST_AGENTS,
    OBJECT_MALLOC_ENV,
    OBJECTS,
    PATCH_BODY,
    PATCH_HEADERS,
    POST_AGENT,
    SCENARIO_BY_KEY,
    TOKEN,
    Config,
    fresh_markers,
)
from bench.servers import (
    FAILURES,
    BenchError,
    Server,
    Target,
    baseline,
    check_feeds,
    check_object,
    check_writes,
    first_logfile,
    generate,
    latest_event,
    running,
    seed,
    seed_configuration,
    seed_feeds,
    seed_object,
    stub,
)
from bench.stack import Stack

# Seeding the RSS server in chunks keeps the transient cost of one huge request small.
RSS_CHUNK = 100_000


def run_group(
    config: Config,
    wanted: set[str],
    load: Load,
    tmp: Path,
    results: Results,
    disk: bool,
    object_env: Mapping[str, str] = OBJECT_MALLOC_ENV,
    nginx: str | None = None,
    watch: Mapping[str, Callable[[], float]] | None = None,
) -> None:
    """The configuration's rows: stub and baseline up side by side, then each scenario in
    alternating rounds. The object rows have a pair of servers of their own (`object_env`
    added to both: see OBJECT_MALLOC_ENV), the others one pair seeded once. `nginx`: its
    binary, for a configuration of several instances; `watch`: other CPU the stub's requests
    cost (the database server's), by name."""
    rows = wanted_rows(config, wanted)
    results.rows.extend(rows)
    logfile_rows = [row for row in rows if not SCENARIO_BY_KEY[row.scenario].object]
    object_rows = [row for row in rows if SCENARIO_BY_KEY[row.scenario].object]
    if logfile_rows or disk:
        with noting_failures(config, logfile_rows, results, disk):
            server, bare = pair(config, tmp, nginx)
            server.watch.update(watch or {})
            run_logfile_rows(config, server, bare, logfile_rows, load, tmp, results, disk)
    if object_rows:
        with noting_failures(config, object_rows, results, False):
            run_object_rows(config, object_rows, load, tmp, object_env)


def wanted_rows(config: Config, wanted: set[str]) -> list[Row]:
    return [
        Row(k, SCENARIO_BY_KEY[k].label, config.name)
        for k in config.scenarios
        if f"{k}-{config.name}" in wanted
    ]


def skip_group(config: Config, wanted: set[str], results: Results, reason: str) -> None:
    """The configuration's wanted rows, each saying why it did not run (PostgreSQL or nginx missing)."""
    for row in wanted_rows(config, wanted):
        row.status = f"skipped: {reason}"
        results.rows.append(row)


def pair(config: Config, tmp: Path, nginx: str | None) -> tuple[Server | Stack, Server | Stack]:
    """The stub and its baseline: one gunicorn server each, or as many instances behind an nginx each."""
    if config.instances == 1:
        return stub(config, tmp), baseline(config, tmp)
    if nginx is None:
        raise BenchError("nginx not found: apt-get install -y nginx (Debian)")
    return (
        Stack(config.name, "wsgi:app", config.env, tmp, config.instances, nginx),
        Stack(f"baseline-{config.name}", "bench.baseline_app:app", config.env, tmp, config.instances, nginx),
    )


@contextmanager
def noting_failures(config: Config, rows: list[Row], results: Results, disk: bool) -> Iterator[None]:
    """A failure fails the rows not yet measured (and disk); the SQLite store's is not fatal."""
    try:
        yield
    except FAILURES as exc:
        # The SQLite or PostgreSQL store may not work here: its rows say so and the bench goes on.
        reason = f"unavailable: {exc}" if config.optional else f"failed: {exc}"
        for row in rows:
            if row.stub is None:
                row.status = reason
        if disk and not results.disk:
            results.disk = {"status": reason}
        if not config.optional:
            results.failed = True


def run_logfile_rows(
    config: Config,
    server: Target,
    bare: Target,
    rows: list[Row],
    load: Load,
    tmp: Path,
    results: Results,
    disk: bool,
) -> None:
    """The log file and feed rows: one pair, seeded once (and SQLite's disk use measured)."""
    with running(server, bare):
        seed_and_measure_disk(config, server, tmp, results, disk)
        logfile_id = first_logfile(server)
        # The feeds' events are seeded right after the log files, before any row adds an
        # event, so that their numbers are the ones the baseline's canned pages show.
        feeds = {}
        if any(SCENARIO_BY_KEY[row.scenario].feed for row in rows):
            feeds = seed_feeds(server)
            note_markers(results, config, feeds)
        if any(SCENARIO_BY_KEY[row.scenario].configuration for row in rows):
            seed_configuration(server)  # after the feeds (though seeding it emits no event)
        if config.postgres:
            analyze(config.env["LOGFILES_STORE"])
        for row in rows:
            scenario = SCENARIO_BY_KEY[row.scenario]
            latest = {name: last for name, (_, last) in feeds.items()}
            path = scenario.path.format(id=logfile_id, **latest)
            writes = scenario.configuration and scenario.method == "PATCH"
            before = latest_event(server) if writes else 0
            rounds = load.pair(server, bare, scenario, path)
            if scenario.feed:
                check_feeds(server, feeds)  # every seeded event was kept all through the row
            if writes:  # every PATCH a write, with its event
                emitted = check_writes(server, before, sum(ours.requests for ours, _ in rounds))
                note = f"{config.name}: {row.scenario}: {emitted:,} configuration_changed emitted"
                results.notes.append(note)
            row.record(rounds)


def run_object_rows(
    config: Config, rows: list[Row], load: Load, tmp: Path, object_env: Mapping[str, str]
) -> None:
    """The object rows: a pair of their own holding only the GET row's object (SQLite: its own database)."""
    env = dict(object_env)
    if config.sqlite:
        env["LOGFILES_STORE"] = f"sqlite:///{tmp / f'objects-{config.name}.db'}"
    server, bare = stub(config, tmp, env), baseline(config, tmp, object_env)
    with running(server, bare):
        seed_object(server)
        for row in rows:
            scenario = SCENARIO_BY_KEY[row.scenario]
            rounds = load.pair(server, bare, scenario, scenario.path)
            check_object(server, scenario.path)  # the uploads (or the seeded object) whole
            row.record(rounds)


def note_markers(results: Results, config: Config, feeds: dict[str, tuple[int, int]]) -> None:
    """The feeds' event ids; a note when they are not the fresh store's (the baseline's pages)."""
    shown = ", ".join(f"{name} {first:,}-{last:,}" for name, (first, last) in feeds.items())
    expected = fresh_markers()
    if any(last != expected[name] for name, (_, last) in feeds.items()):
        shown += f" (the baseline's pages assume latest ids {expected}: bodies differ by a few bytes)"
    results.notes.append(f"{config.name}: events kept per feed: {shown}")


def seed_and_measure_disk(config: Config, server: Target, tmp: Path, results: Results, disk: bool) -> None:
    """Seed the scenarios' agents; for SQLite with `disk`, measure the file before and after."""
    # PATCH, GET details and the feeds need a10 only (its first log file).
    agents = dict(LIST_AGENTS) if config.store_agents else {"a10": LIST_AGENTS["a10"]}
    if not (config.sqlite and disk):
        seed(server, agents, (POST_AGENT,))
        return
    db = Path(config.env["LOGFILES_STORE"].removeprefix("sqlite:///"))
    empty = sqlite_bytes(db)
    seed(server, agents, (POST_AGENT,))
    full = sqlite_bytes(db)
    count = sum(agents.values())
    results.disk = {
        "status": "ok",
        "logfiles": count,
        "empty_bytes": empty,
        "seeded_bytes": full,
        "bytes_per_logfile": (full - empty) / count,
    }


def sqlite_bytes(db: Path) -> int:
    """The database's size with its WAL, after a checkpoint that moves the WAL into the file."""
    with sqlite3.connect(db, timeout=30) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def measure_startup(config: Config, repeats: int, tmp: Path, as_baseline: bool = False) -> dict[str, Any]:
    """Launch to the first 200 on /healthz, and launch to the first PATCH 204.

    A fresh stub holds nothing, so its PATCH sequence is: /healthz 200, seed one agent with one
    log file, list it, PATCH it (204). The baseline has nothing to seed: /healthz, then PATCH.
    """
    health: list[float] = []
    sequence: list[float] = []
    name = f"baseline-{config.name}" if as_baseline else config.name
    for attempt in range(repeats):
        env = dict(config.env)
        if config.sqlite:
            env["LOGFILES_STORE"] = f"sqlite:///{tmp / f'startup-{attempt}.db'}"
        server = Server(name, "bench.baseline_app:app" if as_baseline else "wsgi:app", env, tmp)
        try:
            started = time.perf_counter()
            server.launch()
            server.wait_ready()
            health.append(time.perf_counter() - started)
            if as_baseline:
                path = "/v2/p/agents/a10/logfiles/x"
            else:
                seed(server, {"a10": 1})
                path = f"/v2/p/agents/a10/logfiles/{first_logfile(server)}"
            status, body = server.request("PATCH", path, PATCH_BODY, PATCH_HEADERS)
            if status != 204:
                raise BenchError(f"{name}: first PATCH answered {status}: {body[:200]!r}")
            sequence.append(time.perf_counter() - started)
        finally:
            server.stop()
    return {
        "config": name,
        "repeats": repeats,
        "healthz_ms": statistics.median(health) * 1000,
        "first_patch_ms": statistics.median(sequence) * 1000,
        "healthz_all_ms": [round(t * 1000, 1) for t in health],
        "first_patch_all_ms": [round(t * 1000, 1) for t in sequence],
    }


def vm_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


def measure_rss(config: Config, points: tuple[int, ...], tmp: Path) -> list[dict[str, Any]]:
    """The worker's RSS after bulk `generate` up to each point; bytes per log file from the delta.

    The 0 point is taken after one warm-up seed of one log file (so imports, schemas and the
    store's first allocations are not charged to the log files) and one list request.
    """
    server = stub(config, tmp)
    rows: list[dict[str, Any]] = []
    try:
        with running(server):
            seed(server, {"rss": 1})
            first_logfile(server, "rss")
            workers = server.worker_pids()
            if len(workers) != 1:
                raise BenchError(f"expected one worker, found {workers}")
            worker = workers[0]
            base = vm_rss(worker)
            rows.append({"logfiles": 0, "rss_bytes": base, "bytes_per_logfile": None})
            made = 0
            for point in points:
                while made < point:
                    chunk = min(RSS_CHUNK, point - made)
                    generate(server, "rss", chunk)
                    made += chunk
                rss = vm_rss(worker)
                rows.append({"logfiles": point, "rss_bytes": rss, "bytes_per_logfile": (rss - base) / point})
    except FAILURES as exc:
        rows.append({"logfiles": None, "status": f"failed: {exc}"})
    return rows


# The 64 MiB upload: LOGFILES_MAX_OBJECT_BYTES' default, so the largest a stub takes unless told.
UPLOAD_BYTES = 64 * 2**20
UPLOAD_CHUNK = 64 * 1024
UPLOAD_FRAMINGS = ("Content-Length", "chunked")


def vm_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak RSS since start or since `reset_peak`), in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(line.split()[1]) * 1024
    if len(found) != 2:
        raise BenchError(f"no VmRSS or VmHWM for pid {pid}")
    return found


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its RSS now (Linux 4.0+, our own processes); whether it could."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def upload_chunks(block: bytes, total: int) -> Iterator[bytes]:
    """`total` bytes as `block` after `block`: a client streaming a file it never holds whole."""
    for _ in range(total // len(block)):
        yield block


def put_streamed(server: Server, path: str, block: bytes, total: int, framing: str) -> tuple[int, str | None]:
    """PUT `total` bytes from a generator, with a Content-Length or chunked; the status and ETag."""
    headers = dict(TOKEN)
    if framing == "Content-Length":
        headers["Content-Length"] = str(total)  # http.client then sends the chunks as they come
    # Without one, http.client sends an iterable chunked (Transfer-Encoding: chunked).
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.request("PUT", path, body=upload_chunks(block, total), headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("ETag")
    finally:
        conn.close()


def measure_upload_rss(config: Config, tmp: Path) -> list[dict[str, Any]]:
    """The worker's peak RSS while it takes a 64 MiB upload, per framing, 1 worker.

    After a warm-up upload of 1 MiB (imports, first allocations), for each framing: reset the
    worker's VmHWM, read its VmRSS, upload 64 MiB under a new name from a generator, read
    VmHWM (the peak during the upload) and VmRSS again. Growth = peak - RSS before.
    """
    env = {"LOGFILES_WORKERS": "1"}
    if config.sqlite:
        env["LOGFILES_STORE"] = f"sqlite:///{tmp / 'rss64.db'}"
    server = stub(config, tmp, env)
    block = random.Random(64).randbytes(UPLOAD_CHUNK)  # noqa: S311 - bytes to upload, not a secret
    md5 = hashlib.md5(usedforsecurity=False)
    for chunk in upload_chunks(block, UPLOAD_BYTES):
        md5.update(chunk)
    rows: list[dict[str, Any]] = []
    with running(server):
        workers = server.worker_pids()
        if len(workers) != 1:
            raise BenchError(f"{server.name}: expected one worker, found {workers}")
        worker = workers[0]
        status, _ = put_streamed(server, f"{OBJECTS}/rss64/warm-up", block, 2**20, "Content-Length")
        if status != 201:
            raise BenchError(f"{server.name}: the warm-up upload answered {status}")
        for framing in UPLOAD_FRAMINGS:
            reset = reset_peak(worker)
            before = vm_status(worker)
            started = time.perf_counter()
            path = f"{OBJECTS}/rss64/{framing.lower()}"
            status, etag = put_streamed(server, path, block, UPLOAD_BYTES, framing)
            seconds = time.perf_counter() - started
            after = vm_status(worker)
            if status != 201 or etag != md5.hexdigest():
                raise BenchError(f"{server.name}: 64 MiB upload ({framing}) answered {status}, ETag {etag}")
            growth = after["VmHWM"] - before["VmRSS"]
            rows.append(
                {
                    "config": config.name,
                    "framing": framing,
                    "object_bytes": UPLOAD_BYTES,
                    "peak_reset": reset,  # False: VmHWM since start, so the growth is an upper bound
                    "rss_before_bytes": before["VmRSS"],
                    "peak_bytes": after["VmHWM"],
                    "rss_after_bytes": after["VmRSS"],
                    "growth_bytes": growth,
                    "growth_ratio": growth / UPLOAD_BYTES,
                    "upload_s": seconds,
                }
            )
    return rows
