"""StubClient's waiting and asserting: the messages (pure), then against a stub in this process."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from logfiles.client import (
    MAX_LISTED,
    ControlError,
    StubClient,
    describe_request,
    format_received,
)
from logfiles.testing import running_stub

PATCH = "application/json-patch+json"


def received(
    seq: int, method: str = "GET", path: str = "/v2/p/agents", status: int = 200, query: str = ""
) -> Any:
    return {"seq": seq, "method": method, "path": path, "query": query, "status": status}


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({}, "(any method) (any path)"),
        ({"method": "patch"}, "PATCH (any path)"),
        ({"path": "/v2/*"}, "(any method) /v2/*"),
        (
            {"method": "PATCH", "path": "/v2/*/logfiles/l1", "status": 204, "agent_id": "a1", "after": 12},
            "PATCH /v2/*/logfiles/l1 with status 204 with X-Agent-Id a1 after #12",
        ),
        (
            {"status": 0, "since": "2014-09-23T12:22:40Z"},
            "(any method) (any path) with status 0 since 2014-09-23T12:22:40Z",
        ),
    ],
)
def test_describe_request_says_the_filters_in_words(filters: dict[str, Any], words: str) -> None:
    assert describe_request(**filters) == words


def test_format_received_lists_each_request_and_marks_the_matches() -> None:
    shown = format_received(
        [received(1, "POST", status=201), received(2, "GET", query="limit=2"), received(3, status=0)], {2}
    )
    assert shown == (
        "Received (3 requests, oldest first; * marks those the filters select):\n"
        "    #1 POST /v2/p/agents -> 201\n"
        "  * #2 GET /v2/p/agents?limit=2 -> 200\n"
        "    #3 GET /v2/p/agents -> dropped"
    )


def test_format_received_of_nothing_says_so() -> None:
    assert format_received([], set()) == "Received: nothing (the journal is empty)."


def test_format_received_shows_the_newest_and_counts_the_rest() -> None:
    lines = format_received([received(n) for n in range(1, MAX_LISTED + 8)], set()).splitlines()
    assert lines[0].startswith(f"Received ({MAX_LISTED + 7} requests")
    assert lines[1] == "    ... 7 earlier not shown"
    assert lines[2].startswith("    #8 GET") and len(lines) == MAX_LISTED + 2


# Against a stub served from this process.


@pytest.fixture(scope="module")
def server() -> Iterator[StubClient]:
    with running_stub() as stub:
        yield stub


@pytest.fixture
def stub(server: StubClient) -> StubClient:
    server.reset()
    server.seed(agents=[{"id": "a1", "project_id": "p"}], logfiles=[{"id": "l1", "agent_id": "a1"}])
    return server


def patch_state(stub: StubClient, value: str) -> None:
    body = json.dumps([{"op": "replace", "path": "/state", "value": value}]).encode()
    request = urllib.request.Request(
        f"{stub.url}/v2/p/agents/a1/logfiles/l1",
        data=body,
        method="PATCH",
        headers={"X-Auth-Token": "t", "Content-Type": PATCH},
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except urllib.error.HTTPError as exc:
        exc.close()


def test_wait_for_request_returns_the_entry_of_a_request_sent_meanwhile(stub: StubClient) -> None:
    agent = threading.Timer(0.1, patch_state, args=(stub, "started"))
    agent.start()
    entry = stub.wait_for_request(method="PATCH", path="/v2/*/logfiles/l1", timeout=10)
    agent.join(10)
    assert (entry["method"], entry["status"], entry["response_bytes"], entry["response_body"]) == (
        "PATCH",
        204,
        0,
        "",
    )


def test_wait_for_request_after_an_entry_waits_for_the_next(stub: StubClient) -> None:
    patch_state(stub, "completed")
    first = stub.wait_for_request(method="PATCH")
    agent = threading.Timer(0.1, patch_state, args=(stub, "started"))
    agent.start()
    second = stub.wait_for_request(method="PATCH", after=first["seq"], timeout=10)
    agent.join(10)
    assert (first["status"], second["status"]) == (204, 409)
    assert (
        json.loads(second["response_body"])["message"]
        == "The log file cannot go from 'completed' to 'started'."
    )


def test_wait_for_request_that_times_out_says_what_was_received(stub: StubClient) -> None:
    patch_state(stub, "started")
    with pytest.raises(TimeoutError) as excinfo:
        stub.wait_for_request(method="DELETE", timeout=0.05)
    assert str(excinfo.value) == (
        "No request matched DELETE (any path) within 0.05 s.\n"
        "Received (1 request, oldest first; * marks those the filters select):\n"
        "    #1 PATCH /v2/p/agents/a1/logfiles/l1 -> 204"
    ).replace("#1", f"#{stub.requests()[0]['seq']}")


def test_wait_for_request_past_the_bound_is_the_servers_400(stub: StubClient) -> None:
    with pytest.raises(ControlError) as excinfo:
        stub.wait_for_request(timeout=61)
    assert excinfo.value.status == 400
    assert excinfo.value.body["errors"] == ["timeout: must be from 0 to 60 seconds"]


def test_assert_requested_passes_and_returns_the_requests(stub: StubClient) -> None:
    patch_state(stub, "started")
    patch_state(stub, "started")
    assert [e["status"] for e in stub.assert_requested(method="PATCH")] == [204, 204]
    assert len(stub.assert_requested(method="PATCH", status=204, times=2)) == 2
    assert stub.assert_requested(method="DELETE", times=0) == []
    assert stub.count(method="PATCH") == 2 and stub.count(status=409) == 0


def test_assert_requested_fails_with_what_was_expected_and_received(stub: StubClient) -> None:
    patch_state(stub, "completed")
    patch_state(stub, "started")
    first = stub.requests()[0]["seq"]
    with pytest.raises(AssertionError) as excinfo:
        stub.assert_requested(method="PATCH", path="/v2/*/logfiles/l1", times=1)
    assert str(excinfo.value) == (
        "Expected PATCH /v2/*/logfiles/l1 to have been requested once. Requested twice.\n"
        "Received (2 requests, oldest first; * marks those the filters select):\n"
        f"  * #{first} PATCH /v2/p/agents/a1/logfiles/l1 -> 204\n"
        f"  * #{first + 1} PATCH /v2/p/agents/a1/logfiles/l1 -> 409"
    )
    with pytest.raises(
        AssertionError, match=r"^Expected DELETE \(any path\) to have been requested at least "
    ):
        stub.assert_requested(method="DELETE")
    with pytest.raises(AssertionError, match=r"requested 0 times\. Requested once\.\n"):
        stub.assert_requested(status=409, times=0)
