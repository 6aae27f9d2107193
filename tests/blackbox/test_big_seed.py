"""A big seed or export must not cost the state nor stop the worker (issue 20, point 3).

gunicorn kills a worker that has not reported for `--timeout` seconds; the memory store's
state goes with it. The stub is started with a short timeout (3 s), and then seeded, and
exported, with documents that take several times that to handle: every /healthz probe sent
meanwhile must be answered (a generous deadline, no timing asserted), and afterwards the
state (a marker agent seeded first) must still be there and the log must show no timeout.
Before the seed and export worked in pieces, the worker was killed half-way.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import requests

from tests.blackbox.conftest import LiveServer

TIMEOUT_SECONDS = "3"
LISTED = 100_000  # validated item by item: the slowest kind of log file to seed
GENERATED = 400_000
ANSWER_DEADLINE = 30.0  # seconds: far past any pause, short of a hang
HEADERS = {"X-Auth-Token": "t", "Content-Type": "application/json"}


class Prober:
    """Sends /healthz one after another on its own thread until stopped; keeps every outcome."""

    def __init__(self, server: LiveServer) -> None:
        self.url = f"http://127.0.0.1:{server.port}/healthz"
        self.outcomes: list[int | str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self.stopping.wait(0.05):
                try:
                    self.outcomes.append(session.get(self.url, timeout=ANSWER_DEADLINE).status_code)
                except requests.RequestException as exc:
                    self.outcomes.append(type(exc).__name__)

    def __enter__(self) -> Prober:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(ANSWER_DEADLINE + 5)


def test_big_seed_and_export_keep_the_worker_and_the_state(launch: Callable[..., LiveServer]) -> None:
    server = launch(args=("--timeout", TIMEOUT_SECONDS))
    base = f"http://127.0.0.1:{server.port}"
    marker = {"agents": [{"id": "kept", "project_id": "p"}]}
    assert requests.post(f"{base}/_control/state", json=marker, timeout=ANSWER_DEADLINE).status_code == 200
    document = {
        "agents": [{"id": "big", "project_id": "p"}],
        "logfiles": [{"id": f"l{n}", "agent_id": "big"} for n in range(LISTED)],
        "generate": [{"agent_id": "big", "count": GENERATED}],
    }
    body = json.dumps(document).encode()
    with Prober(server) as seeding:
        seeded = requests.post(f"{base}/_control/state", data=body, headers=HEADERS, timeout=300)
    assert seeded.status_code == 200, seeded.text[:500]
    assert seeded.json()["counts"]["logfiles"] == LISTED + GENERATED
    with Prober(server) as exporting:
        exported = requests.get(f"{base}/_control/state", timeout=300)
    assert exported.status_code == 200
    assert len(exported.json()["logfiles"]) == LISTED + GENERATED
    for probes in (seeding.outcomes, exporting.outcomes):
        assert probes, "no probe was sent while the request ran"
        assert set(probes) == {200}, probes
    kept = requests.get(f"{base}/v2/p/agents/kept", headers=HEADERS, timeout=ANSWER_DEADLINE)
    assert kept.status_code == 200, "the worker was restarted: the memory store lost its state"
    assert "WORKER TIMEOUT" not in server.output()
