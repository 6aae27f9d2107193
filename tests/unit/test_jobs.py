"""The jobs' tables (SPEC "The whole service": one per kind), their PATCH and their bodies,
without the app: every move of every kind, legal or not, and random sequences of moves."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logfiles import job_results, jobs
from logfiles.activities import JOB_STATES, Job, job_of
from logfiles.documents import Document
from logfiles.errors import Conflict, Invalid

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OPERATIONS = json.loads((Path(__file__).resolve().parents[1] / "data" / "guide_operations.json").read_text())[
    "operations"
]
P = "/v2/{project_id}"


def page_patch(kind: str) -> list[dict[str, Any]]:
    """The PATCH page's example request body."""
    (op,) = [o for o in OPERATIONS if (o["method"], o["path"]) == ("PATCH", f"{P}/{kind}s/{{{kind}_id}}")]
    body: list[dict[str, Any]] = op["requests"][0]["body"]
    return body


def page_conflict(kind: str) -> str:
    """The PATCH page's 409 message."""
    (op,) = [o for o in OPERATIONS if (o["method"], o["path"]) == ("PATCH", f"{P}/{kind}s/{{{kind}_id}}")]
    (example,) = [r for r in op["responses"] if r["status"] == 409]
    message: str = example["body"]["message"]
    return message


# The tables as SPEC writes them: starts, forward steps in order, final states a PATCH reaches,
# final states only a seed sets.
SPEC_TABLES = {
    "backup": (
        ["start_requested", "start_scheduled"],
        ["queued", "preparing", "in_progress"],
        ["completed", "completed_with_errors", "failed", "stopped", "skipped"],
        ["missed"],
    ),
    "restore": (
        ["start_requested"],
        ["queued", "preparing", "in_progress"],
        ["completed", "completed_with_errors", "failed", "stopped"],
        [],
    ),
    "cleanup": (
        ["start_requested", "start_scheduled"],
        ["queued", "in_progress"],
        ["completed", "completed_with_errors", "failed", "stopped"],
        [],
    ),
}


def spec_allows(kind: str, before: str, after: str) -> bool:
    """SPEC: forward only (steps may be skipped), `stop_requested` while not final, then only a
    final state; a same value is a retry."""
    starts, steps, finals, _ = SPEC_TABLES[kind]
    if after == before:
        return True
    if after == "stop_requested" or after in finals:
        return True
    if after in steps:
        if before == "stop_requested":
            return False
        order = [*starts, *steps]
        rank = 0 if before in starts else order.index(before) - len(starts) + 1
        return steps.index(after) + 1 > rank
    return False


def all_states(kind: str) -> list[str]:
    starts, steps, finals, seeded = SPEC_TABLES[kind]
    return [*starts, *steps, "stop_requested", *finals, *seeded]


def test_the_tables_hold_every_state_an_activity_shows() -> None:
    for kind in SPEC_TABLES:
        assert set(all_states(kind)) == set(JOB_STATES[kind])


MOVES = [
    pytest.param(kind, before, after, id=f"{kind}:{before}->{after}")
    for kind in SPEC_TABLES
    for before in all_states(kind)
    for after in all_states(kind)
]


@pytest.mark.parametrize(("kind", "before", "after"), MOVES)
def test_every_move_of_every_kind(kind: str, before: str, after: str) -> None:
    _, _, finals, seeded = SPEC_TABLES[kind]
    if before in finals or before in seeded:
        with pytest.raises(Conflict) as caught:
            jobs.entered_states(kind, before, [after])
        assert caught.value.message == page_conflict(kind)
    elif spec_allows(kind, before, after):
        assert jobs.entered_states(kind, before, [after]) == ([] if after == before else [after])
    else:
        with pytest.raises(Conflict) as caught:
            jobs.entered_states(kind, before, [after])
        assert before in caught.value.message and after in caught.value.message


@settings(max_examples=50, deadline=None)
@given(
    kind=st.sampled_from(sorted(SPEC_TABLES)),
    data=st.data(),
)
def test_random_sequences_follow_the_table(kind: str, data: st.DataObject) -> None:
    """A PATCH's sequence of states: legal as a whole iff each step is, from where the last left it."""
    starts = SPEC_TABLES[kind][0]
    start = data.draw(st.sampled_from(starts))
    sequence = data.draw(st.lists(st.sampled_from(all_states(kind)), min_size=1, max_size=8))
    current, expected, legal = start, [], True
    for state in sequence:
        finals = SPEC_TABLES[kind][2] + SPEC_TABLES[kind][3]
        if (current in finals and state != current) or not spec_allows(kind, current, state):
            legal = False
            break
        if state != current:
            expected.append(state)
            current = state
    if legal:
        assert jobs.entered_states(kind, start, sequence) == expected
    else:
        with pytest.raises(Conflict):
            jobs.entered_states(kind, start, sequence)


def job(kind: str, state: str = "start_requested") -> Document:
    made = Job(
        kind, "p", f"{kind}-1", "agent-1", state, NOW, configuration_id="c-1" if kind == "backup" else None
    )
    return jobs.seeded_document(made)


@pytest.mark.parametrize("kind", sorted(SPEC_TABLES))
def test_the_page_example_patch_stores_its_results(kind: str) -> None:
    document = job(kind, "in_progress")
    operations = job_results.parse_patch(kind, page_patch(kind))
    after = job_results.patched(document, operations, NOW + timedelta(minutes=1))
    body = after.body
    assert body["state"] == "completed_with_errors"
    for operation in page_patch(kind):
        member = operation["path"][1:]
        if member == "state":
            continue
        if member == "errors":
            assert body["errors"]["count"] == operation["value"]["count"]
            assert len(body["errors"]["list"]) == len(operation["value"]["list"])
        else:
            assert body[member] == operation["value"], member
    assert job_of(after).last_updated_time == NOW + timedelta(minutes=1)
    shown = job_results.details_body("http://h", after)
    assert shown["errors"]["count"] == 1 and "list" not in shown["errors"]
    errors = job_results.errors_body("http://h", after)
    assert errors["list"][0]["description"]  # each known type has the errors page's description


def test_a_same_value_retry_changes_nothing() -> None:
    document = job("backup", "queued")
    operations = job_results.parse_patch("backup", [{"op": "replace", "path": "/state", "value": "queued"}])
    assert job_results.patched(document, operations, NOW) is document


@pytest.mark.parametrize("kind", sorted(SPEC_TABLES))
def test_a_final_job_takes_no_change_with_the_pages_message(kind: str) -> None:
    document = job(kind, "completed")
    retry = job_results.parse_patch(kind, [{"op": "replace", "path": "/state", "value": "completed"}])
    with pytest.raises(Conflict) as caught:
        job_results.patched(document, retry, NOW)
    assert caught.value.message == page_conflict(kind)


def test_the_times_default_to_the_moves_unless_reported() -> None:
    document = job("cleanup")
    started = job_results.patched(document, job_results.parse_patch("cleanup", [_state("in_progress")]), NOW)
    assert started.body["started_time"] == "2024-05-01T12:00:00.000000Z"
    assert started.body["ended_time"] is None
    later = NOW + timedelta(hours=1)
    ended = job_results.patched(started, job_results.parse_patch("cleanup", [_state("failed")]), later)
    assert ended.body["ended_time"] == "2024-05-01T13:00:00.000000Z"


def test_a_completed_backup_is_restorable() -> None:
    done = job_results.patched(job("backup"), job_results.parse_patch("backup", [_state("completed")]), NOW)
    assert done.body["restorable"] is True
    jobs.require_restorable(done)
    with pytest.raises(Conflict):
        jobs.require_restorable(job("backup", "failed"))


def _state(value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": "/state", "value": value}


def test_every_bad_member_is_one_entry() -> None:
    document = [
        {"op": "move", "path": "/id", "value": 1},
        {"op": "add", "path": "/state", "value": "start_requested"},
        {"op": "add", "path": "/files_searched", "value": -1},
        {"op": "replace", "path": "/errors", "value": {"count": "x", "list": [{"path": 3}]}},
        "nope",
        {},
    ]
    with pytest.raises(Invalid) as caught:
        job_results.parse_patch("backup", document)
    errors = caught.value.errors
    assert errors[:2] == ["/0/op: must be 'add' or 'replace'", errors[1]] and errors[1].startswith("/0/path:")
    assert errors[2].startswith("/1/value:")
    assert errors[3].startswith("/2/value:")
    assert sorted(e.split(":")[0] for e in errors[4:6]) == ["/3/value/count", "/3/value/list/0/path"]
    assert errors[6] == "/4: must be an operation object"
    assert [e.split(":")[0] for e in errors[7:]] == ["/5/op", "/5/path", "/5/value"]


@pytest.mark.parametrize("document", [{}, [], "x"])
def test_a_patch_is_a_non_empty_array(document: Any) -> None:
    with pytest.raises(Invalid):
        job_results.parse_patch("restore", document)


def test_the_restore_pages_hyphenated_paths_are_accepted() -> None:
    operations = job_results.parse_patch(
        "restore",
        [
            {"op": "add", "path": "/started-time", "value": "2014-10-20T13:11:58.985151Z"},
            {"op": "add", "path": "/files_restores", "value": 2},
            {"op": "add", "path": "/bytes-restored", "value": 3},
        ],
    )
    assert [member for member, _ in operations] == ["started_time", "files_restored", "bytes_restored"]


def test_the_errors_list_is_bounded() -> None:
    too_many = {"count": 1, "list": [{"path": "/x"}] * 1001}
    with pytest.raises(Invalid) as caught:
        job_results.parse_patch("backup", [{"op": "add", "path": "/errors", "value": too_many}])
    assert caught.value.errors[0].startswith("/0/value/list:")


def test_the_events_are_named_as_the_pages_name_them() -> None:
    assert jobs.event_type("backup", "start_requested") == "backup_start_request"
    assert jobs.event_type("restore", "stop_requested") == "restore_stop_request"
    assert jobs.event_type("cleanup", "in_progress") == "cleanup_in_progress"
    event = jobs.job_event(job("cleanup"), "start_requested", NOW, "r-1", {"id": "v", "encrypted": False})
    assert event.details["agent"] == {"id": "agent-1", "vault": {"id": "v", "encrypted": False}}
    assert event.details["request_id"] == "r-1" and event.details["cleanup"] == {"id": "cleanup-1"}
    queued = jobs.job_event(job("backup"), "queued", NOW, "r-2")
    assert "request_id" not in queued.details and queued.details["configuration"] == {"id": "c-1"}
