"""SQLite's rows: the shared row codec (sqlrows.py) as SQLite keeps text, and the writes
that are SQLite's own (stdlib only)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from ...events import EVENT_LIFETIME, Event, mended_counter
from ...model import Agent, LogFile
from ..sqlrows import EVENT_COLUMNS, Dialect, RowCodec, time_text, upsert_agent, upsert_logfile

# Ids per `IN (...)` lookup: well under SQLite's smallest limit on parameters (999 before 3.32).
CHUNK = 500
CODEC = RowCodec()  # SQLite keeps text as it is
# The shared SQL's dialect: no LIMIT on each half of a UNION; a write locks the whole file.
DIALECT = Dialect(CODEC, "?", limit_halves=False, for_update="")

_UPSERT_AGENT = upsert_agent("?")
_INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
_UPSERT_LOGFILE = upsert_logfile("?", "agent_id, id")


class SqlRows:
    """One transaction's connection as the shared rules in rules.py see it."""

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
        self.db.executemany(_UPSERT_LOGFILE, map(CODEC.logfile_values, logfiles))

    def put_events(self, events: Sequence[Event]) -> None:
        insert_events(self.db, events)


def select_in(db: sqlite3.Connection, query: str, ids: Iterable[str | int]) -> Iterator[Any]:
    """The rows of `query` (its `{}` is the `IN` list) for every id, a chunk of ids at a time."""
    remaining = iter(ids)
    while chunk := list(islice(remaining, CHUNK)):
        yield from db.execute(query.format(", ".join("?" * len(chunk))), chunk)


def insert_agent(db: sqlite3.Connection, agent: Agent) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the export order) under a known id."""
    db.execute(_UPSERT_AGENT, CODEC.agent_values(agent))


def insert_events(db: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Keep events (AUTOINCREMENT numbers new ones in order, and moves past an imported
    event's own number), then drop those past their lifetime."""
    if not events:
        return
    db.executemany(_INSERT_EVENT, [CODEC.event_values(e) for e in events])
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


def insert_logfile(db: sqlite3.Connection, logfile: LogFile) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the list order) under a known id."""
    db.execute(_UPSERT_LOGFILE, CODEC.logfile_values(logfile))
