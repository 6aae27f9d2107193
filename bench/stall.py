"""Benchmark: normal requests while many clients stall, on 127.0.0.1 only.

Run from the repository root with the venv's python: `python bench/stall.py [--stalled 1000]`.
For each store it starts the stub under gunicorn (gunicorn.conf.py), seeds one log file, and
drives `GET` of it with wrk: with no other client ("quiet"), then with `--stalled` connections
open that each sent a request's headers and 1 byte of its 10-byte body and then nothing
more (they hold their connection until the server's read timeout, longer than the run):
the first 2 s while the server takes them in ("opening"), then the steady state ("stalled").
It prints, per store, requests/s, p50 and p99 of each run, and the errors wrk saw.

`--crowd 5000` measures something else (issue 20): how fast probes are answered while 5,000
clients hold a connection each (past the 4,096 a worker once took), per store (memory: the
default serve; SQLite: 2 workers). Of the crowd, one in five is an abandoned
`GET /_control/requests/wait?timeout=60`, the rest bodies that trickle a byte every 5 s.
For `--duration` seconds it sends probes one after another, each on a new connection:
`/healthz`, `GET /_control/faults`, a `/v2` GET (404); it prints their count, p50, p99 and
worst in milliseconds, and any probe not answered within 30 s. It raises its own open-files
soft limit for the crowd. No wrk needed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):  # `python bench/stall.py`: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import Load, WrkResult
from bench.servers import Server, running

SEED = {
    "agents": [{"id": "a1", "project_id": "p"}],
    "logfiles": [{"id": "l1", "agent_id": "a1"}],
}
PATH = "/v2/p/agents/a1/logfiles/l1"
OPENING_SECONDS = 2
STALLED_REQUEST = (
    b"POST /v2/p/agents HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
    b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{"
)


@contextlib.contextmanager
def stalled(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections stalled in their request body; all closed on exit."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sockets.append(sock)
            sock.sendall(STALLED_REQUEST)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def still_open(sockets: list[socket.socket]) -> int:
    """How many of `sockets` the server has not closed."""
    count = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            count += sock.recv(1) != b""
        except BlockingIOError:
            count += 1
        except OSError:
            pass
    return count


def row(result: WrkResult) -> dict[str, float | int]:
    return {
        "rps": round(result.rps, 1),
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
    }


def measure(name: str, env: dict[str, str], load: Load, count: int, tmp: Path) -> dict[str, object]:
    server = Server(f"stall-{name}", "wsgi:app", env, tmp)
    with running(server):
        status, answer = server.request(
            "POST", "/_control/state", json.dumps(SEED).encode(), {"Content-Type": "application/json"}
        )
        if status != 200:
            raise SystemExit(f"seeding answered {status}: {answer[:200]!r}")
        url = server.url(PATH)
        quiet = load.wrk(url, "get", load.duration)
        with stalled(server.port, count) as sockets:
            # The server reads the stalled requests' headers and starts them right after they
            # connect: that burst is measured on its own, then the steady state.
            opening = load.wrk(url, "get", OPENING_SECONDS)
            busy = load.wrk(url, "get", load.duration)
            held = still_open(sockets)
    return {
        "store": name,
        "quiet": row(quiet),
        "opening": row(opening),
        "stalled": row(busy),
        "stalled_open_at_end": held,
    }


CROWD_WAIT = b"GET /_control/requests/wait?timeout=60&path=/nothing/comes HTTP/1.1\r\nHost: x\r\n\r\n"
CROWD_BODY = (
    b"POST /v2/p/agents HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
)
PROBES = (
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /_control/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /v2/p/agents/none HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\nConnection: close\r\n\r\n",
)
PROBE_DEADLINE = 30.0
TRICKLE_SECONDS = 5.0


def raise_files_limit(wanted: int) -> None:
    """This process's soft open-files limit up to `wanted` (SystemExit if the hard limit is lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise SystemExit(f"the open-files hard limit is {hard}: {wanted} sockets cannot be opened")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def probe(port: int, request: bytes) -> float | None:
    """Milliseconds from connecting to the end of the answer; None if none within PROBE_DEADLINE."""
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_DEADLINE) as sock:
            sock.sendall(request)
            answer = b""
            while piece := sock.recv(65536):
                answer += piece
    except OSError:
        return None
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return (time.perf_counter() - started) * 1000


def crowd_row(name: str, env: dict[str, str], count: int, seconds: float, tmp: Path) -> dict[str, object]:
    server = Server(f"crowd-{name}", "wsgi:app", env, tmp)
    heads = [CROWD_WAIT if i % 5 == 0 else CROWD_BODY for i in range(count)]
    with running(server):
        sockets: list[socket.socket] = []
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(TRICKLE_SECONDS):
                for sock, head in zip(sockets, heads, strict=False):
                    if head is CROWD_BODY:
                        with contextlib.suppress(OSError):
                            sock.send(b" ")

        trickler = threading.Thread(target=trickle, daemon=True)
        try:
            opening = time.perf_counter()
            for head in heads:
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=PROBE_DEADLINE)
                sockets.append(sock)
                sock.sendall(head)
            opened_s = time.perf_counter() - opening
            trickler.start()
            times: list[float] = []
            missed = 0
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for request in PROBES:
                    took = probe(server.port, request)
                    if took is None:
                        missed += 1
                    else:
                        times.append(took)
            held = still_open(sockets)
        finally:
            stop.set()
            for sock in sockets:
                sock.close()
    times.sort()

    def pick(fraction: float) -> float:
        return round(times[min(len(times) - 1, int(fraction * len(times)))], 1) if times else float("nan")

    return {
        "store": name,
        "crowd": count,
        "crowd_opened_s": round(opened_s, 2),
        "crowd_open_at_end": held,
        "probes": len(times),
        "unanswered": missed,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "max_ms": round(times[-1], 1) if times else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stalled", type=int, default=1000, help="stalled connections (default 1000)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections (default 16)")
    parser.add_argument("--stores", default="memory,sqlite", help="memory, sqlite or both (default)")
    parser.add_argument("--crowd", type=int, default=0, help="probes under this many slow clients instead")
    args = parser.parse_args(argv)
    if args.crowd:
        raise_files_limit(args.crowd + 512)
        with tempfile.TemporaryDirectory(prefix="logfiles-crowd-") as tmp_name:
            tmp = Path(tmp_name)
            envs = {
                "memory": {},
                "sqlite": {"LOGFILES_STORE": f"sqlite:///{tmp / 'stub.db'}", "LOGFILES_WORKERS": "2"},
            }
            for name in args.stores.split(","):
                print(json.dumps(crowd_row(name, envs[name], args.crowd, args.duration, tmp)), flush=True)
        return 0
    load = Load(args.duration, 1, 0, 2, args.connections)
    with tempfile.TemporaryDirectory(prefix="logfiles-stall-") as tmp_name:
        tmp = Path(tmp_name)
        envs = {"memory": {}, "sqlite": {"LOGFILES_STORE": f"sqlite:///{tmp / 'stub.db'}"}}
        for name in args.stores.split(","):
            print(json.dumps(measure(name, envs[name], load, args.stalled, tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
