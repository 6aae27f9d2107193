"""tests/guide_shape.py: the shape comparison the guide-example tests rely on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.guide_shape import Allowed, differences, kind, shape_differences

CONFIGURATION = {
    "id": "c",
    "backups": {"last_completed": None, "next": {"scheduled_time": "t"}},
    "links": [{"href": "h", "rel": "self"}],
}


def test_the_same_keys_with_other_values_is_the_same_shape() -> None:
    answer = {
        "id": "other",
        "backups": {"last_completed": {"id": "b"}, "next": {"scheduled_time": "u"}},
        "links": [{"href": "x", "rel": "self"}, {"href": "y", "rel": "events"}],
    }
    assert shape_differences(answer, CONFIGURATION) == []


def test_every_missing_and_extra_member_is_reported_with_its_path() -> None:
    answer = {
        "configurations": [
            {"id": "c", "backups": {"last_completed": None}, "links": [{"href": "h", "rel": "r", "x": 1}]},
        ],
        "extra": True,
    }
    example = {"configurations": [CONFIGURATION]}
    assert shape_differences(answer, example) == [
        "configurations[0].backups.next: missing",
        "configurations[0].links[0].x: not in the example",
        "extra: not in the example",
    ]


@pytest.mark.parametrize(
    ("answer", "example", "expected"),
    [
        ({"a": "x"}, {"a": {"b": 1}}, ["a: a string where the example has an object"]),
        ({"a": [1]}, {"a": {}}, ["a: a list where the example has an object"]),
        ({"a": 1}, {"a": True}, ["a: a number where the example has a boolean"]),
        ([], {}, ["(body): a list where the example has an object"]),
        ({"a": None}, {"a": {"b": 1}}, []),
        ({"a": {"b": 1}}, {"a": None}, []),
        ({"a": 1.5}, {"a": 2}, []),
    ],
)
def test_kinds_must_agree_unless_one_side_is_null(answer: Any, example: Any, expected: list[str]) -> None:
    assert shape_differences(answer, example) == expected


def test_kind_names() -> None:
    values: tuple[Any, ...] = ({}, [], True, 1, 1.0, "", None)
    assert [kind(v) for v in values] == [
        "an object",
        "a list",
        "a boolean",
        "a number",
        "a number",
        "a string",
        "null",
    ]


FEED = {
    "events": [
        {"id": "1", "event": "agent_registered", "agent": {"id": "a", "name": "n"}},
        {"id": "2", "event": "logfile_upload", "request_id": "r", "links": []},
    ]
}


def test_feed_items_are_compared_with_the_example_of_their_own_event() -> None:
    answer = {
        "events": [
            {"id": "9", "event": "logfile_upload", "request_id": "r", "links": [{"href": "h"}]},
            {"id": "8", "event": "agent_registered", "agent": {"id": "a"}},
            {"id": "7", "event": "not_shown", "anything": 1},
        ]
    }
    assert shape_differences(answer, FEED) == ["events[1].agent.name: missing"]


def test_items_of_a_list_whose_examples_do_not_differ_meet_the_first() -> None:
    example = {"links": [{"href": "h", "rel": "self"}, {"href": "h", "rel": "next"}]}
    answer = {"links": [{"href": "h", "rel": "self"}, {"href": "h"}]}
    assert shape_differences(answer, example) == ["links[1].rel: missing"]


def test_an_empty_example_list_or_answer_list_says_nothing_about_items() -> None:
    assert shape_differences({"a": [{"x": 1}]}, {"a": []}) == []
    assert shape_differences({"a": []}, {"a": [{"x": 1}]}) == []


def test_an_allowance_excuses_only_what_it_names() -> None:
    answer: dict[str, Any] = {
        "configurations": [{"next": {}, "backups": {}}, {"next": {}, "backups": {}}],
        "links": [],
    }
    example: dict[str, Any] = {"configurations": [{"backups": {"next": {}}}]}
    allowed = [
        Allowed("configurations[*].next", "the create page shows `next` at the top level (erratum)"),
        Allowed("links", "SPEC: paged like log files", problem="not in the example"),
    ]
    assert differences(answer, example, allowed) == [
        "configurations[0].backups.next: missing",
        "configurations[1].backups.next: missing",
    ]
    assert differences(answer, example, [Allowed("*", "any top-level member")]) == [
        "configurations[0].backups.next: missing",
        "configurations[0].next: not in the example",
        "configurations[1].backups.next: missing",
        "configurations[1].next: not in the example",
    ]
    assert differences({"links": 1}, {}, [Allowed("links", "r", problem="missing")]) == [
        "links: not in the example"
    ]
