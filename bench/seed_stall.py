"""Benchmark: /healthz while a maximum-size state document is seeded, then exported, on 127.0.0.1.

Run from the repository root with the venv's python: `python bench/seed_stall.py [--logfiles 2000000]`.
For each store (memory: one worker; SQLite: two) it starts the stub under gunicorn
(gunicorn.conf.py, gunicorn's default 30 s worker timeout), then `POST /_control/state` with one
agent and `--logfiles` listed log files (2,000,000, about 51 MiB, is the documented bound),
then `GET /_control/state`, while another thread sends /healthz one after another. It prints
how long the seed and the export took and the probes' p50, p99 and maximum in ms during each,
and whether the worker survived (the seeded state is still there, no WORKER TIMEOUT logged).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/seed_stall.py`: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import Server, http_request

PROBE_TIMEOUT = 60.0


class Prober:
    """/healthz one after another on its own thread; latencies in ms, and failures."""

    def __init__(self, port: int, path: str = "/healthz") -> None:
        self.port = port
        self.path = path
        self.latencies: list[float] = []
        self.failures = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(0.02):
            start = time.perf_counter()
            try:
                status, _ = http_request(
                    self.port, "GET", self.path, headers={"X-Auth-Token": "t"}, timeout=PROBE_TIMEOUT
                )
            except OSError:
                status = 0
            if status == 200:
                self.latencies.append((time.perf_counter() - start) * 1000)
            else:
                self.failures += 1

    def __enter__(self) -> Prober:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(PROBE_TIMEOUT + 5)

    def row(self) -> str:
        found = sorted(self.latencies)
        if not found:
            return f"no answer | | | {self.failures}"
        p99 = found[min(len(found) - 1, int(len(found) * 0.99))]
        return f"{statistics.median(found):.1f} | {p99:.1f} | {found[-1]:.1f} | {self.failures}"


def run(store: str, env: dict[str, str], logfiles: int, directory: Path, probe: str) -> list[str]:
    document = {
        "agents": [{"id": "a1", "project_id": "p"}],
        "logfiles": [{"id": f"logfile-{n:07d}", "agent_id": "a1"} for n in range(logfiles)],
    }
    body = json.dumps(document).encode()
    server = Server(store, "wsgi:app", env, directory).start()
    rows = []
    try:
        headers = {"Content-Type": "application/json", "X-Auth-Token": "t"}
        for phase, method, payload in (("seed", "POST", body), ("export", "GET", None)):
            with Prober(server.port, probe) as prober:
                start = time.perf_counter()
                status, answer = http_request(server.port, method, "/_control/state", payload, headers, 600)
                seconds = time.perf_counter() - start
            size = f"{len(payload or answer) / 2**20:.0f} MiB"
            rows.append(f"| {store} | {phase} | {size} | {status} | {seconds:.1f} | {prober.row()} |")
        status, _ = http_request(server.port, "GET", "/v2/p/agents/a1", None, headers, 30)
        timed_out = "WORKER TIMEOUT" in (server.live.output() if server.live else "")
        rows.append(
            f"| {store} | worker kept its state | | {status} | | {'no' if timed_out else 'yes'} | | | |"
        )
    finally:
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logfiles", type=int, default=2_000_000)
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--probe", default="/healthz", help="the path probed meanwhile (GET, any token)")
    args = parser.parse_args()
    print(f"| store | request | body | status | seconds | {args.probe} p50 ms | p99 ms | max ms | failed |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.stores.split(","):
            env = (
                {}
                if store == "memory"
                else {"LOGFILES_STORE": f"sqlite:///{tmp}/bench.db", "LOGFILES_WORKERS": "2"}
            )
            for row in run(store, env, args.logfiles, Path(tmp), args.probe):
                print(row, flush=True)


if __name__ == "__main__":
    main()
