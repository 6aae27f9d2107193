"""Parsing RFC 6902 documents into target states, and every malformed variant SPEC names."""

from __future__ import annotations

from typing import Any

import pytest

from logfiles.errors import Invalid
from logfiles.model import LogFileState
from logfiles.patch import parse_state_patch

OK = {"op": "replace", "path": "/state", "value": "started"}


def errors_of(document: Any) -> list[str]:
    with pytest.raises(Invalid) as info:
        parse_state_patch(document)
    return info.value.errors


def test_parse_state_patch_returns_each_target_in_order() -> None:
    document = [OK, {**OK, "value": "completed"}, OK]
    assert parse_state_patch(document) == [
        LogFileState.STARTED,
        LogFileState.COMPLETED,
        LogFileState.STARTED,
    ]


def test_parse_state_patch_ignores_members_rfc6902_does_not_define_for_replace() -> None:
    assert parse_state_patch([{**OK, "from": "/x", "extra": [1]}]) == [LogFileState.STARTED]


@pytest.mark.parametrize("document", [{}, {"op": "replace"}, "started", 1, None, True])
def test_parse_state_patch_not_an_array_is_invalid(document: Any) -> None:
    assert errors_of(document) == ["body: must be a JSON array of operation objects"]


def test_parse_state_patch_empty_array_is_invalid() -> None:
    assert errors_of([]) == ["body: must hold at least one operation"]


@pytest.mark.parametrize("element", [1, "x", None, [], True])
def test_parse_state_patch_element_not_an_object_is_invalid(element: Any) -> None:
    assert errors_of([OK, element]) == ["/1: must be a JSON object"]


@pytest.mark.parametrize("op", ["test", "add", "remove", "move", "copy", "REPLACE", "", 1, None])
def test_parse_state_patch_other_op_is_invalid(op: Any) -> None:
    (entry,) = errors_of([{**OK, "op": op}])
    assert entry.startswith("/0/op: ")


@pytest.mark.parametrize("path", ["/id", "/date", "/links", "/state/x", "state", "/State", "", "/", 5, None])
def test_parse_state_patch_other_path_is_invalid(path: Any) -> None:
    (entry,) = errors_of([{**OK, "path": path}])
    assert entry.startswith("/0/path: ")


@pytest.mark.parametrize("value", ["requested", "Started", "", "done", 1, None, True, ["started"], {"s": 1}])
def test_parse_state_patch_other_value_is_invalid(value: Any) -> None:
    (entry,) = errors_of([{**OK, "value": value}])
    assert entry.startswith("/0/value: ")


@pytest.mark.parametrize("member", ["op", "path", "value"])
def test_parse_state_patch_missing_member_is_invalid(member: str) -> None:
    operation = {k: v for k, v in OK.items() if k != member}
    (entry,) = errors_of([operation])
    assert entry.startswith(f"/0/{member}: ")


def test_parse_state_patch_lists_one_entry_per_bad_member() -> None:
    entries = errors_of([OK, {"op": "add", "path": "/id", "value": 3}, {"op": "copy"}])
    assert sorted(e.split(":")[0] for e in entries) == [
        "/1/op",
        "/1/path",
        "/1/value",
        "/2/op",
        "/2/path",
        "/2/value",
    ]
