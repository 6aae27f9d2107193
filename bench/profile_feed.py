"""An agent's poll in the app: CPU time of "nothing new" feed GETs, 10 vs 100k events kept, and a profile.

Run from the repository root: `python bench/profile_feed.py [--store URL] [--requests N] [--rounds R]`.
No server, no socket: Flask's test client, so this is the app's own cost per request (routing,
hooks, the view, the store, the journal) plus the test client's, which is the same for every
shape. The store is seeded as the bench seeds it (`bench/servers.py`: agents f10 and f100k in
project pf with 10 and 100,000 events), plus one log file for the details GET (the bench's
`get` row) to compare with. Each round times every shape once, in turn, as CPU time of this
process (`time.process_time`), which other work on a shared machine disturbs much less than
wall time, and the table gives each shape's best round (the least disturbed, as timeit
does) and the median. Then the shape given by `--profile` runs under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scenarios import SCENARIOS, TOKEN, fresh_markers
from bench.servers import feed_documents
from logfiles import Settings, create_app

BASE_URL = "http://127.0.0.1:40000"  # what wrk sends: 127.0.0.1 and a 5-digit port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default="memory", help="LOGFILES_STORE: memory, or sqlite:////tmp/p.db")
    parser.add_argument("--requests", type=int, default=1000, help="requests per shape and round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--profile", default="feed10", help="the shape to profile (a row key), or none")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    app = create_app(Settings(store_url=args.store))
    client = app.test_client()
    for document in feed_documents():
        answer = client.post("/_control/state", json=document)
        if answer.status_code != 200:
            raise SystemExit(f"seeding answered {answer.status_code}: {answer.data[:200]!r}")
    client.post(
        "/_control/state",
        json={"agents": [{"id": "a10", "project_id": "p"}], "generate": [{"agent_id": "a10", "count": 1}]},
    )
    logfile = client.get("/v2/p/agents/a10/logfiles", headers=TOKEN).get_json()["logfiles"][0]["id"]
    markers = fresh_markers()  # a fresh store, seeded in the bench's order
    shapes = {"get": f"/v2/p/agents/a10/logfiles/{logfile}"}
    shapes.update({s.key: s.path.format(**markers) for s in SCENARIOS if s.feed})

    def getter(path: str) -> Callable[[int], None]:
        def get_many(count: int) -> None:
            for _ in range(count):
                response = client.get(path, headers=TOKEN, base_url=BASE_URL)
                if response.status_code != 200:
                    raise SystemExit(f"GET {path} answered {response.status_code}: {response.data[:200]!r}")

        return get_many

    runs = {key: getter(path) for key, path in shapes.items()}
    for run in runs.values():
        run(200)  # warm-up: first-request imports and caches
    took: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(args.rounds):
        for key, run in runs.items():
            started = time.process_time()
            run(args.requests)
            took[key].append((time.process_time() - started) / args.requests * 1e6)

    print(f"store {args.store}; {args.rounds} rounds of {args.requests} requests per shape; CPU µs each")
    print("\n| shape | path | µs, best round | vs details | µs, median |")
    print("| --- | --- | ---: | ---: | ---: |")
    details = min(took["get"])
    for key, values in took.items():
        best, median = min(values), statistics.median(values)
        print(f"| {key} | `{shapes[key]}` | {best:.0f} | {best - details:+.0f} | {median:.0f} |")

    if args.profile in runs:
        profiler = cProfile.Profile()
        profiler.enable()
        runs[args.profile](args.requests)
        profiler.disable()
        stats = pstats.Stats(profiler)
        for order in ("cumulative", "tottime"):
            print(f"\n--- {args.profile}, by {order} ---")
            stats.sort_stats(order).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
