"""Broken answers, without a server: the rule fields' bounds, the garbage, and how wire.py cuts
and slows a body (against a fake socket and a fake clock, so nothing here sleeps)."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logfiles.api.wire import BrokenAnswers, Trickle, Truncated
from logfiles.faults import (
    MAX_TRICKLE_SECONDS,
    FaultAction,
    FaultRule,
    trickle_step,
    truncated_length,
)
from logfiles.schemas import (
    FAULT_RULE,
    MAX_FAULT_BODY_BYTES,
    MAX_GARBAGE_BYTES,
    MAX_TRICKLE_RATE,
    ValidationError,
    flatten_messages,
)


def problems(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        FAULT_RULE.load(body)
    return flatten_messages(info.value.messages)


# The fields and their bounds.


@given(st.integers(1, MAX_TRICKLE_RATE))
def test_trickle_rate_within_bounds_loads(rate: int) -> None:
    assert FAULT_RULE.load({"action": "trickle", "rate": rate}).rate == rate


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_TRICKLE_RATE + 1)))
def test_trickle_rate_out_of_bounds_is_refused(rate: int) -> None:
    assert problems({"action": "trickle", "rate": rate})[0].startswith("rate:")


@given(st.integers(1, MAX_GARBAGE_BYTES))
def test_garbage_size_within_bounds_loads(size: int) -> None:
    assert FAULT_RULE.load({"action": "garbage", "size": size}).size == size


@given(st.binary(max_size=512))
def test_body_base64_loads_as_given_and_gives_the_bytes_back(data: bytes) -> None:
    text = base64.b64encode(data).decode()
    rule = FAULT_RULE.load({"action": "body", "body_base64": text})
    assert rule.body_base64 == text and rule.answer_bytes() == data


@given(st.text(max_size=200).filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF for c in text)))
def test_body_text_is_sent_as_utf8(text: str) -> None:
    assert FAULT_RULE.load({"action": "body", "body": text}).answer_bytes() == text.encode()


@given(st.integers(100, 599))
def test_body_rule_takes_any_status(status: int) -> None:
    assert FAULT_RULE.load({"action": "body", "status": status}).status == status


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ({"action": "body", "status": 99}, "status"),
        ({"action": "body", "status": 600}, "status"),
        ({"action": "status", "status": 200}, "status"),
        ({"action": "truncate", "status": 500}, "status"),
        ({"action": "body", "body": "x" * (MAX_FAULT_BODY_BYTES + 1)}, "body"),
        ({"action": "body", "body": "é" * (MAX_FAULT_BODY_BYTES // 2 + 1)}, "body"),  # bytes, not characters
        ({"action": "body", "body": "\ud800"}, "body"),
        ({"action": "body", "body_base64": "not base64!"}, "body_base64"),
        (
            {"action": "body", "body_base64": base64.b64encode(b"x" * (MAX_FAULT_BODY_BYTES + 1)).decode()},
            "body_base64",
        ),
        ({"action": "body", "body": "a", "body_base64": "YQ=="}, "body"),
        ({"action": "body", "status": 204, "body": "a"}, "body"),
        ({"action": "body", "status": 304, "body_base64": "YQ=="}, "body"),
        ({"action": "body", "status": 101, "body": "a"}, "body"),
        ({"action": "body", "headers": {"Content-Length": "5"}}, "headers"),
        ({"action": "body", "headers": {"Transfer-Encoding": "chunked"}}, "headers"),
        ({"action": "status", "body": "a"}, "body"),
        ({"action": "garbage", "size": 0}, "size"),
        ({"action": "garbage", "size": MAX_GARBAGE_BYTES + 1}, "size"),
        ({"action": "garbage", "size": "10"}, "size"),
        ({"action": "reset", "size": 10}, "size"),
        ({"action": "trickle", "rate": 1.5}, "rate"),
        ({"action": "truncate", "rate": 10}, "rate"),
        ({"action": "trickle", "latency": 1}, "latency"),
        ({"action": "explode"}, "action"),
    ],
)
def test_fault_rule_field_out_of_bounds_or_on_another_kind_is_refused(
    rule: dict[str, Any], where: str
) -> None:
    found = problems(rule)
    assert any(problem.startswith(f"{where}:") for problem in found), found


def test_body_of_exactly_the_bound_loads() -> None:
    assert len(
        FAULT_RULE.load({"action": "body", "body": "é" * (MAX_FAULT_BODY_BYTES // 2)}).answer_bytes()
    ) == (MAX_FAULT_BODY_BYTES)


def test_bodiless_status_without_a_body_loads() -> None:
    assert FAULT_RULE.load({"action": "body", "status": 204}).answer_bytes() == b""


# Garbage: seeded, so a run repeats.


def test_garbage_repeats_for_the_same_seed_and_count_and_differs_otherwise() -> None:
    rule = FaultRule(id="g", action=FaultAction.GARBAGE, size=256, seed=7, matched=3)
    same = FaultRule(id="other", action=FaultAction.GARBAGE, size=256, seed=7, matched=3)
    assert rule.garbage() == same.garbage() and len(rule.garbage()) == 256
    assert (
        rule.garbage() != FaultRule(id="g", action=FaultAction.GARBAGE, size=256, seed=8, matched=3).garbage()
    )
    assert (
        rule.garbage() != FaultRule(id="g", action=FaultAction.GARBAGE, size=256, seed=7, matched=4).garbage()
    )


# Truncated: the first half, then the socket shut.


class FakeSocket:
    def __init__(self) -> None:
        self.shut: list[int] = []

    def shutdown(self, how: int) -> None:
        self.shut.append(how)


class Body:
    """An application's body that remembers being closed (an object's open file)."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = list(pieces)
        self.closed = False

    def __iter__(self) -> Any:
        return iter(self.pieces)

    def close(self) -> None:
        self.closed = True


def drain(body: Iterable[bytes], sock: FakeSocket) -> tuple[list[bytes], list[int]]:
    """Every piece, and the socket's shutdowns at the time each piece was asked for."""
    pieces = []
    for piece in body:
        assert sock.shut == [], "the socket was shut before a piece was written"
        pieces.append(piece)
    return pieces, sock.shut


@given(st.lists(st.binary(max_size=40), max_size=8))
def test_truncated_sends_exactly_the_first_half_then_shuts(pieces: list[bytes]) -> None:
    whole = b"".join(pieces)
    sock = FakeSocket()
    sent, shut = drain(Truncated(pieces, truncated_length(len(whole)), sock), sock)  # type: ignore[arg-type]
    assert b"".join(sent) == whole[: len(whole) // 2]
    assert sent[0] == whole[: len(sent[0])]  # the first piece, even b"", comes at once: the headers go
    assert shut == [socket.SHUT_RDWR]


def test_truncated_without_a_length_cuts_the_first_piece_in_half() -> None:
    sock = FakeSocket()
    sent, shut = drain(Truncated([b"", b"abcdef", b"ghi"], None, sock), sock)  # type: ignore[arg-type]
    assert sent == [b"abc"] and shut == [socket.SHUT_RDWR]


def test_truncated_closes_the_applications_body() -> None:
    body = Body([b"abcd"])
    truncated = Truncated(body, 2, FakeSocket())  # type: ignore[arg-type]
    list(truncated)
    truncated.close()
    assert body.closed


# Trickle: pieces on a schedule, with a fake clock.


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_trickle_sends_every_byte_in_steps_no_sooner_than_the_rate_allows() -> None:
    clock = FakeClock()
    data = bytes(range(256)) * 8  # 2 KiB
    sent = b""
    for piece in Trickle([data[:700], data[700:]], 1024, clock.sleep, clock):
        assert len(piece) <= trickle_step(1024)
        assert clock.now - 100.0 >= len(sent) / 1024 - 1e-9  # this piece's first byte, on time
        sent += piece
    assert sent == data
    assert clock.now - 100.0 >= (len(data) - trickle_step(1024)) / 1024


@given(st.integers(1, MAX_TRICKLE_RATE), st.integers(0, 5000))
def test_trickle_never_lasts_past_its_bound_and_always_ends_whole(rate: int, size: int) -> None:
    clock = FakeClock()
    data = b"x" * size
    assert b"".join(Trickle([data], rate, clock.sleep, clock)) == data
    assert clock.now - 100.0 <= MAX_TRICKLE_SECONDS


def test_trickle_past_its_bound_sends_the_rest_at_once() -> None:
    clock = FakeClock()
    pieces = list(Trickle([b"x" * 1000, b"y" * 1000], 1, clock.sleep, clock))
    assert clock.now - 100.0 == MAX_TRICKLE_SECONDS
    trickled = pieces[:-2]
    assert all(len(piece) == 1 for piece in trickled) and len(trickled) <= MAX_TRICKLE_SECONDS + 1
    assert pieces[-2:] == [b"x" * (1000 - len(trickled)), b"y" * 1000]  # the rest, whole


def test_trickle_closes_the_applications_body() -> None:
    clock = FakeClock()
    body = Body([b"abc"])
    trickle = Trickle(body, 10, clock.sleep, clock)
    list(trickle)
    trickle.close()
    assert body.closed


# The middleware: nothing changes for a request no rule marked.


def test_broken_answers_passes_an_unmarked_answer_through_unchanged() -> None:
    body = [b"answer"]

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "6")])
        return body

    started: list[str] = []
    result = BrokenAnswers(app)({}, lambda status, headers, exc_info=None: started.append(status))
    assert result is body and started == ["200 OK"]
