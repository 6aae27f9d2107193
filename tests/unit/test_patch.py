"""Parsing RFC 6902 documents into target states, and every malformed variant SPEC names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logfiles.errors import MAX_LISTED_ERRORS, Invalid
from logfiles.model import LogFileState
from logfiles.patch import parse_agent_patch, parse_state_patch
from logfiles.schemas import AGENT_PATCH_OPERATION, PATCH_OPERATION, flatten_messages

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


# Long documents: bounded only by the body's 1 MiB, and checked at a cost linear in their length.


def test_parse_state_patch_10000_operations_return_10000_targets() -> None:
    document = [OK] * 5_000 + [{**OK, "value": "completed"}] * 5_000
    assert parse_state_patch(document) == [LogFileState.STARTED] * 5_000 + [LogFileState.COMPLETED] * 5_000


def test_parse_state_patch_describes_100_problems_and_counts_every_other() -> None:
    with pytest.raises(Invalid) as info:
        parse_state_patch([OK] + [{"op": "replace"}] * 20_000)  # two problems each: path, value
    listed, unlisted = info.value.errors, info.value.unlisted
    assert len(listed) > MAX_LISTED_ERRORS and listed[0].startswith("/1/")
    assert len(listed) + unlisted == 2 * 20_000


def test_parse_agent_patch_10000_operations_keep_their_order() -> None:
    document = [{"op": "replace", "path": "/enabled", "value": i % 3 == 0} for i in range(10_000)]
    assert parse_agent_patch(document) == [("enabled", i % 3 == 0) for i in range(10_000)]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["replace", "add", "/state", "started", "completed", "warn", "LON", "/log-level"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)
operations = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["replace", "add", "test"]) | json_values,
        "path": st.sampled_from(
            ["/state", "/enabled", "/id", "/log_level", "/vault/region", "/vault/use_internal"]
        )
        | json_values,
        "value": st.sampled_from(
            ["started", "completed", "requested", True, False, "info", "fatal", "IAD", "dfw"]
        )
        | json_values,
    },
)


@given(st.lists(operations | json_values, min_size=1, max_size=5), st.integers(1, 60))
def test_problems_of_a_long_document_are_what_marshmallow_gives_each_operation(
    document: list[Any], repeat: int
) -> None:
    # Each operation alone, described by the schema, against the document repeated past 100
    # entries, where the rest are counted: the same problems, and so the same total.
    for schema, parse in ((PATCH_OPERATION, parse_state_patch), (AGENT_PATCH_OPERATION, parse_agent_patch)):
        expected = sum(len(flatten_messages(schema.validate(op), style="pointer")) for op in document)
        long = document * repeat
        if expected == 0:
            assert len(parse(long)) == len(long)
            continue
        with pytest.raises(Invalid) as info:
            parse(long)
        assert len(info.value.errors) + info.value.unlisted == expected * repeat
        described = [
            entry
            for index, op in enumerate(long)
            for entry in flatten_messages(schema.validate(op), style="pointer", where=f"/{index}")
        ]
        assert info.value.errors[:MAX_LISTED_ERRORS] == described[:MAX_LISTED_ERRORS]
