"""PATCH, the seed operation: transitions, atomicity, malformed documents, content types (SPEC: PATCH)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, assert_fault, state_patch

CORPUS = json.loads((Path(__file__).resolve().parents[1] / "data" / "json-patch-corpus.json").read_text())
TARGETS = ("started", "completed")


def at_state(api: Api, state: str) -> tuple[str, str]:
    """A new agent and a log file brought to `state` by legal steps."""
    agent_id = api.agent()
    logfile_id = api.logfile(agent_id)
    steps = {"requested": (), "started": ("started",), "completed": ("started", "completed")}[state]
    for step in steps:
        assert api.patch_state(agent_id, logfile_id, step).status_code == 204
    assert state_of(api, agent_id, logfile_id) == state
    return agent_id, logfile_id


def state_of(api: Api, agent_id: str, logfile_id: str) -> str:
    response = api.get_logfile(agent_id, logfile_id)
    assert response.status_code == 200
    return str(response.get_json()["state"])


def replace(path: Any = "/state", value: Any = "started", **extra: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value, **extra}


# SPEC: the transition table, every cell.
TRANSITIONS = [
    ("requested", "started", 204),
    ("requested", "completed", 204),
    ("started", "started", 204),
    ("started", "completed", 204),
    ("completed", "started", 409),
    ("completed", "completed", 204),
]


@pytest.mark.parametrize(("current", "target", "status"), TRANSITIONS)
def test_update_logfile_transition(api: Api, current: str, target: str, status: int) -> None:
    agent_id, logfile_id = at_state(api, current)
    response = api.patch_state(agent_id, logfile_id, target)
    if status == 204:
        assert response.status_code == 204
        assert response.get_data() == b""
        assert state_of(api, agent_id, logfile_id) == target
    else:
        assert_fault(response, status)
        assert state_of(api, agent_id, logfile_id) == current


def test_update_logfile_completed_to_started_is_409_naming_both_states(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "completed")
    message = assert_fault(api.patch_state(agent_id, logfile_id, "started"), 409)["message"]
    assert "completed" in message and "started" in message, message


@pytest.mark.parametrize("state", ["started", "completed"])
def test_update_logfile_same_value_retry_is_204_and_keeps_date(api: Api, state: str) -> None:
    agent_id, logfile_id = at_state(api, state)
    before = api.get_logfile(agent_id, logfile_id).get_json()
    for _ in range(3):
        assert api.patch_state(agent_id, logfile_id, state).status_code == 204
    assert api.get_logfile(agent_id, logfile_id).get_json()["date"] == before["date"]
    assert state_of(api, agent_id, logfile_id) == state


# SPEC: operations apply in order and atomically.
MULTI_OPS = [
    ("requested", ("started", "completed"), 204, "completed"),
    ("requested", ("started", "started"), 204, "started"),
    ("requested", ("completed", "completed"), 204, "completed"),
    ("requested", ("started", "completed", "completed"), 204, "completed"),
    ("started", ("started", "completed"), 204, "completed"),
    ("completed", ("completed", "completed"), 204, "completed"),
    ("requested", ("completed", "started"), 409, "requested"),
    ("requested", ("started", "completed", "started"), 409, "requested"),
    ("started", ("completed", "started"), 409, "started"),
    ("completed", ("completed", "started"), 409, "completed"),
]


@pytest.mark.parametrize(("current", "values", "status", "after"), MULTI_OPS)
def test_update_logfile_multi_op(
    api: Api, current: str, values: tuple[str, ...], status: int, after: str
) -> None:
    agent_id, logfile_id = at_state(api, current)
    response = api.patch_state(agent_id, logfile_id, *values)
    if status == 204:
        assert response.status_code == 204
    else:
        assert_fault(response, status)
    assert state_of(api, agent_id, logfile_id) == after


def test_update_logfile_multi_op_illegal_step_409_names_both_states(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    message = assert_fault(api.patch_state(agent_id, logfile_id, "completed", "started"), 409)["message"]
    assert "completed" in message and "started" in message, message


@pytest.mark.parametrize("current", ["requested", "started", "completed"])
@pytest.mark.parametrize("bad_index", [0, 1])
def test_update_logfile_one_invalid_op_changes_nothing(api: Api, current: str, bad_index: int) -> None:
    agent_id, logfile_id = at_state(api, current)
    document = state_patch("completed", "completed")
    document[bad_index] = replace(value="requested")
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, document), 400)["errors"]
    assert errors and all(e.startswith(f"/{bad_index}/value:") for e in errors), errors
    assert state_of(api, agent_id, logfile_id) == current


def test_update_logfile_invalid_op_wins_over_illegal_transition(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "completed")
    document = [replace(value="started"), replace(path="/id", value="started")]
    assert_fault(api.patch_logfile(agent_id, logfile_id, document), 400)
    assert state_of(api, agent_id, logfile_id) == "completed"


@pytest.mark.parametrize(
    "extra",
    [{"from": "/id"}, {"from": 1}, {"xyz": 123}, {"spurious": None, "from": "/state"}],
    ids=["from", "from-int", "xyz", "two"],
)
def test_update_logfile_unknown_members_ignored_is_204(api: Api, extra: dict[str, Any]) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    response = api.patch_logfile(agent_id, logfile_id, [replace(value="started", **extra)])
    assert response.status_code == 204, response.get_json()
    assert state_of(api, agent_id, logfile_id) == "started"


def test_update_logfile_members_in_any_order_is_204(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    data = '[{"value": "completed", "path": "/state", "op": "replace"}]'
    assert api.patch_logfile(agent_id, logfile_id, data=data).status_code == 204
    assert state_of(api, agent_id, logfile_id) == "completed"


# SPEC: not JSON, not an array, an empty array, an element that is not an object -> 400.
VALID_TEXT = '{"op": "replace", "path": "/state", "value": "started"'
NOT_JSON = [
    "",
    " ",
    "[",
    "nope",
    "[{'op': 'replace'}]",
    '[{"op": "replace",}]',
    "\xff",
    f"[{VALID_TEXT}}}] x",
    f"[{VALID_TEXT}}}][]",
    f'[{VALID_TEXT}, "xyz": NaN}}]',
    f'[{VALID_TEXT}, "xyz": Infinity}}]',
    f'[{VALID_TEXT}, "xyz": -Infinity}}]',
]


@pytest.mark.parametrize("data", NOT_JSON, ids=range(len(NOT_JSON)))
def test_update_logfile_body_not_json_is_400(api: Api, data: str) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    payload = data.encode("latin-1")
    assert_fault(api.patch_logfile(agent_id, logfile_id, data=payload), 400)
    assert state_of(api, agent_id, logfile_id) == "requested"


NOT_ARRAY = [{}, replace(), "replace", 1, None, True, {"0": replace()}]


@pytest.mark.parametrize("document", NOT_ARRAY, ids=range(len(NOT_ARRAY)))
def test_update_logfile_document_not_array_is_400(api: Api, document: Any) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    assert_fault(api.patch_logfile(agent_id, logfile_id, document), 400)
    assert state_of(api, agent_id, logfile_id) == "requested"


def test_update_logfile_empty_array_is_400(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    assert_fault(api.patch_logfile(agent_id, logfile_id, []), 400)
    assert state_of(api, agent_id, logfile_id) == "requested"


@pytest.mark.parametrize("element", [1, "replace", None, [], ["replace", "/state", "started"], True])
def test_update_logfile_element_not_object_is_400_at_its_index(api: Api, element: Any) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    document = [replace(), element]
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, document), 400)["errors"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("/1"), errors
    assert state_of(api, agent_id, logfile_id) == "requested"


BAD_OPS = ["add", "remove", "test", "move", "copy", "REPLACE", "Replace", "", "spam", 1, None, ["replace"]]


@pytest.mark.parametrize("op", BAD_OPS, ids=[repr(op) for op in BAD_OPS])
def test_update_logfile_bad_op_is_400_one_error(api: Api, op: Any) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    operation = {"op": op, "path": "/state", "value": "started", "from": "/state"}
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, [operation]), 400)["errors"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("/0/op:"), errors
    assert state_of(api, agent_id, logfile_id) == "requested"


BAD_PATHS = [
    "/id",
    "/date",
    "/links",
    "/links/0",
    "/state/x",
    "/state/",
    "state",
    "",
    "/",
    "/State",
    "/STATE",
    "//state",
    "/state ",
    1,
    None,
    ["/state"],
]


@pytest.mark.parametrize("path", BAD_PATHS, ids=[repr(p) for p in BAD_PATHS])
def test_update_logfile_bad_path_is_400_one_error(api: Api, path: Any) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, [replace(path=path)]), 400)["errors"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("/0/path:"), errors
    assert state_of(api, agent_id, logfile_id) == "requested"


BAD_VALUES = [
    "requested",
    "",
    "Started",
    "COMPLETED",
    "deleted",
    " started",
    1,
    0,
    None,
    True,
    ["started"],
    {},
]


@pytest.mark.parametrize("value", BAD_VALUES, ids=[repr(v) for v in BAD_VALUES])
def test_update_logfile_bad_value_is_400_one_error(api: Api, value: Any) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, [replace(value=value)]), 400)["errors"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("/0/value:"), errors
    assert state_of(api, agent_id, logfile_id) == "requested"


@pytest.mark.parametrize("member", ["op", "path", "value"])
def test_update_logfile_missing_member_is_400_one_error(api: Api, member: str) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    operation = replace()
    del operation[member]
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, [operation]), 400)["errors"]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"/0/{member}:"), errors
    assert state_of(api, agent_id, logfile_id) == "requested"


def test_update_logfile_empty_operation_is_400_one_error_per_member(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, [{}]), 400)["errors"]
    assert sorted(e.split(":")[0] for e in errors) == ["/0/op", "/0/path", "/0/value"], errors


def test_update_logfile_three_bad_members_are_three_errors(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    document = [{"op": "add", "path": "/id", "value": "requested"}]
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, document), 400)["errors"]
    assert len(errors) == 3, errors
    assert sorted(e.split(":")[0] for e in errors) == ["/0/op", "/0/path", "/0/value"], errors


def test_update_logfile_problems_in_several_ops_each_listed(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    document = [
        replace(path="/date"),
        replace(value="started"),
        {"op": "test", "path": "/state", "value": "requested"},
        [],
    ]
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, document), 400)["errors"]
    assert len(errors) == 4, errors
    wheres = sorted(e.split(":")[0] for e in errors[:3])
    assert wheres == ["/0/path", "/2/op", "/2/value"], errors
    assert errors[3].startswith("/3"), errors
    assert state_of(api, agent_id, logfile_id) == "requested"


def valid_for_service(text: str) -> bool:
    """SPEC: a non-empty list of `replace` ops on `/state` with value started/completed."""
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(document, list)
        and bool(document)
        and all(
            isinstance(op, dict)
            and op.get("op") == "replace"
            and op.get("path") == "/state"
            and op.get("value") in TARGETS
            for op in document
        )
    )


@pytest.mark.parametrize(
    "entry", CORPUS["documents"], ids=[f"{d['file']}-{d['index']}" for d in CORPUS["documents"]]
)
def test_update_logfile_conformance_corpus_document(api: Api, entry: dict[str, Any]) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    response = api.patch_logfile(agent_id, logfile_id, data=entry["patch"])
    if valid_for_service(entry["patch"]):
        assert response.status_code == 204
        assert state_of(api, agent_id, logfile_id) != "requested"
    else:
        assert_fault(response, 400)
        assert state_of(api, agent_id, logfile_id) == "requested"


def test_update_logfile_corpus_is_not_empty() -> None:
    assert len(CORPUS["documents"]) > 100


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json-patch+json; charset=utf-8",
        "APPLICATION/JSON-PATCH+JSON",
        "Application/Json-Patch+Json; Charset=UTF-8",
        "application/json-patch+json;charset=utf-8",
    ],
)
def test_update_logfile_content_type_variant_is_204(api: Api, content_type: str) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    response = api.patch_state(agent_id, logfile_id, "started", content_type=content_type)
    assert response.status_code == 204
    assert state_of(api, agent_id, logfile_id) == "started"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/merge-patch+json",
        "text/plain",
        "application/json-patch",
        "application/json-patch+json+xml",
        "json-patch+json",
        "",
    ],
)
def test_update_logfile_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    assert_fault(api.patch_state(agent_id, logfile_id, "started", content_type=content_type), 415)
    assert state_of(api, agent_id, logfile_id) == "requested"


def test_update_logfile_without_content_type_is_415(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    response = api.client.patch(
        api.url("agents", agent_id, "logfiles", logfile_id),
        data=json.dumps(state_patch("started")),
        headers=api.headers(),
    )
    assert_fault(response, 415)
    assert state_of(api, agent_id, logfile_id) == "requested"


# Long documents: SPEC's only bound on a JSON document is its 1 MiB (Common to every route),
# so a document of 10,000 operations applies in one transaction: all of it, or nothing.
LONG = 10_000


def feed_names(api: Api, agent_id: str) -> list[str]:
    response = api.list_events(agent_id, "limit=1000")
    assert response.status_code == 200
    return [event["event"] for event in response.get_json()["events"]]


def test_update_logfile_10000_operations_apply_in_order(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    before = feed_names(api, agent_id)
    document = state_patch(*["started"] * (LONG // 2), *["completed"] * (LONG // 2))
    assert len(json.dumps(document)) < 1024 * 1024
    assert api.patch_logfile(agent_id, logfile_id, document).status_code == 204
    assert state_of(api, agent_id, logfile_id) == "completed"
    # One event per state entered, not per operation: the rest are same-value steps.
    assert feed_names(api, agent_id) == [*before, "logfile_started", "logfile_completed"]


@pytest.mark.parametrize(
    ("last", "status", "entry"),
    [("started", 409, "cannot go from 'completed' to 'started'"), ("requested", 400, "must be")],
    ids=["illegal-step", "invalid-value"],
)
def test_update_logfile_10000_operations_failing_at_the_last_change_nothing(
    api: Api, last: str, status: int, entry: str
) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    before = api.get_logfile(agent_id, logfile_id).get_json()
    events = feed_names(api, agent_id)
    document = state_patch(*["started"] * (LONG // 2), *["completed"] * (LONG // 2 - 1), last)
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, document), status)["errors"]
    assert len(errors) == 1 and errors[0].startswith(f"/{LONG - 1}/value: ") and entry in errors[0], errors
    assert api.get_logfile(agent_id, logfile_id).get_json() == before
    assert feed_names(api, agent_id) == events


def test_update_logfile_a_megabyte_of_bad_operations_lists_100_and_counts_the_rest(api: Api) -> None:
    agent_id, logfile_id = at_state(api, "requested")
    count = 300_000
    data = "[" + ",".join(["{}"] * count) + "]"  # three problems each: op, path, value missing
    assert len(data) < 1024 * 1024
    errors = assert_fault(api.patch_logfile(agent_id, logfile_id, data=data), 400)["errors"]
    assert len(errors) == 101
    assert sorted(e.split(":")[0] for e in errors[:3]) == ["/0/op", "/0/path", "/0/value"]
    assert errors[-1] == f"errors: {3 * count - 100} more not shown"
    assert state_of(api, agent_id, logfile_id) == "requested"


def test_update_agent_10000_operations_apply_and_a_bad_last_one_changes_nothing(api: Api) -> None:
    agent_id = api.agent()
    toggles = [{"op": "replace", "path": "/enabled", "value": i % 2 == 0} for i in range(LONG)]
    bad = [*toggles[:-1], {"op": "replace", "path": "/enabled", "value": "no"}]
    errors = assert_fault(api.patch_agent(agent_id, bad), 400)["errors"]
    assert len(errors) == 1 and errors[0].startswith(f"/{LONG - 1}/value: "), errors
    assert api.get_agent(agent_id).get_json()["enabled"] is True
    assert api.patch_agent(agent_id, toggles).status_code == 204  # ends on false
    assert api.get_agent(agent_id).get_json()["enabled"] is False
