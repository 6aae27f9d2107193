"""Builders and the race check shared by the store tests; importable by spawned processes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from logfiles.errors import Conflict
from logfiles.model import Agent, LogFile, LogFileState, change_state
from logfiles.store import Store

PROJECT = "110011"
OTHER_PROJECT = "220022"
T0 = datetime(2014, 9, 23, 12, 22, 40, 606703, tzinfo=UTC)
STARTED = LogFileState.STARTED
COMPLETED = LogFileState.COMPLETED


def make_agent(agent_id: str = "agent-1", project_id: str = PROJECT, **changes: Any) -> Agent:
    fields: dict[str, Any] = {
        "registered_time": T0,
        "registration": {
            "name": "mybackupagent",
            "host": {"addresses": [{"version": 4, "addr": "10.0.0.1"}]},
        },
    }
    fields.update(changes)
    return Agent(id=agent_id, project_id=project_id, **fields)


def make_logfile(
    logfile_id: str, agent_id: str = "agent-1", project_id: str = PROJECT, n: int = 0
) -> LogFile:
    return LogFile(id=logfile_id, project_id=project_id, agent_id=agent_id, date=T0 + timedelta(seconds=n))


def with_logfiles(store: Store, count: int, agent_id: str = "agent-1") -> list[LogFile]:
    """Add an agent and `count` log files to it, in order."""
    store.add_agent(make_agent(agent_id))
    logfiles = [make_logfile(f"{agent_id}-lf-{n}", agent_id, n=n) for n in range(count)]
    for logfile in logfiles:
        store.add_logfile(logfile)
    return logfiles


@dataclass(frozen=True)
class Attempt:
    """One update_logfile call in a race: the state it was given, where it aimed, whether it won."""

    logfile_id: str
    seen: LogFileState
    target: LogFileState
    ok: bool


def attempt(store: Store, logfile_id: str, target: LogFileState) -> Attempt:
    """Move the state and bump the date by 1 µs, so that a lost or doubled update shows in the date."""
    seen: list[LogFileState] = []

    def change(current: LogFile) -> LogFile:
        seen.append(current.state)
        moved = change_state(current, [target])
        return replace(moved, date=current.date + timedelta(microseconds=1))

    try:
        store.update_logfile(PROJECT, "agent-1", logfile_id, change)
    except Conflict:
        return Attempt(logfile_id, seen[-1], target, False)
    return Attempt(logfile_id, seen[-1], target, True)


def race(store: Store, logfiles: list[LogFile], worker: int, rounds: int) -> list[Attempt]:
    """Every worker walks every log file each round, aiming at a mix of started and completed."""
    return [
        attempt(store, logfile.id, STARTED if (worker + round_ + n) % 3 else COMPLETED)
        for round_ in range(rounds)
        for n, logfile in enumerate(logfiles)
    ]


def assert_consistent(store: Store, logfiles: list[LogFile], attempts: list[Attempt]) -> None:
    """No lost update, exactly one winner off `requested`, and `completed` never went back."""
    wins = Counter(a.logfile_id for a in attempts if a.ok)
    for logfile in logfiles:
        mine = [a for a in attempts if a.logfile_id == logfile.id]
        final = store.get_logfile(PROJECT, "agent-1", logfile.id)
        assert final.date - logfile.date == timedelta(microseconds=wins[logfile.id])
        assert [a.ok for a in mine if a.seen is LogFileState.REQUESTED] == [True]
        for a in mine:
            assert a.ok is not (a.seen is COMPLETED and a.target is STARTED), a
        completed = any(a.ok and a.target is COMPLETED for a in mine)
        assert final.state is (COMPLETED if completed else STARTED)
