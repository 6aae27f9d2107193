"""The gunicorn worker's pieces that need no server: the fault body, and dropping a timed-out body."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from gunicorn import util

from logfiles.worker import _Captured, _drop_on_read_timeout, fault_answer


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
    from logfiles.worker import _TimedInput

    stream = _TimedInput(_Stalled())
    with pytest.raises(TimeoutError):
        stream.read(1)
    stream._stream = io.BytesIO(b"late")  # would answer now; the body is given up all the same
    with pytest.raises(TimeoutError):
        stream.read(1)


def test_a_body_read_in_time_is_answered() -> None:
    app = _drop_on_read_timeout(_app_reading_body, _Log())
    assert list(app({"wsgi.input": io.BytesIO(b"{}")}, lambda *a: None)) == [b"ok"]
