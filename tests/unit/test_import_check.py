"""The rules every store shares (store/base.py), against a fake store that records its writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from logfiles.errors import Conflict, Invalid
from logfiles.events import Event
from logfiles.model import Agent, LogFile
from logfiles.store.base import Import, add_agent, agent_not_in_state, check_import, id_taken, import_into

T0 = datetime(2014, 9, 23, tzinfo=UTC)


def agent(agent_id: str) -> Agent:
    return Agent(agent_id, "p", T0)


def logfile(logfile_id: str, agent_id: str = "a") -> LogFile:
    return LogFile(logfile_id, "p", agent_id, T0)


class FakeRows:
    """Holds ids only, answers lookups from them, and records every call."""

    def __init__(self, agents: Sequence[str] = (), logfiles: Sequence[str] = ()) -> None:
        self.agents = set(agents)
        self.logfiles = set(logfiles)
        self.calls: list[tuple[str, object]] = []

    def put_agent(self, agent: Agent) -> None:
        self.calls.append(("put_agent", agent.id))

    def drop_logfiles(self, agent_id: str) -> None:
        self.calls.append(("drop_logfiles", agent_id))

    def stored_agents(self, agent_ids: set[str]) -> set[str]:
        self.calls.append(("stored_agents", agent_ids))
        return agent_ids & self.agents

    def stored_logfiles(self, logfile_ids: set[str]) -> set[str]:
        self.calls.append(("stored_logfiles", logfile_ids))
        return logfile_ids & self.logfiles

    def stored_events(self, event_ids: set[int]) -> set[int]:
        self.calls.append(("stored_events", event_ids))
        return set()

    def clear(self) -> None:
        self.calls.append(("clear", None))

    def put_logfiles(self, logfiles: Sequence[LogFile]) -> None:
        self.calls.append(("put_logfiles", [lf.id for lf in logfiles]))

    def put_events(self, events: Sequence[Event]) -> None:
        self.calls.append(("put_events", [e.event for e in events]))

    def writes(self) -> list[str]:
        return [name for name, _ in self.calls if not name.startswith("stored_")]


def test_check_import_accepts_new_ids_and_log_files_of_stored_agents() -> None:
    check_import([agent("b")], [logfile("l1", "a"), logfile("l2", "b")], {"a"}, set())


@pytest.mark.parametrize(
    ("agents", "logfiles", "stored_agents", "stored_logfiles", "expected"),
    [
        (["a", "a"], [], set(), set(), id_taken("agent", "a")),
        (["a"], [], {"a"}, set(), id_taken("agent", "a")),
        (["a"], [("l", "a"), ("l", "a")], set(), set(), id_taken("logfile", "l")),
        (["a"], [("l", "a")], set(), {"l"}, id_taken("logfile", "l")),
        (["a"], [("l", "x")], set(), set(), agent_not_in_state("x")),
        # Agents are checked before any log file; among log files the first problem wins.
        (["a", "a"], [("l", "x")], set(), set(), id_taken("agent", "a")),
        (["a"], [("l", "x"), ("m", "a"), ("m", "a")], set(), set(), agent_not_in_state("x")),
        (["a"], [("l", "x")], set(), {"l"}, id_taken("logfile", "l")),
    ],
)
def test_check_import_raises_the_first_problem(
    agents: list[str],
    logfiles: list[tuple[str, str]],
    stored_agents: set[str],
    stored_logfiles: set[str],
    expected: Conflict | Invalid,
) -> None:
    with pytest.raises(type(expected)) as excinfo:
        check_import(
            [agent(a) for a in agents], [logfile(*lf) for lf in logfiles], stored_agents, stored_logfiles
        )
    assert (excinfo.value.message, excinfo.value.errors) == (expected.message, expected.errors)


def test_import_into_looks_up_only_the_imported_ids() -> None:
    rows = FakeRows(agents=["a", "z"], logfiles=["old"])
    import_into(rows, Import([agent("b")], [logfile("l1", "a"), logfile("l2", "b")], replace=False))
    assert rows.calls == [
        ("stored_agents", {"a", "b"}),
        ("stored_logfiles", {"l1", "l2"}),
        ("put_agent", "b"),
        ("put_logfiles", ["l1", "l2"]),
    ]


def test_import_into_writes_nothing_when_the_last_logfile_is_taken() -> None:
    rows = FakeRows(agents=["a"], logfiles=["old"])
    with pytest.raises(Conflict):
        import_into(rows, Import([agent("b")], [logfile("l1", "b"), logfile("old", "b")], replace=False))
    assert rows.writes() == []


def test_import_into_replacing_looks_nothing_up_and_checks_before_it_clears() -> None:
    rows = FakeRows(agents=["a"], logfiles=["l"])
    import_into(rows, Import([agent("a")], [logfile("l", "a")], replace=True))
    assert rows.calls == [("clear", None), ("put_agent", "a"), ("put_logfiles", ["l"])]
    rows = FakeRows(agents=["a"])
    with pytest.raises(Invalid):
        import_into(rows, Import([], [logfile("l", "a")], replace=True))
    assert rows.calls == []


def test_add_agent_drops_its_logfiles_then_puts_it() -> None:
    rows = FakeRows()
    add_agent(rows, agent("a"))
    assert rows.calls == [("drop_logfiles", "a"), ("put_agent", "a")]
