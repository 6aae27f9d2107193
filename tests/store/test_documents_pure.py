"""The pure part of the document store (logfiles/documents.py): kinds, checks, the paging reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logfiles.documents import (
    AGENT,
    MAX_INDEXED,
    Document,
    Kind,
    Query,
    check_document,
    select,
    time_key,
)
from logfiles.errors import Invalid

JOB = Kind("job", parent=AGENT, indexed=("state", "time"))


def job(n: int, state: str, time: int, project_id: str = "p", parent: str = "a") -> Document:
    return Document("job", project_id, f"j{n}", {}, parent, {"state": state, "time": f"{time:03d}"})


@pytest.mark.parametrize(
    ("name", "indexed"),
    [
        ("", ()),
        (AGENT, ()),
        ("job", tuple(f"f{n}" for n in range(MAX_INDEXED + 1))),
        ("job", ("state", "state")),
        ("job", ("version",)),
    ],
)
def test_kind_that_the_store_cannot_keep_is_refused(name: str, indexed: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="kind"):
        Kind(name, indexed=indexed)


def test_kind_label_and_slots() -> None:
    kind = Kind("browse_request", AGENT, ("agent_id", "state"))
    assert kind.label == "browse request"
    assert kind.slot("state") == 1
    assert Document("browse_request", "p", "r", {}, "a", {"agent_id": "a", "state": "s"}).slots(kind) == (
        "a",
        "s",
        None,
        None,
    )


@pytest.mark.parametrize(
    "document",
    [
        Document("other", "p", "j", {}, "a", {"state": "s", "time": "t"}),  # another kind
        Document("job", "p", "j", {}, "a", {"state": "s"}),  # a field missing
        Document("job", "p", "j", {}, "a", {"state": "s", "time": 3}),  # type: ignore[dict-item]
        Document("job", "p", "j", {}, None, {"state": "s", "time": "t"}),  # no parent
    ],
)
def test_check_document_refuses_one_that_does_not_fit_its_kind(document: Document) -> None:
    with pytest.raises(ValueError, match=r"job|kind"):
        check_document(JOB, document)


def test_time_key_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        time_key(datetime(2024, 1, 1))  # noqa: DTZ001


_MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(9998, 12, 30),  # noqa: DTZ001
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11))]
    ),
)


@given(st.lists(_MOMENTS, min_size=2, max_size=10))
def test_time_key_text_order_is_time_order(moments: list[datetime]) -> None:
    by_time = sorted(range(len(moments)), key=lambda i: (moments[i], i))
    by_key = sorted(range(len(moments)), key=lambda i: (time_key(moments[i]), i))
    assert by_key == by_time


_JOBS = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 3)), max_size=12)


@given(
    plan=_JOBS,
    sort=st.sampled_from([None, "state", "time"]),
    descending=st.booleans(),
    state=st.none() | st.sampled_from("abc"),
    limit=st.integers(1, 5),
)
def test_select_pages_by_marker_give_the_whole_ordered_list_once(
    plan: list[tuple[str, int]], sort: str | None, descending: bool, state: str | None, limit: int
) -> None:
    jobs = [job(n, s, t) for n, (s, t) in enumerate(plan)]
    numbered = list(enumerate(jobs))
    where = {} if state is None else {"state": state}
    wanted = [d for d in jobs if state is None or d.keys["state"] == state]
    if sort is not None:
        wanted.sort(key=lambda d: d.keys[sort])  # stable: ties stay in creation order
    if descending:
        wanted.reverse()
    seen: list[Document] = []
    marker = None
    while True:
        page = select(Query(JOB, "p", None, where, sort, descending, marker, limit), numbered)
        assert len(page.items) <= limit
        seen += page.items
        if not page.more:
            break
        marker = seen[-1].id
    assert seen == wanted


def test_select_leaves_out_other_kinds_projects_and_parents() -> None:
    other_kind = Document("job2", "p", "x", {}, "a", {})
    numbered = list(
        enumerate([job(0, "a", 0), job(1, "a", 0, project_id="q"), job(2, "a", 0, parent="b"), other_kind])
    )
    assert [d.id for d in select(Query(JOB, "p"), numbered).items] == ["j0", "j2"]
    assert not Query(JOB, "p").matches(other_kind)
    assert not Query(JOB, "p").matches(numbered[1][1])
    assert [d.id for d in select(Query(JOB, "p", parent="b"), numbered).items] == ["j2"]
    with pytest.raises(Invalid, match="marker"):
        select(Query(JOB, "p", marker="j1"), numbered)  # another project's
    with pytest.raises(ValueError, match="limit"):
        select(Query(JOB, "p", limit=-1), numbered)
