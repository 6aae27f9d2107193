"""Load from wrk: one run's parsed report, and stub-versus-baseline rounds of a scenario."""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.scenarios import PATCH_BODY, PATCH_HEADERS, TOKEN, Scenario
from bench.servers import BenchError, Server

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

    def measured(self, server: Server, path: str, lua: str, seconds: int) -> WrkResult:
        """One wrk run against `server`, with the server's CPU time per request."""
        before = server.cpu_seconds()
        result = self.wrk(server.url(path), lua, seconds)
        spent = server.cpu_seconds() - before
        if result.requests:
            result.cpu_us = spent / result.requests * 1e6
        return result

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
            got = {server.name: self.measured(server, path, scenario.lua, self.duration) for server in order}
            rounds.append((got[stub.name], got[bare.name]))
        return rounds


def combine(results: list[WrkResult]) -> WrkResult:
    """Medians of the rates, latencies and CPU times, sums of the counts."""
    cpus = [r.cpu_us for r in results if r.cpu_us is not None]
    return WrkResult(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        cpu_us=statistics.median(cpus) if cpus else None,
    )
