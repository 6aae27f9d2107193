"""Load from wrk: one run's parsed report, and stub-versus-baseline rounds of a scenario."""

from __future__ import annotations

import re
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.scenarios import OBJECT_CONNECTIONS, Scenario
from bench.servers import BenchError, Target

LUA = Path(__file__).resolve().parent / "lua"


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int  # wrk's "Non-2xx or 3xx responses" (it counts statuses over 399)
    socket_errors: int
    cpu_us: float | None = None  # the server's CPU time per request (Server.cpu_seconds)
    read_bytes: float = 0.0  # wrk's "<n>MB read" (two decimals of its unit: about 1 % off)
    # CPU time per request of what else served it (Target.other_cpu_seconds: nginx, the database)
    other_cpu_us: dict[str, float] = field(default_factory=dict)


UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
UNIT_BYTES = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}


def parse_latency(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"wrk: unreadable latency {text!r}")
    return float(match[1]) * UNIT_MS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    """Read wrk's --latency report (the lines this depends on are wrk 4's)."""
    percentiles = {p: parse_latency(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)}
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in [^,]+, ([\d.]+)([KMGT]?B) read", output, re.M)
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
        read_bytes=float(total[2]) * UNIT_BYTES[total[3]],
    )


@dataclass(frozen=True)
class Load:
    duration: int  # seconds per measured run
    rounds: int  # measured runs per side and scenario
    warmup: int
    threads: int
    connections: int
    object_connections: int = OBJECT_CONNECTIONS  # for the object rows (1 MiB a request)

    def measured(self, server: Target, path: str, scenario: Scenario, seconds: int) -> WrkResult:
        """One wrk run against `server`, with its CPU time per request (the app's, and the others')."""
        before, others_before = server.cpu_seconds(), server.other_cpu_seconds()
        result = self.wrk(
            server.url(path), scenario.lua, seconds, self.connections_for(scenario), scenario.lua_args
        )
        spent, others = server.cpu_seconds() - before, server.other_cpu_seconds()
        if result.requests:
            result.cpu_us = spent / result.requests * 1e6
            result.other_cpu_us = {
                name: (others[name] - others_before[name]) / result.requests * 1e6
                for name in others
                if name in others_before
            }
        check_read(server, scenario, result)
        return result

    def connections_for(self, scenario: Scenario) -> int:
        """wrk's connections for the scenario (never fewer than its threads, which wrk refuses)."""
        return max(self.object_connections if scenario.object else self.connections, self.threads)

    def wrk(
        self, url: str, lua: str, seconds: int, connections: int | None = None, args: Sequence[str] = ()
    ) -> WrkResult:
        argv = [
            "wrk",
            f"-t{self.threads}",
            f"-c{connections or self.connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(LUA / f"{lua}.lua"),
            url,
            *(["--", *args] if args else []),  # the script's init(args)
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
        if done.returncode != 0:
            raise BenchError(f"wrk exited {done.returncode}: {done.stderr.strip()[-300:]}")
        return parse_wrk(done.stdout)

    def prepare(self, server: Target, scenario: Scenario, path: str) -> None:
        """One checked request of the shape (its expected status and size, or BenchError), then a warm-up."""
        status, answer = server.request(scenario.method, path, scenario.body, scenario.headers)
        if status != scenario.status:
            raise BenchError(f"{server.name}: {scenario.method} {path} answered {status}: {answer[:200]!r}")
        if scenario.answer_bytes is not None and len(answer) != scenario.answer_bytes:
            raise BenchError(
                f"{server.name}: {scenario.method} {path} answered {len(answer):,} bytes,"
                f" not {scenario.answer_bytes:,}"
            )
        if self.warmup:
            self.wrk(
                server.url(path), scenario.lua, self.warmup, self.connections_for(scenario), scenario.lua_args
            )

    def pair(
        self, stub: Target, bare: Target, scenario: Scenario, path: str
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
            got = {server.name: self.measured(server, path, scenario, self.duration) for server in order}
            rounds.append((got[stub.name], got[bare.name]))
        return rounds


def check_read(server: Target, scenario: Scenario, result: WrkResult) -> None:
    """BenchError when wrk read fewer bytes than the answers it counted must have carried.

    wrk counts an answer whatever its body; a body cut short would stall its connection (and
    show as a timeout), so this catches answers that are whole but too small.
    """
    if not scenario.answer_bytes:
        return
    least = result.requests * scenario.answer_bytes * 0.99  # wrk rounds to 2 decimals of its unit
    if result.read_bytes < least:
        raise BenchError(
            f"{server.name}: wrk read {result.read_bytes / 2**20:,.1f} MiB for {result.requests:,}"
            f" answers of {scenario.answer_bytes:,} bytes"
        )


def combine(results: list[WrkResult]) -> WrkResult:
    """Medians of the rates, latencies and CPU times, sums of the counts."""
    cpus = [r.cpu_us for r in results if r.cpu_us is not None]
    names = sorted({name for r in results for name in r.other_cpu_us})
    return WrkResult(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        cpu_us=statistics.median(cpus) if cpus else None,
        read_bytes=sum(r.read_bytes for r in results),
        other_cpu_us={
            name: statistics.median(r.other_cpu_us[name] for r in results if name in r.other_cpu_us)
            for name in names
        },
    )
