"""One gunicorn instance on PostgreSQL: the worker model holds, a bad database stops the start."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

import pytest
import requests

from logfiles.store.postgres.connection import LOCK_CLASS
from tests.blackbox.conftest import LiveServer
from tests.conftest import REGISTRATION, TOKEN
from tests.pgcluster import PgCluster, free_port

AUTH = {"X-Auth-Token": TOKEN}
CONFIG_ERROR_STATUS = 4


def test_a_request_waiting_on_the_database_does_not_hold_up_its_worker(
    pg_url: str, pg_cluster: PgCluster, launch: Callable[..., LiveServer]
) -> None:
    """One worker: while a registration waits for a lock another session holds, the same
    worker answers other requests (psycopg waits through gevent, not in C)."""
    server = launch(env={"LOGFILES_STORE": pg_url, "LOGFILES_WORKERS": "1"})
    schema = pg_url.rsplit("%3D", 1)[1]
    answers: list[int] = []
    with pg_cluster.connect() as other:
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, schema))

        def register() -> None:
            answer = requests.post(f"{server.url}/v2/p/agents", json=REGISTRATION, headers=AUTH, timeout=30)
            answers.append(answer.status_code)

        waiting = threading.Thread(target=register)
        waiting.start()
        try:
            # Well inside the 10 s statement timeout the registration would otherwise end at.
            listed = requests.get(f"{server.url}/v2/p/agents", headers=AUTH, timeout=5)
            health = requests.get(f"{server.url}/healthz", timeout=5)
            assert listed.status_code == 200 and listed.json()["agents"] == []
            assert health.status_code == 200
            assert answers == []  # the registration is still waiting
        finally:
            other.execute("ROLLBACK")
            waiting.join(30)
    assert answers == [201]


def test_an_unreachable_database_stops_the_start_with_one_line(launch: Callable[..., LiveServer]) -> None:
    url = f"postgresql://stub:pa55word@127.0.0.1:{free_port()}/logfiles"
    server = launch(env={"LOGFILES_STORE": url}, wait=False)
    try:
        status = server.process.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running:\n{server.output()}")
    output = server.output()
    assert status == CONFIG_ERROR_STATUS, output
    assert output.startswith(
        "logfiles: configuration error: LOGFILES_STORE: cannot connect to PostgreSQL at 127.0.0.1:"
    ), output
    assert output.count("\n") == 1 and "pa55word" not in output, output
