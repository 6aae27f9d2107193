"""Benchmark: normal requests while many clients stall, on 127.0.0.1 only.

Run from the repository root with the venv's python: `python bench/stall.py [--stalled 1000]`.
For each store it starts the stub under gunicorn (gunicorn.conf.py), seeds one log file, and
drives `GET` of it with wrk: with no other client ("quiet"), then with `--stalled` connections
open that each sent a request's headers and 1 byte of its 10-byte body and then nothing
more (they hold their connection until the server's read timeout, longer than the run):
the first 2 s while the server takes them in ("opening"), then the steady state ("stalled").
It prints, per store, requests/s, p50 and p99 of each run, and the errors wrk saw.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import tempfile
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stalled", type=int, default=1000, help="stalled connections (default 1000)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections (default 16)")
    parser.add_argument("--stores", default="memory,sqlite", help="memory, sqlite or both (default)")
    args = parser.parse_args(argv)
    load = Load(args.duration, 1, 0, 2, args.connections)
    with tempfile.TemporaryDirectory(prefix="logfiles-stall-") as tmp_name:
        tmp = Path(tmp_name)
        envs = {"memory": {}, "sqlite": {"LOGFILES_STORE": f"sqlite:///{tmp / 'stub.db'}"}}
        for name in args.stores.split(","):
            print(json.dumps(measure(name, envs[name], load, args.stalled, tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
