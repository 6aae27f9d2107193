"""How agents, log files and times map to SQLite rows and back (stdlib only)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from ...auth import IssuedToken
from ...events import EVENT_LIFETIME, Event, mended_counter
from ...model import Agent, LogFile, LogFileState

AGENT_COLUMNS = (
    "id, project_id, registered_time, registration, enabled, log_level, password_sha256, roles, last_heard"
)
LOGFILE_COLUMNS = "id, project_id, agent_id, date, state"
TOKEN_COLUMNS = "id, project_id, agent_id, roles, expires"  # noqa: S105  (column names)
EVENT_COLUMNS = "id, project_id, agent_id, time, event, details"
# Ids per `IN (...)` lookup: well under SQLite's smallest limit on parameters (999 before 3.32).
CHUNK = 500

_UPSERT_AGENT = (
    f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
    " registered_time = excluded.registered_time, registration = excluded.registration,"
    " enabled = excluded.enabled, log_level = excluded.log_level,"
    " password_sha256 = excluded.password_sha256, roles = excluded.roles, last_heard = excluded.last_heard"
)
_INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
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

    def stored_events(self, event_ids: set[int]) -> set[int]:
        query = "SELECT id FROM events WHERE id IN ({})"
        return {row[0] for row in select_in(self.db, query, event_ids)}

    def clear(self) -> None:
        for table in ("logfiles", "tokens", "events", "agents"):
            self.db.execute(f"DELETE FROM {table}")

    def put_logfiles(self, logfiles: Sequence[LogFile]) -> None:
        self.db.executemany(_UPSERT_LOGFILE, map(_logfile_values, logfiles))

    def put_events(self, events: Sequence[Event]) -> None:
        insert_events(self.db, events)


def select_in(db: sqlite3.Connection, query: str, ids: Iterable[str | int]) -> Iterator[Any]:
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
            agent.password_sha256,
            None if agent.roles is None else json.dumps(list(agent.roles)),
            None if agent.last_heard is None else time_text(agent.last_heard),
        ),
    )


def insert_events(db: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Keep events (AUTOINCREMENT numbers new ones in order, and moves past an imported
    event's own number), then drop those past their lifetime."""
    if not events:
        return
    db.executemany(
        _INSERT_EVENT,
        [
            (e.id or None, e.project_id, e.agent_id, time_text(e.time), e.event, json.dumps(dict(e.details)))
            for e in events
        ],
    )
    newest = max(e.time for e in events)
    db.execute("DELETE FROM events WHERE time < ?", (time_text(newest - EVENT_LIFETIME),))


def mend_event_counter(db: sqlite3.Connection) -> None:
    """Bring a counter left near 10^18 by an old, unbounded seed back (events.mended_counter)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    if row is None:
        return
    mended = mended_counter(row[0], db.execute("SELECT max(id) FROM events").fetchone()[0])
    if mended is not None:
        db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (mended,))


def event(row: Any) -> Event:
    return Event(
        id=row[0],
        project_id=row[1],
        agent_id=row[2],
        time=time_value(row[3]),
        event=row[4],
        details=json.loads(row[5]),
    )


def token_values(token: IssuedToken) -> tuple[Any, ...]:
    roles = None if token.roles is None else json.dumps(list(token.roles))
    return (token.id, token.project_id, token.agent_id, roles, time_text(token.expires))


def token(row: Any) -> IssuedToken:
    return IssuedToken(
        id=row[0],
        project_id=row[1],
        agent_id=row[2],
        roles=None if row[3] is None else tuple(json.loads(row[3])),
        expires=time_value(row[4]),
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
        password_sha256=row[6],
        roles=None if row[7] is None else tuple(json.loads(row[7])),
        last_heard=None if row[8] is None else time_value(row[8]),
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
