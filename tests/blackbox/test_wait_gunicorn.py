"""Waits under gunicorn's gevent workers: across workers and instances, and many at once.

A wait is a sleeping greenlet that holds no store connection; one watcher per worker reads
the shared journal (logfiles/waiting.py). So a wait sent to one worker (or instance) is
answered when another journals the request, and hundreds of waits leave every worker free
to answer everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.blackbox.conftest import LiveServer

TOKEN = {"X-Auth-Token": "t"}
WAITERS = 200
ANSWER_DEADLINE = 60.0


def store_env(kind: str, tmp_path: Path, request: pytest.FixtureRequest, workers: int) -> dict[str, str]:
    if kind == "memory":
        return {"LOGFILES_STORE": "memory", "LOGFILES_WORKERS": "1"}
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    return {"LOGFILES_STORE": url, "LOGFILES_WORKERS": str(workers)}


def wait(server: LiveServer, query: str) -> requests.Response:
    with requests.Session() as session:
        return session.get(f"{server.url}/_control/requests/wait?{query}", timeout=ANSWER_DEADLINE + 10)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_wait_on_one_instance_is_answered_by_a_request_to_another(
    kind: str, request: pytest.FixtureRequest, launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    env = store_env(kind, tmp_path, request, workers=2)
    waited_on, other = launch(env=env), launch(env=env)  # two instances, one database
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(wait, waited_on, "method=DELETE&path=/v2/p/agents/*&timeout=60")
        registered = requests.post(
            f"{other.url}/_control/state", json={"agents": [{"id": "a1", "project_id": "p"}]}, timeout=10
        )
        assert registered.status_code == 200, registered.text
        deleted = requests.delete(f"{other.url}/v2/p/agents/a1", headers=TOKEN, timeout=10)
        assert deleted.status_code == 204
        found = answer.result(timeout=ANSWER_DEADLINE)
    assert found.status_code == 200, found.text
    assert (found.json()["method"], found.json()["path"], found.json()["status"]) == (
        "DELETE",
        "/v2/p/agents/a1",
        204,
    )


@pytest.mark.parametrize(("kind", "workers"), [("sqlite", 4), ("memory", 1)])
def test_two_hundred_waits_leave_the_workers_answering_everything_else(
    kind: str, workers: int, request: pytest.FixtureRequest, launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=store_env(kind, tmp_path, request, workers))
    with ThreadPoolExecutor(max_workers=WAITERS) as pool:
        waits: list[Future[requests.Response]] = [
            pool.submit(wait, server, "path=/v2/p/agents/awaited&timeout=60") for _ in range(WAITERS)
        ]
        # Normal traffic while they wait: every request is answered, none times out.
        with requests.Session() as session:
            for n in range(100):
                answer = session.get(f"{server.url}/v2/p/agents/other-{n}", headers=TOKEN, timeout=10)
                assert answer.status_code == 404
            assert session.get(f"{server.url}/healthz", timeout=10).status_code == 200
            assert session.get(f"{server.url}/_control/requests?after=0", timeout=10).status_code == 200
        assert not any(each.done() for each in waits), [each.result().text for each in waits if each.done()]
        # The one request they wait for answers them all, whichever worker each is on.
        awaited = requests.get(f"{server.url}/v2/p/agents/awaited", headers=TOKEN, timeout=10)
        assert awaited.status_code == 404
        answers = [each.result(timeout=ANSWER_DEADLINE) for each in waits]
    bodies: list[dict[str, Any]] = [answer.json() for answer in answers]
    assert [answer.status_code for answer in answers] == [200] * WAITERS
    assert {(body["seq"], body["path"]) for body in bodies} == {(bodies[0]["seq"], "/v2/p/agents/awaited")}
