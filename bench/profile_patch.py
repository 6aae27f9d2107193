"""Where a PATCH's time goes in the app: cProfile of N same-value PATCHes through Flask's test client.

Run from the repository root: `python bench/profile_patch.py [--requests N] [--journal-size N]`.
No server, no socket: this is the app's own cost per request (routing, hooks, the view,
the store, the journal), the part the bench's ratio says the stub adds over bare Flask.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logfiles import Settings, create_app

PATCH_BODY = b'[{"op":"replace","path":"/state","value":"started"}]'
HEADERS = {"X-Auth-Token": "t", "Content-Type": "application/json-patch+json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--journal-size", type=int, default=Settings().journal_size)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    app = create_app(Settings(journal_size=args.journal_size))
    client = app.test_client()
    seeded = client.post(
        "/_control/state",
        json={"agents": [{"id": "a10", "project_id": "p"}], "generate": [{"agent_id": "a10", "count": 10}]},
    ).get_json()
    path = f"/v2/p/agents/a10/logfiles/{seeded['logfiles'][0]['id']}"

    def patch_many(count: int) -> None:
        for _ in range(count):
            response = client.patch(path, data=PATCH_BODY, headers=HEADERS)
            if response.status_code != 204:
                raise SystemExit(f"PATCH answered {response.status_code}: {response.data[:200]!r}")

    patch_many(200)  # warm-up: first-request imports and caches
    started = time.perf_counter()
    patch_many(args.requests)
    plain = (time.perf_counter() - started) / args.requests
    print(
        f"{args.requests} PATCHes, journal size {args.journal_size}: {plain * 1e6:.0f} µs each (no profiler)"
    )

    profiler = cProfile.Profile()
    profiler.enable()
    patch_many(args.requests)
    profiler.disable()
    stats = pstats.Stats(profiler)
    for order in ("cumulative", "tottime"):
        print(f"\n--- by {order} ---")
        stats.sort_stats(order).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
