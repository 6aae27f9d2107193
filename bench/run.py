"""Benchmark of issue 4: the stub under gunicorn against a bare Flask app, on 127.0.0.1 only.

Run from the repository root with the venv's python: `python bench/run.py [--quick] [--only IDS]`.
Each server is started as a user would (`python -m gunicorn wsgi:app` plus LOGFILES_*), load
comes from wrk over keep-alive connections, and every server is stopped by PID: SIGTERM to
the master, then SIGKILL to its process group (its own session) if it lingers.
The markdown table goes to stdout and bench/results/latest.md, the numbers to latest.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
LUA = BENCH / "lua"
DEFAULT_RESULTS = BENCH / "results"

TOKEN = {"X-Auth-Token": "t"}
PATCH_BODY = b'[{"op":"replace","path":"/state","value":"started"}]'
PATCH_HEADERS = {**TOKEN, "Content-Type": "application/json-patch+json"}
# Agents the load scenarios read (id -> log files generated), and the one POST writes to,
# so that POSTs never change what the list scenarios page through.
LIST_AGENTS = {"a10": 10, "a1k": 1_000, "a100k": 100_000}
POST_AGENT = "apost"
# Seeding the RSS server in chunks keeps the transient cost of one huge request small.
RSS_CHUNK = 100_000
# Variables that would change what gunicorn or the stub run, cleared for every server.
FOREIGN_ENV = ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")


class BenchError(Exception):
    """A server or a tool did not do what the benchmark needs; the message says what."""


# What a misbehaving server or tool can raise; caught per part so one part cannot sink the rest.
FAILURES = (BenchError, OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError)


@dataclass(frozen=True)
class Scenario:
    """One request shape, driven against the stub and the baseline alike."""

    key: str
    label: str
    method: str
    path: str  # `{id}`: a seeded log file of agent a10
    lua: str
    status: int


SCENARIOS = (
    Scenario(
        "patch", "PATCH log file (same-value retry)", "PATCH", "/v2/p/agents/a10/logfiles/{id}", "patch", 204
    ),
    Scenario("post", "POST request a log file", "POST", f"/v2/p/agents/{POST_AGENT}/logfiles", "post", 202),
    Scenario("get", "GET log file details", "GET", "/v2/p/agents/a10/logfiles/{id}", "get", 200),
    Scenario("list10", "GET list, agent with 10", "GET", "/v2/p/agents/a10/logfiles", "get", 200),
    Scenario("list1k", "GET list, agent with 1k", "GET", "/v2/p/agents/a1k/logfiles", "get", 200),
    Scenario("list100k", "GET list, agent with 100k", "GET", "/v2/p/agents/a100k/logfiles", "get", 200),
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


def configs(tmp: Path) -> tuple[Config, ...]:
    all_keys = tuple(s.key for s in SCENARIOS)
    return (
        Config("memory", "memory store, journal on (1 worker, gthread, 8 threads)", {}, all_keys),
        Config(
            "memory-nojournal",
            "memory store, LOGFILES_JOURNAL_SIZE=0",
            {"LOGFILES_JOURNAL_SIZE": "0"},
            ("patch",),
        ),
        Config(
            "sqlite",
            "SQLite store, LOGFILES_WORKERS=4 (gthread, 4 threads)",
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
    )


# Servers.


def _no_control_socket() -> tuple[str, ...]:
    """Recent gunicorn (27 here) opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl).

    The stub and its baseline run at once and would share it (stopping one removes the other's),
    as would anyone else's gunicorn on the machine; the bench turns it off where gunicorn has it.
    It plays no part in serving HTTP.
    """
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return ()
    return ("--no-control-socket",) if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else ()


NO_CONTROL_SOCKET = _no_control_socket()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(extra: Mapping[str, str], port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFILES_") and k not in FOREIGN_ENV}
    env.update(extra)
    env["LOGFILES_BIND"] = f"127.0.0.1:{port}"
    return env


class Server:
    """One gunicorn master (and its workers) in its own session, so one killpg stops them all."""

    def __init__(self, name: str, app: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        # The stub's gunicorn.conf.py for both: the baseline gets identical gunicorn settings.
        self.argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *NO_CONTROL_SOCKET, app]
        self.env = server_env(env, self.port)
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll /healthz until a 200; fail early, with the log's tail, if gunicorn exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise BenchError(f"{self.name}: gunicorn exited before answering: {self.log_tail()}")
            try:
                if self.request("GET", "/healthz", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.005)
        raise BenchError(f"{self.name}: no 200 on /healthz within {timeout:.0f} s: {self.log_tail()}")

    def start(self) -> Server:
        self.launch()
        self.wait_ready()
        return self

    def stop(self) -> None:
        """SIGTERM to the master (graceful, nothing is in flight), SIGKILL to the group if it lingers.

        Not SIGINT/SIGQUIT: gunicorn 27's gthread worker calls ThreadPoolExecutor.shutdown in its
        SIGQUIT handler, which deadlocks when the signal lands while the main thread is inside
        submit() (CPython issue 121649); the stop then waits for the master's kill.
        """
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 120.0,
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def worker_pids(self) -> list[int]:
        """The master's children: gunicorn's workers."""
        assert self.proc is not None
        pids: list[int] = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields_ = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields_[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)


@contextmanager
def running(*servers: Server) -> Iterator[None]:
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


def baseline(config: Config, log_dir: Path) -> Server:
    """Bare Flask under the same LOGFILES_* (so the same workers and threads) as `config`."""
    return Server(f"baseline-{config.name}", "bench.baseline_app:app", config.env, log_dir)


# Seeding through the control plane.


def seed(server: Server, agents: Mapping[str, int], extra_agents: tuple[str, ...] = ()) -> dict[str, Any]:
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


def generate(server: Server, agent: str, count: int) -> None:
    document = {"generate": [{"agent_id": agent, "count": count}]}
    status, body = server.request(
        "POST", "/_control/state", json.dumps(document).encode(), {"Content-Type": "application/json"}
    )
    if status != 200:
        raise BenchError(f"{server.name}: generate answered {status}: {body[:300]!r}")


def first_logfile(server: Server, agent: str = "a10") -> str:
    status, body = server.request("GET", f"/v2/p/agents/{agent}/logfiles?limit=1", headers=TOKEN)
    if status != 200:
        raise BenchError(f"{server.name}: list answered {status}: {body[:300]!r}")
    logfile_id: str = json.loads(body)["logfiles"][0]["id"]
    return logfile_id


# wrk.


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int  # wrk's "Non-2xx or 3xx responses" (it counts statuses over 399)
    socket_errors: int


UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_latency(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"wrk: unreadable latency {text!r}")
    return float(match[1]) * UNIT_MS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    """Read wrk's --latency report (the lines this depends on are wrk 4's)."""
    percentiles = {p: parse_latency(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)}
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in ", output, re.M)
    if rps is None or total is None or "50" not in percentiles or "99" not in percentiles:
        raise BenchError(f"wrk: unexpected output: {output[-500:]!r}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        rps=float(rps[1]),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        requests=int(total[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


@dataclass(frozen=True)
class Load:
    duration: int  # seconds per measured run
    rounds: int  # measured runs per side and scenario
    warmup: int
    threads: int
    connections: int

    def wrk(self, url: str, lua: str, seconds: int) -> WrkResult:
        argv = [
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(LUA / f"{lua}.lua"),
            url,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
        if done.returncode != 0:
            raise BenchError(f"wrk exited {done.returncode}: {done.stderr.strip()[-300:]}")
        return parse_wrk(done.stdout)

    def prepare(self, server: Server, scenario: Scenario, path: str) -> None:
        """One checked request of the shape (the expected status or BenchError), then the warm-up."""
        body = PATCH_BODY if scenario.method == "PATCH" else None
        headers = PATCH_HEADERS if scenario.method == "PATCH" else TOKEN
        status, answer = server.request(scenario.method, path, body, headers)
        if status != scenario.status:
            raise BenchError(f"{server.name}: {scenario.method} {path} answered {status}: {answer[:200]!r}")
        if self.warmup:
            self.wrk(server.url(path), scenario.lua, self.warmup)

    def pair(
        self, stub: Server, bare: Server, scenario: Scenario, path: str
    ) -> list[tuple[WrkResult, WrkResult]]:
        """Alternate stub and baseline runs, `rounds` of each, the order swapped every round.

        On a shared machine the load from elsewhere comes and goes: short alternating runs let
        both sides see the same neighbours, and a ratio per round shows how much it moved.
        """
        self.prepare(stub, scenario, path)
        self.prepare(bare, scenario, path)
        rounds: list[tuple[WrkResult, WrkResult]] = []
        for index in range(self.rounds):
            order = (stub, bare) if index % 2 == 0 else (bare, stub)
            got = {server.name: self.wrk(server.url(path), scenario.lua, self.duration) for server in order}
            rounds.append((got[stub.name], got[bare.name]))
        return rounds


def combine(results: list[WrkResult]) -> WrkResult:
    """Medians of the rates and latencies, sums of the counts."""
    return WrkResult(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
    )


# Results.


@dataclass
class Row:
    scenario: str
    label: str
    config: str
    status: str = "ok"
    stub: WrkResult | None = None  # medians over the rounds
    baseline: WrkResult | None = None
    ratios: list[float] = field(default_factory=list)  # stub ÷ baseline req/s, one per round

    @property
    def id(self) -> str:
        return f"{self.scenario}-{self.config}"

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    def record(self, rounds: list[tuple[WrkResult, WrkResult]]) -> None:
        self.stub = combine([stub for stub, _ in rounds])
        self.baseline = combine([bare for _, bare in rounds])
        self.ratios = [stub.rps / bare.rps for stub, bare in rounds if bare.rps]


@dataclass
class Results:
    meta: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    startup: list[dict[str, Any]] = field(default_factory=list)
    rss: list[dict[str, Any]] = field(default_factory=list)
    disk: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed: bool = False  # a part other than the SQLite store's failed: exit 1


def run_group(config: Config, wanted: set[str], load: Load, tmp: Path, results: Results, disk: bool) -> None:
    """Stub and baseline up side by side, seeded once, then each scenario in alternating rounds."""
    keys = [k for k in config.scenarios if f"{k}-{config.name}" in wanted]
    rows = [Row(k, SCENARIO_BY_KEY[k].label, config.name) for k in keys]
    results.rows.extend(rows)
    if not rows and not disk:
        return
    server, bare = stub(config, tmp), baseline(config, tmp)
    try:
        with running(server, bare):
            seed_and_measure_disk(config, server, tmp, results, disk)
            logfile_id = first_logfile(server)
            for row in rows:
                scenario = SCENARIO_BY_KEY[row.scenario]
                path = scenario.path.format(id=logfile_id)
                row.record(load.pair(server, bare, scenario, path))
    except FAILURES as exc:
        # The SQLite store may not work yet: its rows say so and the bench goes on.
        reason = f"unavailable: {exc}" if config.sqlite else f"failed: {exc}"
        for row in rows:
            if row.stub is None:
                row.status = reason
        if disk and not results.disk:
            results.disk = {"status": reason}
        if not config.sqlite:
            results.failed = True


def seed_and_measure_disk(config: Config, server: Server, tmp: Path, results: Results, disk: bool) -> None:
    """Seed the scenarios' agents; for SQLite with `disk`, measure the file before and after."""
    # A PATCH-only configuration needs a10 only.
    agents = dict(LIST_AGENTS) if len(config.scenarios) > 1 else {"a10": LIST_AGENTS["a10"]}
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


# Report.


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def spread(values: list[float]) -> str:
    return f" ({min(values):.2f}–{max(values):.2f})" if len(values) > 1 else ""


def render(results: Results) -> str:
    meta = results.meta
    warmup = f"a {meta['warmup_s']} s warm-up" if meta["warmup_s"] else "no warm-up"
    out = [
        "# logfiles-stub benchmark",
        "",
        f"- when: {meta['when']}; commit {meta['commit']}; Python {meta['python']}; "
        f"{meta['cpus']} CPUs; load average before/after: {meta['load_before']} / {meta.get('load_after')}",
        f"- load: `{meta['wrk']}`; per scenario {warmup}, then {meta['rounds']} "
        f"round(s) of {meta['duration_s']} s on the stub and on the bare-Flask baseline, alternating; "
        f"{'quick mode' if meta['quick'] else 'full mode'}; both under identical gunicorn settings "
        "(gunicorn.conf.py, same LOGFILES_WORKERS)",
        "- req/s, p50, p99: medians over the rounds; non-2xx and socket errors: totals",
        *(f"- `{name}`: {text}" for name, text in meta["configs"].items()),
        "- ratio = stub req/s ÷ baseline req/s, median over the rounds (range in brackets); "
        "1.0 = as fast as bare Flask on the same stack",
        "",
    ]
    if results.rows:
        out += [
            "## Throughput",
            "",
            "| scenario | config | req/s | p50 ms | p99 ms | non-2xx | sock err | baseline req/s "
            "| baseline p50 ms | ratio (range) |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in results.rows:
            s, b = row.stub, row.baseline
            if s is None:
                out.append(f"| {row.label} | {row.config} | {row.status} | | | | | | | |")
                continue
            out.append(
                f"| {row.label} | {row.config} | {fmt(s.rps)} | {fmt(s.p50_ms, 2)} | {fmt(s.p99_ms, 2)} "
                f"| {s.non_2xx} | {s.socket_errors} | {fmt(b.rps if b else None)} "
                f"| {fmt(b.p50_ms if b else None, 2)} | {fmt(row.ratio, 2)}{spread(row.ratios)} |"
            )
        out.append("")
    if results.startup:
        out += [
            "## Start-up (median of the starts, ms)",
            "",
            "launch = `Popen` of `python -m gunicorn …`; **healthz** = first 200 on `/healthz`; "
            "**first PATCH** = first 204 on a PATCH of a log file, after seeding one through "
            "`/_control/state` (the baseline has nothing to seed).",
            "",
            "| config | starts | healthz 200 | first PATCH 204 | all healthz | all first PATCH |",
            "| --- | ---: | ---: | ---: | --- | --- |",
        ]
        for start in results.startup:
            if "status" in start:
                out.append(f"| {start['config']} | | {start['status']} | | | |")
                continue
            out.append(
                f"| {start['config']} | {start['repeats']} | {fmt(start['healthz_ms'], 0)} "
                f"| {fmt(start['first_patch_ms'], 0)} "
                f"| {', '.join(f'{t:.0f}' for t in start['healthz_all_ms'])} "
                f"| {', '.join(f'{t:.0f}' for t in start['first_patch_all_ms'])} |"
            )
        out.append("")
    if results.rss:
        out += [
            "## Memory store: worker RSS (VmRSS)",
            "",
            "| log files | RSS MiB | bytes per log file (ΔRSS ÷ count) |",
            "| ---: | ---: | ---: |",
        ]
        for r in results.rss:
            if r.get("logfiles") is None:
                out.append(f"| – | {r['status']} | |")
                continue
            out.append(
                f"| {r['logfiles']:,} | {fmt(r['rss_bytes'] / 2**20)} | {fmt(r['bytes_per_logfile'], 0)} |"
            )
        out.append("")
    if results.disk:
        d = results.disk
        out += ["## SQLite store: on disk (database + WAL after a TRUNCATE checkpoint)", ""]
        if d.get("status") != "ok":
            out.append(f"{d.get('status')}")
        else:
            out += [
                "| log files | empty bytes | seeded bytes | bytes per log file (Δ ÷ count) |",
                "| ---: | ---: | ---: | ---: |",
                f"| {d['logfiles']:,} | {d['empty_bytes']:,} | {d['seeded_bytes']:,} "
                f"| {fmt(d['bytes_per_logfile'], 0)} |",
            ]
        out.append("")
    if results.notes:
        out += ["## Notes", "", *(f"- {n}" for n in results.notes), ""]
    return "\n".join(out)


def as_json(results: Results) -> dict[str, Any]:
    rows = [{**asdict(row), "id": row.id, "ratio": row.ratio} for row in results.rows]
    return {**asdict(results), "rows": rows}


# Driver.


def ensure_wrk() -> None:
    """Install wrk with bench/setup.sh when it is missing."""
    if shutil.which("wrk"):
        return
    subprocess.run(["bash", str(BENCH / "setup.sh")], check=True, timeout=600)
    if not shutil.which("wrk"):
        raise BenchError("wrk is still not on PATH after bench/setup.sh")


def git_commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{' (dirty)' if dirty else ''}" or "unknown"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


ALL_IDS = [f"{key}-{config.name}" for config in configs(Path()) for key in config.scenarios]
EXTRAS = ("startup", "rss", "disk")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="~1 s per scenario, fewer starts, no 1M RSS point"
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated subset of: {', '.join(ALL_IDS + list(EXTRAS))}",
    )
    parser.add_argument("--duration", type=int, help="seconds per measured run (default 3, quick 1)")
    parser.add_argument("--rounds", type=int, help="measured runs per side and scenario (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections (default 16)")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where latest.md/.json go")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (server logs, databases)")
    args = parser.parse_args(argv)
    wanted = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = wanted - set(ALL_IDS) - set(EXTRAS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    args.wanted = wanted or set(ALL_IDS) | set(EXTRAS)
    return args


@contextmanager
def step(what: str) -> Iterator[None]:
    """Progress on stderr: a full run takes minutes."""
    started = time.monotonic()
    print(f"bench: {what} …", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        print(f"bench: {what}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.wanted & set(ALL_IDS):  # start-up, RSS and disk need no load generator
        ensure_wrk()
    duration = args.duration or (1 if args.quick else 3)
    rounds = args.rounds or (1 if args.quick else 3)
    load = Load(duration, rounds, 0 if args.quick else 1, args.threads, args.connections)
    wanted: set[str] = args.wanted
    results = Results()
    results.meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "commit": git_commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load_average(),
        "quick": args.quick,
        "duration_s": duration,
        "rounds": rounds,
        "configs": {c.name: c.description for c in configs(Path("<tmp>"))},
        "warmup_s": load.warmup,
        "wrk": f"wrk -t{load.threads} -c{load.connections} -d{duration}s --latency -s bench/lua/<shape>.lua",
    }
    began = time.monotonic()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    workdir = (
        nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="logfiles-bench-")
    )
    with workdir as tmp_name:
        tmp = Path(tmp_name).resolve()
        by_name = {c.name: c for c in configs(tmp)}
        for config in by_name.values():
            disk = config.name == "sqlite" and "disk" in wanted  # the fully seeded one
            with step(f"load, {config.name}"):
                run_group(config, wanted, load, tmp, results, disk)
        if "startup" in wanted:
            repeats = 3 if args.quick else 5
            for name, as_baseline in (("memory", False), ("memory", True), ("sqlite", False)):
                config = by_name[name]
                try:
                    with step(f"start-up, {'baseline-' if as_baseline else ''}{name}"):
                        entry = measure_startup(config, repeats, tmp, as_baseline)
                except FAILURES as exc:
                    results.failed = results.failed or not config.sqlite
                    entry = {
                        "config": name,
                        "status": f"{'unavailable' if config.sqlite else 'failed'}: {exc}",
                    }
                results.startup.append(entry)
        if "rss" in wanted:
            points = (100_000,) if args.quick else (100_000, 1_000_000)
            with step("RSS, memory"):
                results.rss = measure_rss(by_name["memory"], points, tmp)
            results.failed = results.failed or any("status" in r for r in results.rss)
    results.meta["load_after"] = load_average()
    results.meta["elapsed_s"] = round(time.monotonic() - began, 1)
    results.notes.append(
        f"the whole run took {results.meta['elapsed_s']} s; wrk shares the machine's "
        f"{os.cpu_count()} CPUs with the servers: absolute numbers are the machine's, ratios the stub's"
    )
    table = render(results)
    print(table)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "latest.md").write_text(table + "\n")
    (args.results_dir / "latest.json").write_text(json.dumps(as_json(results), indent=2) + "\n")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
