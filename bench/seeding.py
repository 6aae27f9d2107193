"""Seeding cost against what the store already holds: POST /_control/state through the test client.

Run from the repository root with the venv's python: `python bench/seeding.py [--sizes 0,30000,300000]`.
Nothing listens on a socket: each store gets an app from the factory and Flask's test client.
For each size the store is grown (by one `generate` request) to that many log files under one
agent, then three small seeds are timed, each the median of `--repeat` runs:
- "new agent": one new agent with one log file (`POST`, ids checked against what is there);
- "existing agent": one log file for the big agent (its project is looked up in the store);
- "conflict": one log file whose id is taken (409, nothing changes).
A seed should cost what it adds, so each column ought to stay flat as the store grows. A
second table gives the time of the bulk seeds that grew the stores.

Measured on the 2-core shared VM (Python 3.11, SQLite 3.40, other jobs running), medians in ms.

Before (commit a409cff: the view exported the whole state to learn projects, and the
stores loaded or copied every id to check an import):

| store | log files there | new agent | existing agent | conflict |
| --- | ---: | ---: | ---: | ---: |
| memory | 0 | 0.3 | 0.2 | 0.2 |
| memory | 30,000 | 1.5 | 1.5 | 1.5 |
| memory | 300,000 | 36.8 | 33.6 | 24.5 |
| sqlite | 0 | 0.3 | 0.3 | 0.3 |
| sqlite | 30,000 | 71.3 | 70.7 | 76.8 |
| sqlite | 300,000 | 882.3 | 884.4 | 866.2 |

| store | log files generated at once | seconds |
| --- | ---: | ---: |
| memory | 29,999 | 0.10 |
| memory | 270,000 | 1.06 |
| sqlite | 29,999 | 0.25 |
| sqlite | 270,000 | 3.04 |

After (only the imported ids are looked up; SQLite keys log files by (id, agent_id)):

| store | log files there | new agent | existing agent | conflict |
| --- | ---: | ---: | ---: | ---: |
| memory | 0 | 0.3 | 0.2 | 0.2 |
| memory | 30,000 | 0.3 | 0.2 | 0.2 |
| memory | 300,000 | 0.3 | 0.2 | 0.2 |
| sqlite | 0 | 0.3 | 0.3 | 0.2 |
| sqlite | 30,000 | 0.5 | 0.3 | 0.2 |
| sqlite | 300,000 | 0.5 | 0.4 | 0.2 |

| store | log files generated at once | seconds |
| --- | ---: | ---: |
| memory | 29,999 | 0.12 |
| memory | 270,000 | 1.04 |
| sqlite | 29,999 | 0.26 |
| sqlite | 270,000 | 3.08 |
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from logfiles import Settings, create_app

BIG_AGENT = "big"
PROJECT = "110011"
# A run over the default sizes takes well under a minute; this stops a pathological one.
DEADLINE_SECONDS = 300.0


def seed(client: FlaskClient, document: dict[str, Any], expected: int = 200) -> None:
    answer = client.post("/_control/state", json=document)
    if answer.status_code != expected:
        raise SystemExit(f"seeding answered {answer.status_code}: {answer.get_data(as_text=True)[:500]}")


def median_ms(run: Callable[[int], None], repeat: int) -> float:
    times = []
    for n in range(repeat):
        start = time.perf_counter()
        run(n)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(client: FlaskClient, size: int, repeat: int) -> list[float]:
    """The three seeds' medians for a store holding `size` log files (and some earlier seeds)."""

    def new_agent(n: int) -> None:
        agent_id = f"new-{size}-{n}"
        seed(
            client,
            {"agents": [{"id": agent_id, "project_id": PROJECT}], "logfiles": [{"agent_id": agent_id}]},
        )

    def existing_agent(n: int) -> None:
        seed(client, {"logfiles": [{"agent_id": BIG_AGENT}]})

    def conflict(n: int) -> None:
        seed(client, {"logfiles": [{"id": "taken", "agent_id": BIG_AGENT}]}, expected=409)

    return [median_ms(run, repeat) for run in (new_agent, existing_agent, conflict)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,30000,300000", help="log files already there, ascending")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measure (median)")
    parser.add_argument("--stores", default="memory,sqlite")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    deadline = time.monotonic() + DEADLINE_SECONDS
    growth: list[str] = []
    print("| store | log files there | new agent | existing agent | conflict |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="seeding-bench-") as tmp:
        for store in args.stores.split(","):
            url = "memory" if store == "memory" else f"sqlite:///{Path(tmp) / 'seeding.db'}"
            app = create_app(Settings(store_url=url, journal_size=0))
            client = app.test_client()
            seed(client, {"agents": [{"id": BIG_AGENT, "project_id": PROJECT}]})
            seed(client, {"logfiles": [{"id": "taken", "agent_id": BIG_AGENT}]})
            there = 1
            for size in sizes:
                if time.monotonic() > deadline:
                    print(f"stopped: over {DEADLINE_SECONDS:.0f} s", file=sys.stderr)
                    return 1
                if size > there:
                    start = time.perf_counter()
                    seed(client, {"generate": [{"agent_id": BIG_AGENT, "count": size - there}]})
                    growth.append(f"| {store} | {size - there:,} | {time.perf_counter() - start:.2f} |")
                    there = size
                cells = " | ".join(f"{ms:,.1f}" for ms in measure(client, size, args.repeat))
                print(f"| {store} | {size:,} | {cells} |", flush=True)
            app.extensions["logfiles"].store.close()
    # What the bulk seeds that grew the stores took: the price of the lookups that make the
    # small seeds cheap (SQLite keeps an index on log-file ids up to date) shows here.
    print("\n| store | log files generated at once | seconds |\n| --- | ---: | ---: |")
    print("\n".join(growth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
