"""`GET /_control/requests/wait` through Flask's test client, on every store."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from tests.conftest import Api, assert_fault

DEADLINE = 10.0


def wait(client: FlaskClient, query: str, **kw: Any) -> Any:
    return client.get(f"/_control/requests/wait?{query}", **kw)


def journal(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(f"/_control/requests?{query}").get_json()["requests"]
    return found


def test_wait_answers_at_once_with_a_request_already_journaled(api: Api, client: FlaskClient) -> None:
    agent_id = api.agent()
    response = wait(client, "method=POST&path=/v2/*/agents&timeout=0")
    assert response.status_code == 200
    found = response.get_json()
    assert found == journal(client)[0]
    assert found["path"] == api.url("agents") and agent_id in found["response_body"]


def test_wait_gives_the_oldest_match_and_after_skips_past_it(api: Api, client: FlaskClient) -> None:
    api.get_agent("a")
    api.get_agent("b")
    first = wait(client, "method=get&status=404").get_json()
    assert first["path"].endswith("/a")
    second = wait(client, f"method=GET&status=404&after={first['seq']}").get_json()
    assert second["path"].endswith("/b")
    assert [e["seq"] for e in journal(client, f"after={first['seq']}")] == [second["seq"]]


@pytest.mark.parametrize("timeout", ["0", "0.05"])
def test_wait_with_nothing_to_find_is_408_with_the_fault_body(
    api: Api, client: FlaskClient, timeout: str
) -> None:
    api.get_agent("a")
    body = assert_fault(wait(client, f"method=PATCH&agent_id=x&timeout={timeout}"), 408)
    assert body["message"] == "No request the filter selects was journaled in time."
    assert body["errors"] == [f"timeout: none within {float(timeout):g} s (method=PATCH, agent_id=x)"]


def test_wait_is_answered_by_a_request_made_while_it_waits(app: Flask, api: Api, client: FlaskClient) -> None:
    found: list[Any] = []
    waiter = threading.Thread(
        target=lambda: found.append(wait(app.test_client(), "method=DELETE&timeout=10")), daemon=True
    )
    waiter.start()
    deadline = time.monotonic() + DEADLINE
    while app.extensions["logfiles"].journal_watch.waiting() == 0:  # wait for the waiter to wait
        assert time.monotonic() < deadline and waiter.is_alive()
        time.sleep(0.001)
    agent_id = api.agent()
    assert api.delete_agent(agent_id).status_code == 204
    waiter.join(DEADLINE)
    (response,) = found
    assert response.status_code == 200
    assert (response.get_json()["method"], response.get_json()["status"]) == ("DELETE", 204)


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("timeout=60.000001", "timeout: must be from 0 to 60 seconds"),
        ("timeout=61", "timeout: must be from 0 to 60 seconds"),
        ("timeout=-1", "timeout: Not a number"),
        ("timeout=1e1", "timeout: Not a number"),
        ("timeout=nan", "timeout: Not a number"),
        ("timeout=inf", "timeout: Not a number"),
        ("timeout=0.1234567", "timeout: Not a number"),
        ("timeout=", "timeout: Not a number"),
        ("timeout=%EF%BC%95", "timeout: Not a number"),  # a fullwidth 5
        ("after=-1", "after: Not a journal entry number"),
        ("after=" + "9" * 19, "after: Not a journal entry number"),
        ("status=abc", "status:"),
        ("stauts=204", "stauts: Unknown field."),
    ],
)
def test_wait_past_its_bounds_is_400(client: FlaskClient, query: str, where: str) -> None:
    body = assert_fault(wait(client, query), 400)
    assert body["message"] == "The wait is not valid."
    assert body["errors"][0].startswith(where), body


def test_wait_of_sixty_seconds_is_allowed(api: Api, client: FlaskClient) -> None:
    api.get_agent("a")
    assert wait(client, "timeout=60").status_code == 200


def test_list_requests_after_is_bounded_too(client: FlaskClient) -> None:
    body = assert_fault(client.get("/_control/requests?after=x"), 400)
    assert body["errors"] == ["after: Not a journal entry number (1 to 18 ASCII digits)."]


def test_wait_itself_is_not_journaled(api: Api, client: FlaskClient) -> None:
    wait(client, "timeout=0")
    api.get_agent("a")
    assert [e["method"] for e in journal(client)] == ["GET"]


def test_wait_with_the_journal_off_is_409_at_once(store_url: str) -> None:
    app = create_app(Settings(store_url=store_url, journal_size=0))
    body = assert_fault(wait(app.test_client(), "timeout=60"), 409)
    assert body["errors"] == ["LOGFILES_JOURNAL_SIZE: 0, so no request is journaled"]
    app.extensions["logfiles"].store.close()


def test_wait_needs_the_control_token(store_url: str) -> None:
    app = create_app(Settings(store_url=store_url, control_token="c"))
    client = app.test_client()
    assert_fault(wait(client, "timeout=0"), 401)
    assert wait(client, "timeout=0", headers={"X-Control-Token": "c"}).status_code == 408
    app.extensions["logfiles"].store.close()
