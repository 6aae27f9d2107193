"""The agent PATCH parser (pure): the update page's ops and paths, with the log-file PATCH's rules
(SPEC "Agents: the rest of the resource"): every problem listed, one entry per bad member."""

from __future__ import annotations

from typing import Any

import pytest

from logfiles.errors import MAX_LISTED_ERRORS, Invalid
from logfiles.patch import parse_agent_patch


def op(path: Any, value: Any, name: Any = "replace") -> dict[str, Any]:
    return {"op": name, "path": path, "value": value}


def problems(document: Any) -> list[str]:
    with pytest.raises(Invalid) as info:
        parse_agent_patch(document)
    return info.value.errors


def test_each_path_to_its_target_in_order() -> None:
    document = [
        op("/enabled", False),
        op("/log_level", "debug", "add"),
        op("/log-level", "all"),
        op("/vault/region", "LON", "add"),
        op("/vault/use_internal", True),
    ]
    assert parse_agent_patch(document) == [
        ("enabled", False),
        ("log_level", "debug"),
        ("log_level", "all"),
        ("vault.region", "LON"),
        ("vault.use_internal", True),
    ]


def test_add_and_replace_are_alike() -> None:
    assert parse_agent_patch([op("/enabled", True, "add")]) == parse_agent_patch([op("/enabled", True)])


def test_members_rfc6902_does_not_define_are_ignored() -> None:
    assert parse_agent_patch([{**op("/enabled", True), "from": "/x", "other": 1}]) == [("enabled", True)]


@pytest.mark.parametrize("document", [{}, op("/enabled", True), "x", 1, None, True])
def test_not_an_array_is_invalid(document: Any) -> None:
    assert problems(document) == ["body: must be a JSON array of operation objects"]


def test_empty_array_is_invalid() -> None:
    assert problems([]) == ["body: must hold at least one operation"]


@pytest.mark.parametrize("element", [1, "replace", None, [], True])
def test_element_not_an_object_is_one_entry_at_its_index(element: Any) -> None:
    (entry,) = problems([op("/enabled", True), element])
    assert entry.startswith("/1"), entry


def test_bad_op_path_and_value_are_three_entries() -> None:
    entries = problems([op("/name", "x", "move")])
    assert [entry.split(":")[0] for entry in entries] == ["/0/op", "/0/path", "/0/value"]


def test_a_value_is_checked_against_its_path() -> None:
    (entry,) = problems([op("/log_level", True)])
    assert entry.startswith("/0/value: must be one of all, trace")
    (entry,) = problems([op("/enabled", "info")])
    assert entry == "/0/value: must be true or false"
    (entry,) = problems([op("/vault/region", "lon")])
    assert entry.startswith("/0/value: must be one of the regions")


def test_missing_members_are_one_entry_each() -> None:
    entries = problems([{}])
    assert [entry.split(":")[0] for entry in entries] == ["/0/op", "/0/path", "/0/value"]
    (entry,) = problems([{"op": "add", "path": "/enabled"}])
    assert entry.startswith("/0/value: ")


def test_problems_of_every_operation_are_listed() -> None:
    document = [op("/enabled", "no"), op("/log_level", "info"), op("/x", True, "copy")]
    assert [entry.split(":")[0] for entry in problems(document)] == ["/0/value", "/2/op", "/2/path"]


def test_10000_operations_keep_their_order() -> None:
    document = [op("/log_level", "info" if n % 2 else "warn") for n in range(10_000)]
    assert [value for _, value in parse_agent_patch(document)] == [
        "info" if n % 2 else "warn" for n in range(10_000)
    ]


def test_past_the_listed_problems_the_rest_are_counted() -> None:
    with pytest.raises(Invalid) as info:
        parse_agent_patch([op("/x", "y", "move")] * 20_000)
    listed, unlisted = info.value.errors, info.value.unlisted
    assert len(listed) > MAX_LISTED_ERRORS
    assert len(listed) + unlisted == 3 * 20_000
