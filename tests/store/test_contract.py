"""The Store contract, run against every store through the parametrised `store` fixture."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from logfiles.clock import REAL_TIME, ClockSetting
from logfiles.errors import Conflict, Invalid, LogfilesError, NotFound
from logfiles.events import Event, EventQuery
from logfiles.faults import FaultAction, FaultRule
from logfiles.journal import JournalEntry
from logfiles.model import LogFile, LogFileState, change_state
from logfiles.store import FullStore, Page
from logfiles.store.base import (
    agent_not_found,
    agent_not_in_state,
    fault_not_found,
    id_taken,
    logfile_not_found,
    marker_not_found,
)
from tests.store.helpers import (
    COMPLETED,
    OTHER_PROJECT,
    PROJECT,
    STARTED,
    T0,
    Attempt,
    assert_consistent,
    make_agent,
    make_logfile,
    race,
    with_logfiles,
)


def assert_error(excinfo: pytest.ExceptionInfo[LogfilesError], expected: LogfilesError) -> None:
    """Every store raises the very same error, message and errors alike."""
    assert type(excinfo.value) is type(expected)
    assert (excinfo.value.message, excinfo.value.errors) == (expected.message, expected.errors)


def ids(page: Page) -> list[str]:
    return [logfile.id for logfile in page.items]


# Agents


def test_get_agent_returns_what_was_added(store: FullStore) -> None:
    agent = make_agent(enabled=False, log_level="debug")
    store.add_agent(agent)
    got = store.get_agent(PROJECT, agent.id)
    assert got == agent
    assert got.registered_time.microsecond == 606703
    assert got.registration["host"]["addresses"][0]["version"] == 4


def test_get_agent_keeps_the_instant_of_a_non_utc_time(store: FullStore) -> None:
    moment = T0.astimezone(timezone(timedelta(hours=-5)))
    store.add_agent(make_agent(registered_time=moment))
    assert store.get_agent(PROJECT, "agent-1").registered_time == moment


def test_get_agent_unknown_is_not_found(store: FullStore) -> None:
    with pytest.raises(NotFound) as excinfo:
        store.get_agent(PROJECT, "nobody")
    assert_error(excinfo, agent_not_found(PROJECT, "nobody"))


def test_get_agent_of_another_project_is_not_found(store: FullStore) -> None:
    store.add_agent(make_agent())
    with pytest.raises(NotFound) as excinfo:
        store.get_agent(OTHER_PROJECT, "agent-1")
    assert_error(excinfo, agent_not_found(OTHER_PROJECT, "agent-1"))


def test_add_agent_again_replaces_it_without_its_logfiles(store: FullStore) -> None:
    with_logfiles(store, 2)
    again = make_agent(log_level="info")
    store.add_agent(again)
    assert store.get_agent(PROJECT, "agent-1") == again
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([], False)


def test_delete_agent_removes_it_and_its_logfiles(store: FullStore) -> None:
    logfiles = with_logfiles(store, 2)
    store.delete_agent(PROJECT, "agent-1")
    with pytest.raises(NotFound) as excinfo:
        store.get_agent(PROJECT, "agent-1")
    assert_error(excinfo, agent_not_found(PROJECT, "agent-1"))
    with pytest.raises(NotFound) as excinfo:
        store.get_logfile(PROJECT, "agent-1", logfiles[0].id)
    assert_error(excinfo, agent_not_found(PROJECT, "agent-1"))
    # Registered again under the same id, it does not get its old log files back.
    store.add_agent(make_agent())
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([], False)


def test_delete_agent_leaves_other_agents_logfiles(store: FullStore) -> None:
    with_logfiles(store, 2, "agent-1")
    kept = with_logfiles(store, 2, "agent-2")
    store.delete_agent(PROJECT, "agent-1")
    assert store.list_logfiles(PROJECT, "agent-2", 10) == Page(kept, False)


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_delete_agent_unknown_is_not_found_and_changes_nothing(
    store: FullStore, project_id: str, agent_id: str
) -> None:
    logfiles = with_logfiles(store, 1)
    with pytest.raises(NotFound) as excinfo:
        store.delete_agent(project_id, agent_id)
    assert_error(excinfo, agent_not_found(project_id, agent_id))
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page(logfiles, False)


# Log files: add and get


def test_get_logfile_returns_what_was_added(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    got = store.get_logfile(PROJECT, "agent-1", logfile.id)
    assert got == logfile
    assert got.date.microsecond == 606703
    assert got.state is LogFileState.REQUESTED


def test_add_logfile_keeps_state_and_every_microsecond(store: FullStore) -> None:
    store.add_agent(make_agent())
    logfile = replace(make_logfile("lf"), date=T0 + timedelta(microseconds=1), state=COMPLETED)
    store.add_logfile(logfile)
    assert store.get_logfile(PROJECT, "agent-1", "lf") == logfile


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_add_logfile_unknown_agent_is_not_found(store: FullStore, project_id: str, agent_id: str) -> None:
    store.add_agent(make_agent())
    with pytest.raises(NotFound) as excinfo:
        store.add_logfile(make_logfile("lf", agent_id, project_id))
    assert_error(excinfo, agent_not_found(project_id, agent_id))
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([], False)


def test_add_logfile_after_agent_deleted_is_not_found(store: FullStore) -> None:
    store.add_agent(make_agent())
    store.delete_agent(PROJECT, "agent-1")
    with pytest.raises(NotFound) as excinfo:
        store.add_logfile(make_logfile("lf"))
    assert_error(excinfo, agent_not_found(PROJECT, "agent-1"))


def test_add_logfile_again_replaces_it_in_place(store: FullStore) -> None:
    logfiles = with_logfiles(store, 3)
    again = replace(logfiles[0], state=STARTED)
    store.add_logfile(again)
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([again, *logfiles[1:]], False)


def test_get_logfile_unknown_is_not_found(store: FullStore) -> None:
    with_logfiles(store, 1)
    with pytest.raises(NotFound) as excinfo:
        store.get_logfile(PROJECT, "agent-1", "missing")
    assert_error(excinfo, logfile_not_found("agent-1", "missing"))


def test_get_logfile_of_another_agent_is_not_found(store: FullStore) -> None:
    (theirs,) = with_logfiles(store, 1, "agent-2")
    store.add_agent(make_agent("agent-1"))
    with pytest.raises(NotFound) as excinfo:
        store.get_logfile(PROJECT, "agent-1", theirs.id)
    assert_error(excinfo, logfile_not_found("agent-1", theirs.id))


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_get_logfile_unknown_agent_is_agent_not_found(
    store: FullStore, project_id: str, agent_id: str
) -> None:
    (logfile,) = with_logfiles(store, 1)
    with pytest.raises(NotFound) as excinfo:
        store.get_logfile(project_id, agent_id, logfile.id)
    assert_error(excinfo, agent_not_found(project_id, agent_id))


def test_same_logfile_id_under_two_agents_are_two_logfiles(store: FullStore) -> None:
    store.add_agent(make_agent("agent-1"))
    store.add_agent(make_agent("agent-2"))
    one = make_logfile("lf", "agent-1")
    two = make_logfile("lf", "agent-2", n=5)
    store.add_logfile(one)
    store.add_logfile(two)
    store.delete_logfile(PROJECT, "agent-1", "lf")
    assert store.get_logfile(PROJECT, "agent-2", "lf") == two


# Log files: list


def test_list_logfiles_none_is_empty(store: FullStore) -> None:
    store.add_agent(make_agent())
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([], False)


def test_list_logfiles_is_in_request_order_not_date_order(store: FullStore) -> None:
    store.add_agent(make_agent())
    logfiles = [make_logfile(name, n=-n) for n, name in enumerate(["c", "a", "b"])]
    for logfile in logfiles:
        store.add_logfile(logfile)
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page(logfiles, False)


def test_list_logfiles_only_the_agents_own_interleaved(store: FullStore) -> None:
    store.add_agent(make_agent("agent-1"))
    store.add_agent(make_agent("agent-2"))
    mine, theirs = [], []
    for n in range(4):
        mine.append(make_logfile(f"mine-{n}", "agent-1", n=n))
        theirs.append(make_logfile(f"theirs-{n}", "agent-2", n=n))
        store.add_logfile(mine[-1])
        store.add_logfile(theirs[-1])
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page(mine, False)
    assert ids(store.list_logfiles(PROJECT, "agent-2", 2, "theirs-1")) == ["theirs-2", "theirs-3"]


@pytest.mark.parametrize(
    ("limit", "expected", "more"),
    [(0, [], True), (1, [0], True), (2, [0, 1], True), (3, [0, 1, 2], False), (10, [0, 1, 2], False)],
)
def test_list_logfiles_limit_decides_more(
    store: FullStore, limit: int, expected: list[int], more: bool
) -> None:
    logfiles = with_logfiles(store, 3)
    assert store.list_logfiles(PROJECT, "agent-1", limit) == Page([logfiles[n] for n in expected], more)


def test_list_logfiles_limit_zero_of_none_has_no_more(store: FullStore) -> None:
    store.add_agent(make_agent())
    assert store.list_logfiles(PROJECT, "agent-1", 0) == Page([], False)


def test_list_logfiles_pages_with_marker_reach_every_logfile_once(store: FullStore) -> None:
    logfiles = with_logfiles(store, 7)
    seen: list[LogFile] = []
    marker = None
    for _ in range(10):
        page = store.list_logfiles(PROJECT, "agent-1", 3, marker)
        seen.extend(page.items)
        if not page.more:
            break
        marker = page.items[-1].id
    assert seen == logfiles


def test_list_logfiles_marker_of_the_last_is_empty(store: FullStore) -> None:
    logfiles = with_logfiles(store, 2)
    assert store.list_logfiles(PROJECT, "agent-1", 5, logfiles[-1].id) == Page([], False)


def test_list_logfiles_marker_after_a_deleted_neighbour(store: FullStore) -> None:
    logfiles = with_logfiles(store, 4)
    store.delete_logfile(PROJECT, "agent-1", logfiles[2].id)
    assert store.list_logfiles(PROJECT, "agent-1", 5, logfiles[1].id) == Page([logfiles[3]], False)


def test_list_logfiles_unknown_marker_is_invalid(store: FullStore) -> None:
    with_logfiles(store, 2)
    with pytest.raises(Invalid) as excinfo:
        store.list_logfiles(PROJECT, "agent-1", 5, "missing")
    assert_error(excinfo, marker_not_found("missing"))


def test_list_logfiles_marker_of_another_agent_is_invalid(store: FullStore) -> None:
    with_logfiles(store, 2, "agent-1")
    (theirs,) = with_logfiles(store, 1, "agent-2")
    with pytest.raises(Invalid) as excinfo:
        store.list_logfiles(PROJECT, "agent-1", 5, theirs.id)
    assert_error(excinfo, marker_not_found(theirs.id))


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_list_logfiles_unknown_agent_is_not_found_before_the_marker(
    store: FullStore, project_id: str, agent_id: str
) -> None:
    with_logfiles(store, 1)
    with pytest.raises(NotFound) as excinfo:
        store.list_logfiles(project_id, agent_id, 5, "missing")
    assert_error(excinfo, agent_not_found(project_id, agent_id))


# Log files: update


def test_update_logfile_applies_the_change_and_returns_it(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    updated = store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]))
    assert updated == replace(logfile, state=STARTED)
    assert store.get_logfile(PROJECT, "agent-1", logfile.id) == updated


def test_update_logfile_passes_the_current_logfile(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]))
    seen: list[LogFile] = []

    def change(current: LogFile) -> LogFile:
        seen.append(current)
        return change_state(current, [COMPLETED])

    store.update_logfile(PROJECT, "agent-1", logfile.id, change)
    # `change` is pure, so a store may call it more than once (SQLite: on a snapshot, then
    # under the write lock); every call sees the current log file.
    assert seen and set(seen) == {replace(logfile, state=STARTED)}


def test_update_logfile_writes_a_changed_date(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    later = logfile.date + timedelta(microseconds=1)
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: replace(lf, date=later))
    assert store.get_logfile(PROJECT, "agent-1", logfile.id).date == later


def test_update_logfile_unchanged_returns_the_current(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    assert store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: lf) == logfile
    assert store.get_logfile(PROJECT, "agent-1", logfile.id) == logfile


def test_update_logfile_completed_to_started_is_conflict_and_changes_nothing(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [COMPLETED]))
    with pytest.raises(Conflict):
        store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]))
    assert store.get_logfile(PROJECT, "agent-1", logfile.id).state is COMPLETED
    # The failed transaction leaves the store usable.
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [COMPLETED]))


def test_update_logfile_keeps_its_place_in_the_list(store: FullStore) -> None:
    logfiles = with_logfiles(store, 3)
    updated = store.update_logfile(PROJECT, "agent-1", logfiles[0].id, lambda lf: change_state(lf, [STARTED]))
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([updated, *logfiles[1:]], False)


def test_update_logfile_unknown_is_not_found_without_calling_change(store: FullStore) -> None:
    with_logfiles(store, 1)

    def change(current: LogFile) -> LogFile:
        raise AssertionError("change called for a missing log file")

    with pytest.raises(NotFound) as excinfo:
        store.update_logfile(PROJECT, "agent-1", "missing", change)
    assert_error(excinfo, logfile_not_found("agent-1", "missing"))
    with pytest.raises(NotFound) as excinfo:
        store.update_logfile(OTHER_PROJECT, "agent-1", "missing", change)
    assert_error(excinfo, agent_not_found(OTHER_PROJECT, "agent-1"))


# Log files: delete


def test_delete_logfile_removes_only_it(store: FullStore) -> None:
    logfiles = with_logfiles(store, 3)
    store.delete_logfile(PROJECT, "agent-1", logfiles[1].id)
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([logfiles[0], logfiles[2]], False)
    with pytest.raises(NotFound) as excinfo:
        store.get_logfile(PROJECT, "agent-1", logfiles[1].id)
    assert_error(excinfo, logfile_not_found("agent-1", logfiles[1].id))


def test_delete_logfile_twice_is_not_found(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    store.delete_logfile(PROJECT, "agent-1", logfile.id)
    with pytest.raises(NotFound) as excinfo:
        store.delete_logfile(PROJECT, "agent-1", logfile.id)
    assert_error(excinfo, logfile_not_found("agent-1", logfile.id))


@pytest.mark.parametrize(("project_id", "agent_id"), [(PROJECT, "nobody"), (OTHER_PROJECT, "agent-1")])
def test_delete_logfile_unknown_agent_is_agent_not_found(
    store: FullStore, project_id: str, agent_id: str
) -> None:
    (logfile,) = with_logfiles(store, 1)
    with pytest.raises(NotFound) as excinfo:
        store.delete_logfile(project_id, agent_id, logfile.id)
    assert_error(excinfo, agent_not_found(project_id, agent_id))
    assert store.get_logfile(PROJECT, "agent-1", logfile.id) == logfile


# Reset and close


def test_reset_forgets_everything_and_the_store_still_works(store: FullStore) -> None:
    with_logfiles(store, 2)
    store.reset()
    with pytest.raises(NotFound):
        store.get_agent(PROJECT, "agent-1")
    logfiles = with_logfiles(store, 1)
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page(logfiles, False)


def test_reset_forgets_journal_faults_and_clock(store: FullStore) -> None:
    store.record_request(entry(), 10)
    store.add_fault(FaultRule(id="f1", action=FaultAction.STATUS))
    store.set_clock(ClockSetting(frozen_at=T0))
    store.reset()
    assert (store.list_requests(), store.list_faults(), store.get_clock()) == ([], [], REAL_TIME)


def test_close_twice_and_the_next_call_still_works(store: FullStore) -> None:
    logfiles = with_logfiles(store, 1)
    store.close()
    store.close()
    assert store.get_logfile(PROJECT, "agent-1", logfiles[0].id) == logfiles[0]


# Concurrency


def test_update_logfile_from_many_threads_loses_nothing(store: FullStore) -> None:
    logfiles = with_logfiles(store, 5)
    workers = 8
    barrier = threading.Barrier(workers)
    attempts: list[Attempt] = []
    failures: list[BaseException] = []

    def hammer(worker: int) -> None:
        try:
            barrier.wait(timeout=5)
            attempts.extend(race(store, logfiles, worker, rounds=6))
            store.close()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert len(attempts) == workers * 6 * len(logfiles)
    assert_consistent(store, logfiles, attempts)


def test_update_logfile_change_may_read_the_clock(store: FullStore) -> None:
    """A change that reads the store (the clock) must not deadlock or fail inside the update."""
    (logfile,) = with_logfiles(store, 1)
    store.set_clock(ClockSetting(frozen_at=T0 + timedelta(days=1)))

    def change(current: LogFile) -> LogFile:
        return replace(current, date=store.get_clock().now())

    store.update_logfile(PROJECT, "agent-1", logfile.id, change)
    assert store.get_logfile(PROJECT, "agent-1", logfile.id).date == T0 + timedelta(days=1)
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]))


# Control-plane state: export and import


def test_export_state_agents_in_order_added_logfiles_agent_by_agent(store: FullStore) -> None:
    store.add_agent(make_agent("agent-b"))
    store.add_agent(make_agent("agent-a"))
    added = []
    for n in range(2):
        for agent_id in ("agent-a", "agent-b"):
            added.append(make_logfile(f"{agent_id}-{n}", agent_id, n=n))
            store.add_logfile(added[-1])
    store.add_agent(make_agent("agent-b", log_level="info"))  # added again: same place, no log files
    snapshot = store.export_state()
    agents, logfiles = snapshot.agents, snapshot.logfiles
    assert agents == [make_agent("agent-b", log_level="info"), make_agent("agent-a")]
    assert [lf.id for lf in logfiles] == ["agent-a-0", "agent-a-1"]


def test_export_state_after_delete_and_add_puts_the_agent_last(store: FullStore) -> None:
    store.add_agent(make_agent("agent-1"))
    store.add_agent(make_agent("agent-2"))
    store.delete_agent(PROJECT, "agent-1")
    store.add_agent(make_agent("agent-1"))
    assert [agent.id for agent in store.export_state().agents] == ["agent-2", "agent-1"]


def test_import_state_replace_then_export_gives_it_back(store: FullStore) -> None:
    with_logfiles(store, 1, "old")
    agents = [make_agent("agent-1", enabled=False), make_agent("agent-2", OTHER_PROJECT)]
    logfiles = [
        make_logfile("lf-1", "agent-1", n=3),
        replace(make_logfile("lf-2", "agent-1", n=1), state=COMPLETED),
        make_logfile("lf-3", "agent-2", OTHER_PROJECT),
    ]
    store.import_state(agents, logfiles, replace=True)
    assert (store.export_state().agents, store.export_state().logfiles) == (agents, logfiles)
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page(logfiles[:2], False)


def test_import_state_add_goes_after_what_is_there(store: FullStore) -> None:
    mine = with_logfiles(store, 2, "agent-1")
    new = make_logfile("new", "agent-1", n=9)
    store.import_state([make_agent("agent-2")], [new], replace=False)
    assert [agent.id for agent in store.export_state().agents] == ["agent-1", "agent-2"]
    assert store.list_logfiles(PROJECT, "agent-1", 10) == Page([*mine, new], False)


@pytest.mark.parametrize("replace_", [False, True])
def test_import_state_taken_id_is_conflict_and_changes_nothing(store: FullStore, replace_: bool) -> None:
    with_logfiles(store, 1, "agent-1")
    before = store.export_state()
    with pytest.raises(Conflict) as excinfo:
        store.import_state([make_agent("x"), make_agent("x")], [], replace=replace_)
    assert_error(excinfo, id_taken("agent", "x"))
    with pytest.raises(Conflict) as excinfo:
        store.import_state(
            [make_agent("x")], [make_logfile("l", "x"), make_logfile("l", "x")], replace=replace_
        )
    assert_error(excinfo, id_taken("logfile", "l"))
    assert store.export_state() == before


def test_import_state_add_taken_ids_are_conflict(store: FullStore) -> None:
    (theirs,) = with_logfiles(store, 1, "agent-1")
    before = store.export_state()
    with pytest.raises(Conflict) as excinfo:
        store.import_state([make_agent("agent-1")], [], replace=False)
    assert_error(excinfo, id_taken("agent", "agent-1"))
    # A log file id is taken even when it belongs to another agent.
    with pytest.raises(Conflict) as excinfo:
        store.import_state([make_agent("agent-2")], [make_logfile(theirs.id, "agent-2")], replace=False)
    assert_error(excinfo, id_taken("logfile", theirs.id))
    assert store.export_state() == before


@pytest.mark.parametrize("replace_", [False, True])
def test_import_state_logfile_of_an_unknown_agent_is_invalid_and_changes_nothing(
    store: FullStore, replace_: bool
) -> None:
    with_logfiles(store, 1, "agent-1")
    before = store.export_state()
    with pytest.raises(Invalid) as excinfo:
        store.import_state([make_agent("x")], [make_logfile("l", "nobody")], replace=replace_)
    assert_error(excinfo, agent_not_in_state("nobody"))
    assert store.export_state() == before


def test_import_state_keeps_journal_faults_and_clock(store: FullStore) -> None:
    store.record_request(entry(), 10)
    store.add_fault(FaultRule(id="f1", action=FaultAction.DROP))
    store.set_clock(ClockSetting(frozen_at=T0))
    store.import_state([], [], replace=True)
    assert len(store.list_requests()) == 1
    assert [rule.id for rule in store.list_faults()] == ["f1"]
    assert store.get_clock() == ClockSetting(frozen_at=T0)


# Control-plane state: the journal


def entry(path: str = "/v2/110011/agents", **changes: Any) -> JournalEntry:
    fields: dict[str, Any] = {
        "time": T0,
        "method": "POST",
        "path": path,
        "query": "limit=2&marker=x",
        "headers": {"X-Auth-Token": "t", "Content-Type": "application/json"},
        "body": '{"name": "é…"}',
        "status": 201,
    }
    fields.update(changes)
    return JournalEntry(**fields)


def test_list_requests_gives_entries_back_numbered_in_order(store: FullStore) -> None:
    first, second = (
        entry("/v2/1"),
        entry("/v2/2", status=503, fault="f1", time=T0 + timedelta(microseconds=7)),
    )
    store.record_request(first, 10)
    store.record_request(second, 10)
    assert store.list_requests() == [replace(first, seq=1), replace(second, seq=2)]


def test_record_request_keeps_the_newest_capacity_entries(store: FullStore) -> None:
    for n in range(5):
        store.record_request(entry(f"/v2/{n}"), 3)
    assert [(e.seq, e.path) for e in store.list_requests()] == [(3, "/v2/2"), (4, "/v2/3"), (5, "/v2/4")]
    store.record_request(entry("/v2/5"), 1)
    assert [e.seq for e in store.list_requests()] == [6]
    store.record_request(entry("/v2/6"), 0)
    assert store.list_requests() == []


def test_record_request_numbers_keep_counting_after_clear_and_reset(store: FullStore) -> None:
    store.record_request(entry(), 10)
    store.clear_requests()
    assert store.list_requests() == []
    store.record_request(entry(), 10)
    store.reset()
    store.record_request(entry(), 10)
    assert [e.seq for e in store.list_requests()] == [3]


def test_record_request_keeps_the_answers_size_and_body(store: FullStore) -> None:
    told = entry("/v2/told", response_bytes=40, response_body='{"message": "nul \x00, \x01 and é…"}')
    streamed = entry("/v2/streamed", response_bytes=1 << 40, response_body=None)
    store.record_request(told, 10)
    store.record_request(streamed, 10)
    store.record_request(entry("/v2/plain"), 10)
    found = store.list_requests()
    assert found == [replace(told, seq=1), replace(streamed, seq=2), replace(entry("/v2/plain"), seq=3)]
    assert (found[2].response_bytes, found[2].response_body) == (None, None)


def test_list_requests_after_a_number_gives_only_newer_entries(store: FullStore) -> None:
    for n in range(5):
        store.record_request(entry(f"/v2/{n}"), 10)
    assert [e.seq for e in store.list_requests(after=0)] == [1, 2, 3, 4, 5]
    assert [e.path for e in store.list_requests(after=3)] == ["/v2/3", "/v2/4"]
    assert store.list_requests(after=5) == []
    assert store.list_requests(after=10**17) == []


@pytest.mark.parametrize(
    ("after", "limit", "expected"),
    [(0, 2, [1, 2]), (2, 2, [3, 4]), (4, 2, [5]), (0, 0, []), (3, 100, [4, 5]), (1, None, [2, 3, 4, 5])],
)
def test_list_requests_limit_takes_the_oldest_after(
    store: FullStore, after: int, limit: int | None, expected: list[int]
) -> None:
    for n in range(5):
        store.record_request(entry(f"/v2/{n}"), 10)
    assert [e.seq for e in store.list_requests(after=after, limit=limit)] == expected


def test_list_requests_after_a_trimmed_or_cleared_number(store: FullStore) -> None:
    for n in range(6):
        store.record_request(entry(f"/v2/{n}"), 3)
    # 1 to 3 were trimmed: after 1 is the same as after 0.
    assert [e.seq for e in store.list_requests(after=1)] == [4, 5, 6]
    assert [e.seq for e in store.list_requests(after=4, limit=1)] == [5]
    store.clear_requests()
    store.record_request(entry(), 3)
    assert [e.seq for e in store.list_requests(after=2)] == [7]


def test_release_between_calls_and_the_next_call_still_works(store: FullStore) -> None:
    store.record_request(entry(), 10)
    store.release()
    store.release()
    assert [e.seq for e in store.list_requests()] == [1]


def test_last_request_seq_counts_cleared_and_trimmed_entries(store: FullStore) -> None:
    assert store.last_request_seq() == 0
    for _ in range(3):
        store.record_request(entry(), 2)
    assert store.last_request_seq() == 3
    store.clear_requests()
    assert store.last_request_seq() == 3
    store.reset()
    store.record_request(entry(), 2)
    assert store.last_request_seq() == 4


# Control-plane state: fault rules


def rule(rule_id: str = "f1", **changes: Any) -> FaultRule:
    return FaultRule(id=rule_id, action=FaultAction.STATUS, **changes)


def test_list_faults_gives_rules_back_in_order_added(store: FullStore) -> None:
    rules = [
        rule("f2", path="/v2/*/agents", status=500, errors=("a", "b"), headers={"Retry-After": "1"}),
        FaultRule(id="f1", action=FaultAction.LATENCY, latency=0.25, times=None, probability=0.3, seed=7),
        rule("f3", method="get", header="X-Auth-Token", header_value="bad*", every=2, message="Nope."),
    ]
    for each in rules:
        store.add_fault(each)
    assert store.list_faults() == rules


def test_delete_fault_removes_every_rule_with_the_id(store: FullStore) -> None:
    for rule_id in ("f1", "f2", "f1"):
        store.add_fault(rule(rule_id))
    store.delete_fault("f1")
    assert [r.id for r in store.list_faults()] == ["f2"]
    with pytest.raises(NotFound) as excinfo:
        store.delete_fault("f1")
    assert_error(excinfo, fault_not_found("f1"))


def test_clear_faults_removes_them_all(store: FullStore) -> None:
    store.add_fault(rule("f1"))
    store.add_fault(rule("f2"))
    store.clear_faults()
    assert store.list_faults() == []


def test_trigger_fault_without_rules_is_none(store: FullStore) -> None:
    assert store.trigger_fault("GET", "/v2/1/agents/a", {}) is None


def test_trigger_fault_counts_and_fires_the_first_that_fires(store: FullStore) -> None:
    store.add_fault(rule("f1", path="/v2/*/agents", times=None))
    store.add_fault(rule("f2", every=2, times=1))
    store.add_fault(rule("f3", times=None))
    fired = [store.trigger_fault("GET", "/v2/1/agents/a", {}) for _ in range(4)]
    assert [r.id if r else None for r in fired] == ["f3", "f2", "f3", "f3"]
    assert [(r.id, r.matched, r.fired) for r in store.list_faults()] == [
        ("f1", 0, 0),
        ("f2", 4, 1),
        ("f3", 3, 3),
    ]
    # The rule returned carries its counters as they were when it fired.
    assert fired[1] == rule("f2", every=2, times=1, matched=2, fired=1)


def test_trigger_fault_from_many_threads_fires_exactly_times(store: FullStore) -> None:
    store.add_fault(rule("f1", times=5))
    workers, calls = 8, 10
    barrier = threading.Barrier(workers)
    fired: list[FaultRule | None] = []
    failures: list[BaseException] = []

    def hammer() -> None:
        try:
            barrier.wait(timeout=5)
            fired.extend(store.trigger_fault("GET", "/v2/1", {}) for _ in range(calls))
            store.close()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert failures == []
    assert sum(r is not None for r in fired) == 5
    assert [(r.matched, r.fired) for r in store.list_faults()] == [(workers * calls, 5)]


# Control-plane state: the clock


def test_get_clock_is_real_time_at_first(store: FullStore) -> None:
    assert store.get_clock() == REAL_TIME


@pytest.mark.parametrize(
    "setting",
    [
        ClockSetting(frozen_at=T0 + timedelta(microseconds=1)),
        ClockSetting(offset=timedelta(days=-3, microseconds=17)),
        ClockSetting(frozen_at=T0.astimezone(timezone(timedelta(hours=5, minutes=30)))),
        REAL_TIME,
    ],
)
def test_set_clock_then_get_clock_gives_it_back(store: FullStore, setting: ClockSetting) -> None:
    store.set_clock(ClockSetting(offset=timedelta(hours=1)))
    store.set_clock(setting)
    assert store.get_clock() == setting


# Log files: update with the caller's `expected` read (a hint: the change still applies to
# what the log file is by then).


def _started_event(before: LogFile, after: LogFile) -> list[Event]:
    return [Event(before.project_id, before.agent_id, after.date, "logfile_started", {"id": before.id})]


def _feed(store: FullStore) -> list[Event]:
    return store.list_events(PROJECT, "agent-1", EventQuery(100), datetime(1970, 1, 1, tzinfo=UTC)).items


def test_update_logfile_with_expected_as_stored_applies_the_change_and_its_events(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    updated = store.update_logfile(
        PROJECT,
        "agent-1",
        logfile.id,
        lambda lf: change_state(lf, [STARTED]),
        _started_event,
        expected=logfile,
    )
    assert updated == replace(logfile, state=STARTED)
    assert store.get_logfile(PROJECT, "agent-1", logfile.id) == updated
    assert [e.event for e in _feed(store)] == ["logfile_started"]


def test_update_logfile_with_a_stale_expected_changes_what_is_current(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    store.update_logfile(PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]))
    # Read as `requested` before someone else started it: starting it again changes nothing
    # and emits nothing; completing it goes from what it is now.
    again = store.update_logfile(
        PROJECT,
        "agent-1",
        logfile.id,
        lambda lf: change_state(lf, [STARTED]),
        _started_event,
        expected=logfile,
    )
    assert again == replace(logfile, state=STARTED)
    assert _feed(store) == []
    done = store.update_logfile(
        PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [COMPLETED]), expected=logfile
    )
    assert done.state is COMPLETED
    with pytest.raises(Conflict):
        store.update_logfile(
            PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]), expected=logfile
        )
    assert store.get_logfile(PROJECT, "agent-1", logfile.id).state is COMPLETED


def test_update_logfile_with_expected_of_a_deleted_logfile_is_not_found(store: FullStore) -> None:
    (logfile,) = with_logfiles(store, 1)
    store.delete_logfile(PROJECT, "agent-1", logfile.id)
    with pytest.raises(NotFound):
        store.update_logfile(
            PROJECT, "agent-1", logfile.id, lambda lf: change_state(lf, [STARTED]), expected=logfile
        )
    assert _feed(store) == []


def test_update_logfile_with_expected_racing_threads_each_move_happens_once(store: FullStore) -> None:
    """Eight threads start the same log file from one stale read: one wins, one event."""
    (logfile,) = with_logfiles(store, 1)
    results: list[LogFile] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(
            store.update_logfile(
                PROJECT,
                "agent-1",
                logfile.id,
                lambda lf: change_state(lf, [STARTED]),
                _started_event,
                expected=logfile,
            )
        )

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 8 and {r.state for r in results} == {STARTED}
    assert [e.event for e in _feed(store)] == ["logfile_started"]
