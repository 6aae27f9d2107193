"""What a test's set-up costs through the pytest plugin's stub (issue 14), against a no-op call.

The plugin serves the app from a thread of the test process (logfiles.testing.running_stub)
and talks to it with logfiles.client.StubClient, one HTTP request per call. Measured here,
in one run, as medians of many rounds:

- baseline: one control call that does nothing (GET /_control/clock): the floor of any call;
- reset, then seed one agent and one log file: two calls (how tests did it before);
- reset with the seed in the same call (POST /_control/reset with a state document);
- the same after a test that left 10,000 log files behind (a reset must not cost more);
- a whole small test: reset with its seed, then one PATCH of the log file.

Usage: .venv/bin/python bench/setup_cost.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from logfiles.client import StubClient
from logfiles.testing import running_stub

SMALL: dict[str, Any] = {
    "agents": [{"id": "a1", "project_id": "110011"}],
    "logfiles": [{"id": "l1", "agent_id": "a1"}],
}


def median_ms(run: Callable[[], object], rounds: int, before: Callable[[], object] | None = None) -> float:
    """The median wall time of `run` in milliseconds; `before` (untimed) runs ahead of each round."""
    for _ in range(max(3, rounds // 10)):  # warm up
        if before is not None:
            before()
        run()
    times = []
    for _ in range(rounds):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def patch_started(stub: StubClient) -> None:
    body = json.dumps([{"op": "replace", "path": "/state", "value": "started"}]).encode()
    request = urllib.request.Request(
        f"{stub.url}/v2/110011/agents/a1/logfiles/l1",
        data=body,
        method="PATCH",
        headers={"X-Auth-Token": "t", "Content-Type": "application/json-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 204


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args(argv)
    rounds = args.rounds
    with running_stub() as stub:

        def leave_10k() -> None:
            stub.reset(agents=SMALL["agents"], generate=[{"agent_id": "a1", "count": 10_000}])

        def whole_test() -> None:
            stub.reset(**SMALL)
            patch_started(stub)

        rows = [
            ("baseline: a no-op control call", median_ms(stub.clock, args.rounds)),
            ("reset, then seed (two calls)", median_ms(lambda: (stub.reset(), stub.seed(**SMALL)), rounds)),
            ("reset with the seed (one call)", median_ms(lambda: stub.reset(**SMALL), args.rounds)),
            (
                "reset with the seed, after 10,000 log files",
                median_ms(lambda: stub.reset(**SMALL), max(20, args.rounds // 10), before=leave_10k),
            ),
            ("a whole test: reset with the seed, one PATCH", median_ms(whole_test, args.rounds)),
        ]
    base = rows[0][1]
    print("| set-up | median ms | x baseline |")
    print("| --- | ---: | ---: |")
    for name, value in rows:
        print(f"| {name} | {value:.2f} | {value / base:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
