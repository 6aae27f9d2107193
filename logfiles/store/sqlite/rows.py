"""How agents, log files and times map to SQLite rows and back (stdlib only)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from ...model import Agent, LogFile, LogFileState

AGENT_COLUMNS = "id, project_id, registered_time, registration, enabled, log_level"
LOGFILE_COLUMNS = "id, project_id, agent_id, date, state"
# Ids per `IN (...)` lookup: well under SQLite's smallest limit on parameters (999 before 3.32).
CHUNK = 500

_UPSERT_AGENT = (
    f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
    " registered_time = excluded.registered_time, registration = excluded.registration,"
    " enabled = excluded.enabled, log_level = excluded.log_level"
)
_UPSERT_LOGFILE = (
    f"INSERT INTO logfiles ({LOGFILE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (agent_id, id) DO UPDATE SET"
    " project_id = excluded.project_id, date = excluded.date, state = excluded.state"
)


class SqlRows:
    """One transaction's connection as the shared rules in base.py see it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def put_agent(self, agent: Agent) -> None:
        insert_agent(self.db, agent)

    def drop_logfiles(self, agent_id: str) -> None:
        self.db.execute("DELETE FROM logfiles WHERE agent_id = ?", (agent_id,))

    def stored_agents(self, agent_ids: set[str]) -> set[str]:
        return {row[0] for row in select_in(self.db, "SELECT id FROM agents WHERE id IN ({})", agent_ids)}

    def stored_logfiles(self, logfile_ids: set[str]) -> set[str]:
        # The key (id, agent_id) (schema 3) makes this a lookup per id, not a scan of the table.
        query = "SELECT id FROM logfiles WHERE id IN ({})"
        return {row[0] for row in select_in(self.db, query, logfile_ids)}

    def clear(self) -> None:
        self.db.execute("DELETE FROM logfiles")
        self.db.execute("DELETE FROM agents")

    def put_logfiles(self, logfiles: Sequence[LogFile]) -> None:
        self.db.executemany(_UPSERT_LOGFILE, map(_logfile_values, logfiles))


def select_in(db: sqlite3.Connection, query: str, ids: Iterable[str]) -> Iterator[Any]:
    """The rows of `query` (its `{}` is the `IN` list) for every id, a chunk of ids at a time."""
    remaining = iter(ids)
    while chunk := list(islice(remaining, CHUNK)):
        yield from db.execute(query.format(", ".join("?" * len(chunk))), chunk)


def insert_agent(db: sqlite3.Connection, agent: Agent) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the export order) under a known id."""
    db.execute(
        _UPSERT_AGENT,
        (
            agent.id,
            agent.project_id,
            time_text(agent.registered_time),
            json.dumps(dict(agent.registration)),
            int(agent.enabled),
            agent.log_level,
        ),
    )


def insert_logfile(db: sqlite3.Connection, logfile: LogFile) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the list order) under a known id."""
    db.execute(_UPSERT_LOGFILE, _logfile_values(logfile))


def _logfile_values(logfile: LogFile) -> tuple[str, str, str, str, str]:
    return (logfile.id, logfile.project_id, logfile.agent_id, time_text(logfile.date), logfile.state.value)


def agent(row: Any) -> Agent:
    return Agent(
        id=row[0],
        project_id=row[1],
        registered_time=time_value(row[2]),
        registration=json.loads(row[3]),
        enabled=bool(row[4]),
        log_level=row[5],
    )


def logfile(row: Any) -> LogFile:
    return LogFile(
        id=row[0], project_id=row[1], agent_id=row[2], date=time_value(row[3]), state=LogFileState(row[4])
    )


def time_text(moment: datetime) -> str:
    """ISO text with every microsecond; aware times are kept in UTC, naive ones as they are."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def time_value(text: str) -> datetime:
    return datetime.fromisoformat(text)
