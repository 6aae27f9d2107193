"""The gunicorn worker's pieces that need no server: the fault body, and dropping a timed-out body."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from gunicorn import util

from logfiles.connections import drop_on_read_timeout as _drop_on_read_timeout
from logfiles.worker import _Captured, fault_answer


class _Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args)


def _page(status: int, reason: str, message: str) -> bytes:
    captured = _Captured()
    util.write_error(captured, status, reason, message)
    return captured.data


def test_fault_answer_keeps_the_status_and_carries_gunicorns_message() -> None:
    answer = fault_answer(_page(414, "URI Too Long", "Request Line is too large (8191 > 8190)"), "x")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Content-Type: application/json" in head and b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head
    document = json.loads(body)
    assert document["errors"] == ["http: Request Line is too large (8191 > 8190)"]
    assert "414" in document["message"]


def test_fault_answer_for_gunicorns_500_says_nothing_internal() -> None:
    document = json.loads(
        fault_answer(_page(500, "Internal Server Error", ""), "secret").partition(b"\r\n\r\n")[2]
    )
    assert "secret" not in json.dumps(document) and document["errors"]


def _app_reading_body(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    try:
        environ["wsgi.input"].read(10)
    except TimeoutError:
        start_response("500 INTERNAL SERVER ERROR", [])
        return [b"{}"]
    start_response("200 OK", [])
    return [b"ok"]


class _Stalled(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise TimeoutError("timed out")


def test_a_body_read_that_times_out_gets_no_answer() -> None:
    log = _Log()
    app = _drop_on_read_timeout(_app_reading_body, log)
    with pytest.raises(StopIteration):
        app({"wsgi.input": _Stalled(), "REQUEST_METHOD": "POST", "RAW_URI": "/v2"}, lambda *a: None)
    assert log.warnings and "POST /v2" in log.warnings[0]


def test_a_read_after_a_timeout_fails_at_once() -> None:
    from logfiles.connections import TimedInput as _TimedInput

    stream = _TimedInput(_Stalled())
    with pytest.raises(TimeoutError):
        stream.read(1)
    stream._stream = io.BytesIO(b"late")  # would answer now; the body is given up all the same
    with pytest.raises(TimeoutError):
        stream.read(1)


def test_a_body_read_in_time_is_answered() -> None:
    app = _drop_on_read_timeout(_app_reading_body, _Log())
    assert list(app({"wsgi.input": io.BytesIO(b"{}")}, lambda *a: None)) == [b"ok"]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_body_that_trickles_past_its_total_deadline_is_given_up() -> None:
    from logfiles.connections import BODY_GRACE, BODY_RATE
    from logfiles.connections import TimedInput as _TimedInput

    clock = _Clock()
    stream = _TimedInput(io.BytesIO(b"x" * (4 * BODY_RATE)), clock=clock)
    clock.now += BODY_GRACE - 1  # a byte now and then: every read in time, no READ_TIMEOUT
    assert stream.read(BODY_RATE) == b"x" * BODY_RATE  # 64 KiB in: one more second
    clock.now += 2.5  # 61.5 s: past 60 s + 1 s
    with pytest.raises(TimeoutError):
        stream.read(1)
    assert stream.timed_out and "64 KiB" in stream.reason


def test_a_body_at_a_slow_links_pace_stays_inside_its_deadline() -> None:
    from logfiles.connections import BODY_RATE
    from logfiles.connections import TimedInput as _TimedInput

    clock = _Clock()
    stream = _TimedInput(io.BytesIO(b"x" * (64 * BODY_RATE)), clock=clock)
    for _ in range(64):  # 64 x 64 KiB at 64 KiB/s: 64 s in all, past the grace alone
        clock.now += 1.0
        assert len(stream.read(BODY_RATE)) == BODY_RATE
    assert not stream.timed_out


class _Sent:
    def __init__(self) -> None:
        self.sent = b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def test_100_continue_is_sent_on_the_first_read_only() -> None:
    from logfiles.connections import Held as _Held
    from logfiles.connections import TimedInput as _TimedInput

    sock = _Sent()
    held = _Held(sock, 0.0, "app", continue_pending=True)
    stream = _TimedInput(io.BytesIO(b"{}"), held)
    assert stream.continue_pending and sock.sent == b""
    assert stream.read(1) == b"{" and stream.read(1) == b"}"
    assert sock.sent == b"HTTP/1.1 100 Continue\r\n\r\n" and not stream.continue_pending


def test_an_answer_while_the_client_waits_for_100_continue_closes_the_connection() -> None:
    from logfiles.connections import Held as _Held
    from logfiles.connections import TimedInput as _TimedInput
    from logfiles.connections import honour_connection_close as _honour_connection_close

    class _Response:
        closed = False

        def force_close(self) -> None:
            self.closed = True

        def start_response(self, *args: Any) -> None:
            pass

    response = _Response()
    stream = _TimedInput(io.BytesIO(b""), _Held(_Sent(), 0.0, "app", continue_pending=True))
    _honour_connection_close(response.start_response, stream)("413 PAYLOAD TOO LARGE", [])
    assert response.closed


def test_near_the_cap_the_holders_with_least_progress_are_closed_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from logfiles import connections as worker

    shut: list[object] = []
    monkeypatch.setattr(worker, "shut", shut.append)
    clock = _Clock()
    connections = worker.Connections(100, _Log(), clock)
    assert connections.reserve == 25
    # open() keys by greenlet; a test has one, so each is put in under a key of its own.
    helds = []
    for index in range(80):
        held = worker.Held(f"sock-{index}", clock.now + index, "body", received=1000 if index % 2 else 0)
        connections.held[index] = held
        connections.live += 1
        helds.append(held)
    helds[0].state = "app"  # a request being served (a wait, say) is never closed
    clock.now += 100
    newcomer = connections.open("new", "head")
    closed = connections.make_room(newcomer)
    # 81 in use, 75 allowed before the reserve: 6 over, and SHED_BATCH more at once.
    assert len(closed) == 6 + worker.SHED_BATCH
    assert newcomer not in closed and helds[0] not in closed
    assert all(held.received == 0 for held in closed)  # the ones that sent nothing go first
    assert [held.sock for held in closed] == shut
    assert connections.live == 81 - len(closed)
    assert connections.make_room(newcomer) == []  # room enough now
