"""Where an agent's poll spends its time in the app: cProfile of N "nothing new" feed GETs.

Run from the repository root: `python bench/profile_feed.py [--requests N] [--events N] [--store URL]`.
No server, no socket: Flask's test client, so this is the app's own cost per request (routing,
hooks, the view, the store, the journal), the part the bench's ratio says the stub adds over
bare Flask. For comparison it times GET log file details the same way (the bench's `get` row).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logfiles import Settings, create_app

HEADERS = {"X-Auth-Token": "t"}
BASE_URL = "http://127.0.0.1:40000"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--events", type=int, default=10, help="events kept in the agent's feed")
    parser.add_argument("--store", default="memory", help="LOGFILES_STORE: memory, or sqlite:////tmp/p.db")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    app = create_app(Settings(store_url=args.store))
    client = app.test_client()
    document = {
        "agents": [{"id": "f", "project_id": "pf"}, {"id": "a", "project_id": "pf"}],
        "generate": [{"agent_id": "a", "count": 1}],
        "events": [{"agent_id": "f", "event": "startup"}] * args.events,
    }
    answer = client.post("/_control/state", json=document)
    if answer.status_code != 200:
        raise SystemExit(f"seeding answered {answer.status_code}: {answer.data[:200]!r}")
    latest = client.get("/v2/pf/agents/f/events?limit=1&sort_dir=desc", headers=HEADERS).get_json()
    feed = f"/v2/pf/agents/f/events?marker={latest['events'][0]['id']}"
    logfile = client.get("/v2/pf/agents/a/logfiles", headers=HEADERS).get_json()["logfiles"][0]["id"]
    details = f"/v2/pf/agents/a/logfiles/{logfile}"

    def getter(path: str) -> Callable[[int], None]:
        def get_many(count: int) -> None:
            for _ in range(count):
                response = client.get(path, headers=HEADERS, base_url=BASE_URL)
                if response.status_code != 200:
                    raise SystemExit(f"GET {path} answered {response.status_code}: {response.data[:200]!r}")

        return get_many

    feed_many, details_many = getter(feed), getter(details)
    for run in (feed_many, details_many):
        run(200)  # warm-up: first-request imports and caches
    shapes = (
        (f"feed, nothing new, {args.events:,} events kept", feed_many),
        ("log file details", details_many),
    )
    for name, run in shapes:
        started = time.perf_counter()
        run(args.requests)
        each = (time.perf_counter() - started) / args.requests
        print(f"{args.requests} GETs, {name}: {each * 1e6:.0f} µs each (no profiler)")

    profiler = cProfile.Profile()
    profiler.enable()
    feed_many(args.requests)
    profiler.disable()
    stats = pstats.Stats(profiler)
    for order in ("cumulative", "tottime"):
        print(f"\n--- feed, by {order} ---")
        stats.sort_stats(order).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
