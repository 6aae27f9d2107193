"""The journal's pure parts: how an answer's body is kept, and the `after` filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logfiles.journal import MAX_RECORDED_BODY, JournalEntry, JournalFilter, answer_text

T0 = datetime(2014, 9, 23, 12, 22, 40, 606703, tzinfo=UTC)


def entry(seq: int, method: str = "GET", status: int = 200) -> JournalEntry:
    return JournalEntry(T0, method, "/v2/p/agents", "", {}, "", status, seq=seq)


@pytest.mark.parametrize("text", ["", '{"id": "a"}', "names\n", "é…" * 100])
def test_answer_text_keeps_utf8_text_as_it_is(text: str) -> None:
    assert answer_text(text.encode()) == text


def test_answer_text_of_exactly_the_bound_is_whole() -> None:
    data = b"x" * MAX_RECORDED_BODY
    assert answer_text(data) == data.decode()


def test_answer_text_past_the_bound_is_cut_with_a_note() -> None:
    assert answer_text(b"x" * (MAX_RECORDED_BODY + 5)) == "x" * MAX_RECORDED_BODY + "…(+5 bytes)"


def test_answer_text_cut_inside_a_character_leaves_the_character_out() -> None:
    data = b"x" * (MAX_RECORDED_BODY - 1) + "é".encode() + b"yz"
    assert answer_text(data) == "x" * (MAX_RECORDED_BODY - 1) + "…(+3 bytes)"


@pytest.mark.parametrize(
    "data", [b"\x1f\x8b\x08\x00\xff", b"ok \xc3", "\ud800".encode("utf-8", "surrogatepass")]
)
def test_answer_text_of_bytes_that_are_not_utf8_is_none(data: bytes) -> None:
    assert answer_text(data) is None


def test_filter_after_accepts_only_newer_numbers() -> None:
    selection = JournalFilter(method="get", after=2)
    assert [e.seq for e in selection.apply([entry(1), entry(2), entry(3), entry(4, "POST")])] == [3]
    assert JournalFilter(after=0).accepts(entry(1))
