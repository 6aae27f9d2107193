"""The Store contract for the agent's side (tokens, agents resource, events), on every store.

Written from docs/SPEC.md ("Events", "Agents: the rest of the resource") and the README's
contract notes, which the Store protocol's docstrings repeat: event ids are increasing
across workers, restarts and resets and never reused; an agent's feed holds its own events
and its project's project-wide ones; the project's feed holds every event of the project.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logfiles.auth import TOKEN_LIFETIME, IssuedToken
from logfiles.errors import Conflict, Invalid, LogfilesError, NotFound
from logfiles.events import Event, EventPage, EventQuery
from logfiles.model import Agent, LogFile, change_state
from logfiles.store import FullStore, MemoryStore, Page
from logfiles.store.base import (
    agent_marker_not_found,
    agent_not_found,
    agent_not_in_state,
    id_taken,
)
from logfiles.store.sqlite import SqliteStore
from tests.store.helpers import (
    COMPLETED,
    OTHER_PROJECT,
    PROJECT,
    STARTED,
    T0,
    make_agent,
    make_logfile,
    with_logfiles,
)

SINCE = T0 - timedelta(days=1)  # before every event of these tests: the retention cut shows all
DEADLINE = 30.0  # seconds; the processes take a few when nothing is wrong
PROCESSES = 4
EVENTS_PER_PROCESS = 50


def assert_error(excinfo: pytest.ExceptionInfo[Any], expected: LogfilesError) -> None:
    """Every store raises the very same error, message and errors alike."""
    assert type(excinfo.value) is type(expected)
    assert (excinfo.value.message, excinfo.value.errors) == (expected.message, expected.errors)


def event(agent_id: str | None, n: int = 0, project_id: str = PROJECT, name: str = "startup") -> Event:
    """An unnumbered event, `n` seconds after T0; `n` also goes in its details to tell it apart."""
    details: dict[str, Any] = {"request_id": f"r-{n}"}
    if agent_id is not None:
        details = {"agent": {"id": agent_id}, **details}
    return Event(project_id, agent_id, T0 + timedelta(seconds=n), name, details)


def feed(
    store: FullStore,
    agent_id: str | None,
    project_id: str = PROJECT,
    limit: int = 1000,
    marker: int | None = None,
    descending: bool = False,
    since: datetime = SINCE,
) -> EventPage:
    return store.list_events(project_id, agent_id, EventQuery(limit, marker, descending), since)


def numbers(page: EventPage | Sequence[Event]) -> list[int]:
    items = page.items if isinstance(page, EventPage) else page
    return [e.id for e in items]


def tags(page: EventPage) -> list[str]:
    """The `request_id` each listed event was made with: which event it is, whatever its number."""
    return [e.details["request_id"] for e in page.items]


def all_numbers(store: FullStore) -> list[int]:
    return numbers(store.export_state().events)


def token(token_id: str, issued: datetime, agent_id: str | None = "agent-1", **changes: Any) -> IssuedToken:
    fields: dict[str, Any] = {
        "id": token_id,
        "project_id": PROJECT,
        "roles": None,
        "expires": issued + TOKEN_LIFETIME,
        "agent_id": agent_id,
    }
    fields.update(changes)
    return IssuedToken(**fields)


# Tokens


@pytest.mark.parametrize("roles", [None, (), ("cloudbackup:observer",), ("admin", "observer")])
def test_get_token_gives_back_what_was_added(store: FullStore, roles: tuple[str, ...] | None) -> None:
    """None (every right) and () (no right at all) are different grants and must stay apart."""
    store.add_agent(make_agent())
    issued = token("t-1", T0 + timedelta(microseconds=606703), roles=roles)
    store.add_token(issued)
    assert store.get_token("t-1") == issued


def test_get_token_unknown_is_none(store: FullStore) -> None:
    assert store.get_token("nobody") is None


def test_add_token_without_an_agent_needs_no_agent(store: FullStore) -> None:
    """A user's token (agent_id None) names no agent to check."""
    issued = token("t-1", T0, agent_id=None)
    store.add_token(issued)
    assert store.get_token("t-1") == issued


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_add_token_unknown_agent_is_not_found_and_keeps_nothing(
    store: FullStore, project_id: str, agent_id: str
) -> None:
    store.add_agent(make_agent())
    with pytest.raises(NotFound) as excinfo:
        store.add_token(token("t-1", T0, agent_id=agent_id, project_id=project_id))
    assert_error(excinfo, agent_not_found(project_id, agent_id))
    assert store.get_token("t-1") is None


def test_get_token_expired_but_not_dropped_is_still_given(store: FullStore) -> None:
    """The store gives a token expired or not; the clock decides, in auth, not here."""
    store.add_agent(make_agent())
    issued = token("t-1", T0 - 2 * TOKEN_LIFETIME)
    store.add_token(issued)
    assert store.get_token("t-1") == issued


def test_add_token_drops_those_expired_when_it_is_issued(store: FullStore) -> None:
    """SPEC (ours): a token expires exactly 24 h after issue; issuing one drops the expired."""
    store.add_agent(make_agent())
    store.add_token(token("expires-at-issue", T0))
    store.add_token(token("still-valid", T0 + timedelta(microseconds=1)))
    store.add_token(token("new", T0 + TOKEN_LIFETIME))
    assert store.get_token("expires-at-issue") is None
    assert store.get_token("still-valid") is not None
    assert store.get_token("new") is not None


def test_add_token_drops_expired_tokens_issued_out_of_time_order(store: FullStore) -> None:
    """The clock may be moved back between two issues (`advance` takes negative seconds): a
    token that is expired when the next is issued goes, whatever order it was issued in."""
    store.add_agent(make_agent())
    store.add_token(token("late", T0 + timedelta(hours=10)))  # expires T0 + 34 h
    store.add_token(token("early", T0))  # the clock moved back; expires T0 + 24 h
    store.add_token(token("new", T0 + timedelta(hours=30)))
    assert store.get_token("early") is None
    assert store.get_token("late") is not None


def test_delete_agent_removes_its_tokens_only(store: FullStore) -> None:
    store.add_agent(make_agent("agent-1"))
    store.add_agent(make_agent("agent-2"))
    store.add_token(token("t-1", T0, "agent-1"))
    store.add_token(token("t-2", T0, "agent-2"))
    store.add_token(token("t-user", T0, None))
    store.delete_agent(PROJECT, "agent-1")
    assert store.get_token("t-1") is None
    assert store.get_token("t-2") is not None
    assert store.get_token("t-user") is not None


def test_reset_forgets_every_token(store: FullStore) -> None:
    store.add_agent(make_agent())
    store.add_token(token("t-1", T0))
    store.add_token(token("t-user", T0, None))
    store.reset()
    assert (store.get_token("t-1"), store.get_token("t-user")) == (None, None)


# Agents: list, update, touch, busy


def test_list_agents_in_registration_order_only_the_projects(store: FullStore) -> None:
    for agent_id, project_id in [("c", PROJECT), ("x", OTHER_PROJECT), ("a", PROJECT), ("b", PROJECT)]:
        store.add_agent(make_agent(agent_id, project_id))
    assert [a.id for a in store.list_agents(PROJECT, 10).items] == ["c", "a", "b"]
    assert store.list_agents(OTHER_PROJECT, 10) == Page([store.get_agent(OTHER_PROJECT, "x")], False)
    assert store.list_agents("empty", 10) == Page([], False)


@pytest.mark.parametrize(("limit", "more"), [(1, True), (2, True), (3, False), (4, False)])
def test_list_agents_limit_decides_more(store: FullStore, limit: int, more: bool) -> None:
    for n in range(3):
        store.add_agent(make_agent(f"agent-{n}"))
    page = store.list_agents(PROJECT, limit)
    assert ([a.id for a in page.items], page.more) == ([f"agent-{n}" for n in range(min(limit, 3))], more)


def test_list_agents_pages_with_marker_reach_every_agent_once(store: FullStore) -> None:
    added = [make_agent(f"agent-{n}") for n in range(7)]
    for n, agent in enumerate(added):
        store.add_agent(agent)
        store.add_agent(make_agent(f"other-{n}", OTHER_PROJECT))  # interleaved, never listed
    seen: list[Agent] = []
    marker = None
    for _ in range(10):  # bounded: 7 agents in pages of 3 take 3 pages
        page = store.list_agents(PROJECT, 3, marker)
        seen.extend(page.items)
        if not page.more:
            break
        marker = page.items[-1].id
    assert seen == added


def test_list_agents_marker_of_the_last_is_empty(store: FullStore) -> None:
    store.add_agent(make_agent("agent-1"))
    assert store.list_agents(PROJECT, 10, "agent-1") == Page([], False)


@pytest.mark.parametrize(("project_id", "marker"), [(PROJECT, "nobody"), (PROJECT, "theirs")])
def test_list_agents_unknown_marker_or_another_projects_is_invalid(
    store: FullStore, project_id: str, marker: str
) -> None:
    store.add_agent(make_agent("agent-1"))
    store.add_agent(make_agent("theirs", OTHER_PROJECT))
    with pytest.raises(Invalid) as excinfo:
        store.list_agents(project_id, 10, marker)
    assert_error(excinfo, agent_marker_not_found(marker))


def test_list_agents_agent_added_again_after_delete_goes_last(store: FullStore) -> None:
    for agent_id in ("agent-1", "agent-2"):
        store.add_agent(make_agent(agent_id))
    store.delete_agent(PROJECT, "agent-1")
    store.add_agent(make_agent("agent-1"))
    assert [a.id for a in store.list_agents(PROJECT, 10).items] == ["agent-2", "agent-1"]


def test_update_agent_applies_the_change_to_the_current_agent(store: FullStore) -> None:
    store.add_agent(make_agent(password_sha256="h", roles=("observer",)))
    seen: list[Agent] = []

    def change(current: Agent) -> Agent:
        seen.append(current)
        return replace(current, enabled=False)

    updated = store.update_agent(PROJECT, "agent-1", change)
    assert seen == [make_agent(password_sha256="h", roles=("observer",))]
    assert updated == replace(seen[0], enabled=False)
    assert store.get_agent(PROJECT, "agent-1") == updated


def test_update_agent_unchanged_returns_the_current(store: FullStore) -> None:
    store.add_agent(make_agent())
    assert store.update_agent(PROJECT, "agent-1", lambda agent: agent) == make_agent()


def test_update_agent_keeps_its_place_logfiles_tokens_and_events(store: FullStore) -> None:
    """An update is not a delete and add: nothing that goes with the agent may go with it."""
    logfiles = with_logfiles(store, 2, "agent-1")
    store.add_agent(make_agent("agent-2"))
    store.add_token(token("t-1", T0))
    store.add_events([event("agent-1", 1)])
    store.update_agent(PROJECT, "agent-1", lambda agent: replace(agent, enabled=False))
    assert [a.id for a in store.list_agents(PROJECT, 10).items] == ["agent-1", "agent-2"]
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page(logfiles, False)
    assert store.get_token("t-1") is not None
    assert tags(feed(store, "agent-1")) == ["r-1"]


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_update_agent_unknown_is_not_found_without_calling_change(
    store: FullStore, project_id: str, agent_id: str
) -> None:
    store.add_agent(make_agent())
    calls: list[Agent] = []

    def change(current: Agent) -> Agent:
        calls.append(current)
        return current

    with pytest.raises(NotFound) as excinfo:
        store.update_agent(project_id, agent_id, change)
    assert_error(excinfo, agent_not_found(project_id, agent_id))
    assert calls == []


def test_touch_agent_writes_at_most_once_a_second(store: FullStore) -> None:
    """SPEC (ours): heard-from times are written at most once a second per agent."""
    store.add_agent(make_agent())
    store.touch_agent(PROJECT, "agent-1", T0)
    assert store.get_agent(PROJECT, "agent-1").last_heard == T0
    store.touch_agent(PROJECT, "agent-1", T0 + timedelta(microseconds=999_999))
    assert store.get_agent(PROJECT, "agent-1").last_heard == T0
    store.touch_agent(PROJECT, "agent-1", T0 + timedelta(seconds=1))
    assert store.get_agent(PROJECT, "agent-1").last_heard == T0 + timedelta(seconds=1)


def test_touch_agent_earlier_than_the_kept_time_writes_it(store: FullStore) -> None:
    """After the clock moved back, the kept time is in the future: the new one replaces it."""
    store.add_agent(make_agent(last_heard=T0 + timedelta(hours=1)))
    store.touch_agent(PROJECT, "agent-1", T0)
    assert store.get_agent(PROJECT, "agent-1").last_heard == T0


def test_touch_agent_changes_nothing_else(store: FullStore) -> None:
    store.add_agent(make_agent(enabled=False, password_sha256="h", roles=()))
    store.touch_agent(PROJECT, "agent-1", T0)
    assert store.get_agent(PROJECT, "agent-1") == make_agent(
        enabled=False, password_sha256="h", roles=(), last_heard=T0
    )


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_touch_agent_unknown_is_a_no_op(store: FullStore, project_id: str, agent_id: str) -> None:
    store.add_agent(make_agent())
    store.touch_agent(project_id, agent_id, T0)
    assert store.get_agent(PROJECT, "agent-1").last_heard is None
    with pytest.raises(NotFound):
        store.get_agent(project_id, agent_id)


def test_agent_busy_while_one_of_its_logfiles_is_started(store: FullStore) -> None:
    """SPEC: `busy` is true while one of its log files is `started`."""
    first, second = with_logfiles(store, 2)
    store.add_agent(make_agent("agent-2"))
    assert store.agent_busy(PROJECT, "agent-1") is False
    store.update_logfile(PROJECT, "agent-1", first.id, lambda lf: change_state(lf, [STARTED]))
    assert store.agent_busy(PROJECT, "agent-1") is True
    assert store.agent_busy(PROJECT, "agent-2") is False
    store.update_logfile(PROJECT, "agent-1", second.id, lambda lf: change_state(lf, [STARTED]))
    store.update_logfile(PROJECT, "agent-1", first.id, lambda lf: change_state(lf, [COMPLETED]))
    assert store.agent_busy(PROJECT, "agent-1") is True
    store.delete_logfile(PROJECT, "agent-1", second.id)
    assert store.agent_busy(PROJECT, "agent-1") is False


def test_agent_busy_not_for_requested_or_completed_only(store: FullStore) -> None:
    store.add_agent(make_agent())
    store.add_logfile(make_logfile("requested"))
    store.add_logfile(replace(make_logfile("completed"), state=COMPLETED))
    assert store.agent_busy(PROJECT, "agent-1") is False


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_agent_busy_unknown_agent_is_not_found(store: FullStore, project_id: str, agent_id: str) -> None:
    with_logfiles(store, 1)
    with pytest.raises(NotFound) as excinfo:
        store.agent_busy(project_id, agent_id)
    assert_error(excinfo, agent_not_found(project_id, agent_id))


# Events: numbering


def test_add_events_numbers_them_in_order_from_1(store: FullStore) -> None:
    """README: ids start at 1 and increase in the order the events are kept."""
    store.add_agent(make_agent())
    store.add_events([event("agent-1", 1), event(None, 2)])
    store.add_events([event("agent-1", 3)])
    page = feed(store, None)
    assert (numbers(page), tags(page)) == ([1, 2, 3], ["r-1", "r-2", "r-3"])


def test_add_events_keeps_every_member(store: FullStore) -> None:
    store.add_agent(make_agent())
    details = {
        "agent": {"id": "agent-1", "name": "é", "host": {"os": {"name": "Ubuntu"}}},
        "request_id": "r",
        "mode": "active",
        "links": [{"href": "http://x/y", "rel": "logfile"}],
    }
    kept = Event(PROJECT, "agent-1", T0 + timedelta(microseconds=606703), "agent_activate", details)
    store.add_events([kept])
    (got,) = feed(store, "agent-1").items
    assert got == replace(kept, id=got.id)
    assert list(got.details) == list(details)  # the order the guide shows them in survives


def test_add_events_unknown_agent_is_not_found_and_keeps_none_of_them(store: FullStore) -> None:
    store.add_agent(make_agent())
    store.add_agent(make_agent("theirs", OTHER_PROJECT))
    for bad in (event("nobody", 2), event("theirs", 2)):  # theirs: named in the wrong project
        with pytest.raises(NotFound) as excinfo:
            store.add_events([event("agent-1", 1), bad])
        assert_error(excinfo, agent_not_found(PROJECT, bad.agent_id or ""))
    assert feed(store, None).items == []


def test_add_events_project_wide_needs_no_agent(store: FullStore) -> None:
    store.add_events([event(None, 1, project_id="no-agents-here")])
    assert tags(feed(store, None, "no-agents-here")) == ["r-1"]


def test_event_ids_are_never_reused_after_delete_retention_and_reset(store: FullStore) -> None:
    """SPEC: ids are increasing and never reused; README: across resets too."""
    store.add_agent(make_agent())
    store.add_events([event("agent-1", n) for n in range(3)])
    seen = all_numbers(store)
    store.delete_agent(PROJECT, "agent-1")  # its events, the newest ones, go with it
    store.add_events([event(None, 10)])
    seen += all_numbers(store)
    # An hour later every earlier event is past its lifetime and may be gone.
    store.add_events([event(None, 3600)])
    seen += numbers(feed(store, None, since=T0 + timedelta(seconds=3600)))
    store.reset()
    store.add_events([event(None, 3601)])
    (after_reset,) = all_numbers(store)
    assert after_reset > max(seen)
    assert seen == sorted(set(seen))


# Events: feeds


@pytest.fixture
def mixed(store: FullStore) -> FullStore:
    """Two agents of PROJECT, one of OTHER_PROJECT, and events of each kind, interleaved:

    n:      1   2   3   4   5          6   7   8
    agent:  a1  -   a2  a1  - (other)  -   a1  x (other)
    """
    store.add_agent(make_agent("a1"))
    store.add_agent(make_agent("a2"))
    store.add_agent(make_agent("x", OTHER_PROJECT))
    for n, agent_id, project_id in [
        (1, "a1", PROJECT),
        (2, None, PROJECT),
        (3, "a2", PROJECT),
        (4, "a1", PROJECT),
        (5, None, OTHER_PROJECT),
        (6, None, PROJECT),
        (7, "a1", PROJECT),
        (8, "x", OTHER_PROJECT),
    ]:
        store.add_events([event(agent_id, n, project_id)])
    return store


def by_tag(store: FullStore) -> dict[str, int]:
    """Each event's number, by the tag it was made with (the stores number from their own counter)."""
    return {e.details["request_id"]: e.id for e in store.export_state().events}


def test_list_events_agent_feed_holds_its_own_and_its_projects_project_wide(mixed: FullStore) -> None:
    """SPEC: "post an event for every agent of a project"; README: an agent's feed holds its
    own events and the events posted for its whole project, and no other agent's."""
    assert tags(feed(mixed, "a1")) == ["r-1", "r-2", "r-4", "r-6", "r-7"]
    assert tags(feed(mixed, "a2")) == ["r-2", "r-3", "r-6"]
    assert tags(feed(mixed, "x", OTHER_PROJECT)) == ["r-5", "r-8"]


def test_list_events_project_feed_holds_every_event_of_the_project(mixed: FullStore) -> None:
    assert tags(feed(mixed, None)) == ["r-1", "r-2", "r-3", "r-4", "r-6", "r-7"]
    assert tags(feed(mixed, None, OTHER_PROJECT)) == ["r-5", "r-8"]
    assert feed(mixed, None, "unknown") == EventPage([], False)


def test_list_events_ascending_marker_lists_ids_after_it_oldest_first(mixed: FullStore) -> None:
    n = by_tag(mixed)
    page = feed(mixed, "a1", marker=n["r-2"])
    assert (tags(page), page.more) == (["r-4", "r-6", "r-7"], False)
    assert numbers(page) == sorted(numbers(page))
    assert all(number > n["r-2"] for number in numbers(page))


def test_list_events_descending_lists_ids_before_the_marker_newest_first(mixed: FullStore) -> None:
    n = by_tag(mixed)
    assert tags(feed(mixed, "a1", descending=True)) == ["r-7", "r-6", "r-4", "r-2", "r-1"]
    page = feed(mixed, "a1", marker=n["r-6"], descending=True)
    assert (tags(page), page.more) == (["r-4", "r-2", "r-1"], False)
    assert tags(feed(mixed, None, marker=n["r-4"], descending=True)) == ["r-3", "r-2", "r-1"]


def test_list_events_marker_of_an_event_of_another_feed_still_means_after_that_id(mixed: FullStore) -> None:
    """SPEC: a marker whose event is gone (or was never in this feed) still means "newer"."""
    n = by_tag(mixed)
    assert tags(feed(mixed, "a1", marker=n["r-3"])) == ["r-4", "r-6", "r-7"]
    assert tags(feed(mixed, "a1", marker=n["r-5"], descending=True)) == ["r-4", "r-2", "r-1"]
    newest = max(n.values())
    assert feed(mixed, "a1", marker=newest) == EventPage([], False)
    assert feed(mixed, "a1", marker=10**18 - 1) == EventPage([], False)
    assert tags(feed(mixed, "a1", marker=10**18 - 1, descending=True))[0] == "r-7"
    assert feed(mixed, "a1", marker=min(n.values()), descending=True) == EventPage([], False)


def test_list_events_marker_of_a_deleted_agents_event(mixed: FullStore) -> None:
    n = by_tag(mixed)
    mixed.delete_agent(PROJECT, "a2")
    assert tags(feed(mixed, None, marker=n["r-3"])) == ["r-4", "r-6", "r-7"]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(("limit", "more"), [(1, True), (4, True), (5, False), (6, False)])
def test_list_events_limit_decides_more(mixed: FullStore, descending: bool, limit: int, more: bool) -> None:
    expected = ["r-1", "r-2", "r-4", "r-6", "r-7"]
    if descending:
        expected.reverse()
    page = feed(mixed, "a1", limit=limit, descending=descending)
    assert (tags(page), page.more) == (expected[:limit], more)


@pytest.mark.parametrize("descending", [False, True])
def test_list_events_pages_with_marker_reach_every_event_once(mixed: FullStore, descending: bool) -> None:
    for agent_id, expected in [("a1", 5), (None, 6)]:
        seen: list[int] = []
        marker = None
        for _ in range(10):  # bounded: 6 events in pages of 2 take 3 pages
            page = feed(mixed, agent_id, limit=2, marker=marker, descending=descending)
            seen.extend(numbers(page))
            if not page.more:
                break
            marker = page.items[-1].id
        assert len(seen) == expected == len(set(seen))
        assert seen == sorted(seen, reverse=descending)


def test_list_events_descending_pages_of_the_project_feed_with_a_cut(mixed: FullStore) -> None:
    """The project's feed newest first (its page's default), paged by `marker` = the last id of
    each page: older and older, none twice, none past the retention cut."""
    cut = T0 + timedelta(seconds=2)
    pages: list[list[str]] = []
    marker = None
    for _ in range(5):
        page = feed(mixed, None, limit=2, marker=marker, descending=True, since=cut)
        pages.append(tags(page))
        if not page.more:
            break
        marker = page.items[-1].id
    assert pages == [["r-7", "r-6"], ["r-4", "r-3"], ["r-2"]]


def test_list_events_since_cuts_older_events_and_keeps_one_exactly_at_it(mixed: FullStore) -> None:
    """The feed shows events at least as new as `since` (now minus the lifetime)."""
    cut = T0 + timedelta(seconds=4)
    assert tags(feed(mixed, "a1", since=cut)) == ["r-4", "r-6", "r-7"]
    assert tags(feed(mixed, None, since=cut, descending=True)) == ["r-7", "r-6", "r-4"]
    page = feed(mixed, "a1", since=cut, limit=2)
    assert (tags(page), page.more) == (["r-4", "r-6"], True)
    page = feed(mixed, "a1", since=cut + timedelta(microseconds=1), limit=2)
    assert (tags(page), page.more) == (["r-6", "r-7"], False)
    assert feed(mixed, None, since=T0 + timedelta(seconds=9)) == EventPage([], False)


def test_list_events_since_applies_to_each_event_not_to_its_number(store: FullStore) -> None:
    """Times need not increase with numbers (the service clock can be moved back)."""
    store.add_agent(make_agent())
    store.add_events([event("agent-1", 30), event("agent-1", 10), event(None, 20)])
    assert tags(feed(store, "agent-1", since=T0 + timedelta(seconds=20))) == ["r-30", "r-20"]


# Events written with a change


def test_add_agent_keeps_its_events(store: FullStore) -> None:
    store.add_agent(make_agent(), [event("agent-1", 1, name="agent_registered")])
    assert [e.event for e in feed(store, "agent-1").items] == ["agent_registered"]


def test_add_logfile_keeps_its_events(store: FullStore) -> None:
    store.add_agent(make_agent())
    store.add_logfile(make_logfile("lf-1"), [event("agent-1", 1, name="logfile_upload")])
    assert [e.event for e in feed(store, "agent-1").items] == ["logfile_upload"]


def test_add_logfile_agent_gone_keeps_neither_logfile_nor_events(store: FullStore) -> None:
    store.add_agent(make_agent())
    store.delete_agent(PROJECT, "agent-1")
    with pytest.raises(NotFound):
        store.add_logfile(make_logfile("lf-1"), [event("agent-1", 1, name="logfile_upload")])
    assert feed(store, None).items == []
    assert store.export_state().events == []


def entered(name: str) -> Any:
    """A ChangeEvents that emits one `name` event tagged with the states before and after."""

    def emit(before: LogFile, after: LogFile) -> list[Event]:
        details = {"agent": {"id": after.agent_id}, "request_id": f"{before.state}->{after.state}"}
        return [Event(after.project_id, after.agent_id, T0, name, details)]

    return emit


def test_update_logfile_keeps_the_events_of_a_change(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    store.update_logfile(
        PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]), entered("logfile_started")
    )
    store.update_logfile(
        PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [COMPLETED]), entered("logfile_completed")
    )
    page = feed(store, "agent-1")
    assert [(e.event, e.details["request_id"]) for e in page.items] == [
        ("logfile_started", "requested->started"),
        ("logfile_completed", "started->completed"),
    ]
    assert numbers(page) == sorted(set(numbers(page)))


def test_update_logfile_same_value_retry_emits_nothing(store: FullStore) -> None:
    """SPEC: `logfile_started` and `logfile_completed` are not emitted on a same-value retry."""
    (logfile,) = with_logfiles(store, 1)
    move = lambda lf: change_state(lf, [STARTED])  # noqa: E731
    store.update_logfile(PROJECT, "agent-1", logfile.id, move, entered("logfile_started"))
    store.update_logfile(PROJECT, "agent-1", logfile.id, move, entered("logfile_started"))
    assert [e.event for e in feed(store, "agent-1").items] == ["logfile_started"]


def test_update_logfile_conflict_keeps_no_event(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [COMPLETED]))
    with pytest.raises(Conflict):
        store.update_logfile(
            PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]), entered("logfile_started")
        )
    assert feed(store, None).items == []


# Events: delete and reset


def test_delete_agent_removes_its_events_and_keeps_the_projects(mixed: FullStore) -> None:
    """README: deleting an agent removes its events; events posted for the project stay."""
    mixed.delete_agent(PROJECT, "a1")
    assert tags(feed(mixed, None)) == ["r-2", "r-3", "r-6"]
    assert tags(feed(mixed, "a2")) == ["r-2", "r-3", "r-6"]
    assert [e.details["request_id"] for e in mixed.export_state().events] == [
        "r-2",
        "r-3",
        "r-5",
        "r-6",
        "r-8",
    ]


def test_reset_forgets_every_event_and_numbers_keep_counting(mixed: FullStore) -> None:
    before = max(by_tag(mixed).values())
    mixed.reset()
    assert mixed.export_state().events == []
    assert feed(mixed, None) == EventPage([], False)
    mixed.add_events([event(None, 1)])
    assert all_numbers(mixed)[0] > before


# Events: export and import


def test_export_state_lists_kept_events_in_number_order(mixed: FullStore) -> None:
    exported = mixed.export_state().events
    assert [e.details["request_id"] for e in exported] == [f"r-{n}" for n in range(1, 9)]
    assert numbers(exported) == sorted(set(numbers(exported)))


def test_import_state_round_trip_keeps_event_numbers(mixed: FullStore) -> None:
    before = mixed.export_state()
    newest = max(numbers(before.events))
    mixed.reset()
    mixed.import_state(before.agents, before.logfiles, True, before.events)
    assert mixed.export_state() == before
    n = by_tag(mixed)
    assert tags(feed(mixed, "a1", marker=n["r-2"])) == ["r-4", "r-6", "r-7"]
    mixed.add_events([event(None, 9)])
    assert by_tag(mixed)["r-9"] > newest


def test_import_state_into_another_store_keeps_event_numbers(mixed: FullStore, tmp_path: Path) -> None:
    before = mixed.export_state()
    for other in (MemoryStore(), SqliteStore.open(tmp_path / "other.db")):
        other.import_state(before.agents, before.logfiles, False, before.events)
        assert other.export_state() == before
        other.add_events([event(None, 9)])
        assert by_tag(other)["r-9"] > max(numbers(before.events))
        other.close()


@pytest.mark.parametrize("replace_", [False, True])
def test_import_state_event_numbered_twice_is_conflict_and_changes_nothing(
    mixed: FullStore, replace_: bool
) -> None:
    before = mixed.export_state()
    twice = [replace(event(None, 1), id=500), replace(event(None, 2), id=500)]
    with pytest.raises(Conflict) as excinfo:
        mixed.import_state([], [], replace_, twice)
    assert_error(excinfo, id_taken("event", "500"))
    assert mixed.export_state() == before


def test_import_state_add_taken_event_number_is_conflict_and_changes_nothing(mixed: FullStore) -> None:
    before = mixed.export_state()
    taken = before.events[3].id
    with pytest.raises(Conflict) as excinfo:
        mixed.import_state(
            [make_agent("new")], [], False, [event("new", 9), replace(event(None, 10), id=taken)]
        )
    assert_error(excinfo, id_taken("event", str(taken)))
    assert mixed.export_state() == before


@pytest.mark.parametrize("replace_", [False, True])
def test_import_state_event_of_an_unknown_agent_is_invalid_and_changes_nothing(
    mixed: FullStore, replace_: bool
) -> None:
    before = mixed.export_state()
    with pytest.raises(Invalid) as excinfo:
        mixed.import_state([make_agent("new")], [], replace_, [event("new", 9), event("nobody", 10)])
    assert_error(excinfo, agent_not_in_state("nobody", "events"))
    assert mixed.export_state() == before


def test_import_state_unnumbered_events_are_numbered_after_the_newest(mixed: FullStore) -> None:
    newest = max(by_tag(mixed).values())
    mixed.import_state([], [], False, [event("a1", 9), replace(event(None, 10), id=newest + 100)])
    mixed.import_state([], [], False, [event(None, 11)])
    n = by_tag(mixed)
    assert newest < n["r-9"] < n["r-10"] == newest + 100 < n["r-11"]
    mixed.add_events([event(None, 12)])
    assert by_tag(mixed)["r-12"] > n["r-11"]


def test_import_state_event_numbered_below_the_newest_takes_its_place_in_the_feeds(mixed: FullStore) -> None:
    """A number no event holds any more may be imported (only a taken one is a conflict);
    the feeds stay in number order around it, and new events still go after the newest."""
    n = by_tag(mixed)
    mixed.delete_agent(PROJECT, "a1")  # frees the numbers of r-1, r-4 and r-7
    mixed.import_state([], [], False, [replace(event(None, 40), id=n["r-4"])])
    assert tags(feed(mixed, None)) == ["r-2", "r-3", "r-40", "r-6"]
    assert tags(feed(mixed, "a2", descending=True)) == ["r-6", "r-40", "r-3", "r-2"]
    assert tags(feed(mixed, "a2", marker=n["r-3"])) == ["r-40", "r-6"]
    assert numbers(mixed.export_state().events) == sorted(numbers(mixed.export_state().events))
    mixed.add_events([event(None, 41)])
    assert by_tag(mixed)["r-41"] > max(n.values())


# Events: one feed, any query (a property over both stores)


def _reference(
    kept: list[Event], project_id: str, agent_id: str | None, query: EventQuery, since: datetime
) -> EventPage:
    """The feed as SPEC and README say it, written the slow and obvious way."""

    def in_feed(e: Event) -> bool:
        if e.project_id != project_id or e.time < since:
            return False
        return agent_id is None or e.agent_id in (agent_id, None)

    shown = sorted((e for e in kept if in_feed(e) and query.accepts(e.id)), key=lambda e: e.id)
    if query.descending:
        shown.reverse()
    return EventPage(shown[: query.limit], len(shown) > query.limit)


@pytest.fixture
def crowded(store: FullStore) -> tuple[FullStore, list[Event]]:
    """60 events over three agents in two projects, project-wide ones, times out of order."""
    rng = random.Random(10)
    agents = [("a1", PROJECT), ("a2", PROJECT), ("x", OTHER_PROJECT)]
    for agent_id, project_id in agents:
        store.add_agent(make_agent(agent_id, project_id))
    authors: list[tuple[str | None, str]] = [*agents, (None, PROJECT), (None, OTHER_PROJECT)]
    for n in range(60):
        author, project_id = rng.choice(authors)
        store.add_events([event(author, rng.randrange(300), project_id, name=f"e{n}")])
    return store, store.export_state().events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    who=st.sampled_from([(PROJECT, "a1"), (PROJECT, "a2"), (PROJECT, None), (OTHER_PROJECT, None)]),
    limit=st.integers(1, 70),
    marker=st.none() | st.integers(0, 70),
    descending=st.booleans(),
    since_seconds=st.integers(-1, 301),
)
def test_list_events_any_query_is_the_reference_feed(
    crowded: tuple[FullStore, list[Event]],
    who: tuple[str, str | None],
    limit: int,
    marker: int | None,
    descending: bool,
    since_seconds: int,
) -> None:
    store, kept = crowded
    query = EventQuery(limit, marker, descending)
    since = T0 + timedelta(seconds=since_seconds)
    assert store.list_events(*who, query, since) == _reference(kept, *who, query, since)


# SQLite: several processes, one file


def _add_and_poll(path: str, agent_id: str, count: int, barrier: Any, results: Any) -> None:
    """In a spawned process: add `count` events one by one, and after each read the agent's
    feed from the last number seen, which must show exactly the event just added."""
    try:
        store = SqliteStore.open(path)
        if barrier is not None:
            barrier.wait(timeout=DEADLINE)
        seen: list[int] = []
        for n in range(count):
            store.add_events([event(agent_id, n)])
            page = feed(store, agent_id, marker=seen[-1] if seen else None)
            if tags(page) != [f"r-{n}"]:
                raise AssertionError(f"{agent_id}: after event {n} the feed showed {tags(page)}")
            seen.append(page.items[0].id)
        store.close()
        results.put((agent_id, seen))
    except BaseException as exc:
        results.put((agent_id, repr(exc)))


def _run(path: Path, agents: list[str], count: int) -> tuple[dict[str, list[int]], list[int]]:
    """Run one process per agent; meanwhile poll the project's feed from the newest number
    seen, as an agent does. The ids each process saw, and the ids the poller saw, in order."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(agents)) if len(agents) > 1 else None
    results = context.Queue()
    processes = [
        context.Process(target=_add_and_poll, args=(str(path), agent_id, count, barrier, results))
        for agent_id in agents
    ]
    poller = SqliteStore.open(path)
    marker = max(all_numbers(poller), default=None)
    polled: list[int] = []
    outcomes: dict[str, Any] = {}
    try:
        for process in processes:
            process.start()
        deadline = time.monotonic() + DEADLINE
        while len(outcomes) < len(agents) and time.monotonic() < deadline:
            page = feed(poller, None, limit=7, marker=marker)
            polled.extend(numbers(page))
            marker = polled[-1] if polled else marker
            while not results.empty():
                agent_id, outcome = results.get(timeout=DEADLINE)
                outcomes[agent_id] = outcome
        for _ in range(len(agents) * count):  # bounded: drain what the poller has not seen yet
            page = feed(poller, None, limit=7, marker=marker)
            if not page.items:
                break
            polled.extend(numbers(page))
            marker = polled[-1]
        for process in processes:
            process.join(timeout=DEADLINE)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()  # only our own child, by its handle
                process.join(timeout=DEADLINE)
        poller.close()
    assert sorted(outcomes) == sorted(agents), f"processes did not report in time: {outcomes}"
    assert all(isinstance(outcome, list) for outcome in outcomes.values()), outcomes
    assert [process.exitcode for process in processes] == [0] * len(agents)
    return outcomes, polled


def test_add_events_from_four_processes_numbers_are_unique_and_increasing(tmp_path: Path) -> None:
    """SPEC: ids increase across workers; a poller following the marker misses none."""
    path = tmp_path / "shared.db"
    store = SqliteStore.open(path)
    agents = [f"agent-{n}" for n in range(PROCESSES)]
    for agent_id in agents:
        store.add_agent(make_agent(agent_id))
    seen, polled = _run(path, agents, EVENTS_PER_PROCESS)
    everyone = [number for numbers_ in seen.values() for number in numbers_]
    assert len(everyone) == len(set(everyone)) == PROCESSES * EVENTS_PER_PROCESS
    for agent_id, mine in seen.items():
        assert all(a < b for a, b in itertools.pairwise(mine)), agent_id
    assert polled == sorted(everyone), "the poller missed or repeated an event"
    assert all_numbers(store) == sorted(everyone)
    store.close()


def test_event_numbers_keep_increasing_across_restarts_and_resets(tmp_path: Path) -> None:
    """README: the counter increases across workers, restarts and resets and is never reused."""
    path = tmp_path / "restart.db"
    store = SqliteStore.open(path)
    store.add_agent(make_agent("agent-0"))
    store.add_events([event("agent-0", n) for n in range(3)])
    earlier = all_numbers(store)
    store.close()

    restarted = SqliteStore.open(path)  # a restart of the service on the same file
    restarted.add_events([event("agent-0", 3)])
    earlier += all_numbers(restarted)[-1:]
    restarted.delete_agent(PROJECT, "agent-0")  # the newest events go with their agent
    restarted.reset()
    restarted.add_agent(make_agent("agent-1"))
    restarted.close()

    # Another process, after the reset, numbers after every event it never saw.
    seen, _ = _run(path, ["agent-1"], 2)
    assert min(seen["agent-1"]) > max(earlier)
    assert earlier == sorted(set(earlier))
    reopened = SqliteStore.open(path)
    reopened.add_events([event(None, 9)])
    assert all_numbers(reopened)[-1] > max(seen["agent-1"])
    reopened.close()
