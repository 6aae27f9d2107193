"""PostgreSQL's rows: the shared row codec (sqlrows.py) with its text escape, and the writes
that are PostgreSQL's own (event numbers from a counter row, the PATCH's compare-and-set).

PostgreSQL text holds neither NUL nor a lone surrogate, and an id is any path segment (a
project `a%00b` is one). `enc` keeps every other string as it is and turns those few into
an escape that no plain string can be (a leading \\x01, then JSON); `dec` undoes it.
Names that must sort (object names, times) are never escaped: they cannot hold either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

from ...events import EVENT_LIFETIME, MAX_EVENTS_KEPT, Event, mended_counter
from ...model import Agent, LogFile
from ..sqlrows import EVENT_COLUMNS, Dialect, RowCodec, time_text, upsert_agent, upsert_logfile
from .connection import Database

_MARK = "\x01"

_UPSERT_AGENT = upsert_agent("%s")
_UPSERT_LOGFILE = upsert_logfile("%s", "id, agent_id")
# New events take the next numbers from the counter row, in one statement; the row stays
# locked until the transaction ends, so numbers are visible in the order they were taken.
# `%(count)s` new events numbered after the counter's old value (`counter` is the counter
# after taking them), their columns as arrays (`_fresh`).
_NUMBER_FROM_COUNTER = """
    INSERT INTO events (id, project_id, agent_id, time, event, details)
    SELECT counter.value - %(count)s + e.n, e.project_id, e.agent_id, e.time, e.event, e.details
    FROM counter, unnest(
        %(project_ids)s::text[], %(agent_ids)s::text[], %(times)s::text[],
        %(names)s::text[], %(details)s::text[]
    ) WITH ORDINALITY AS e (project_id, agent_id, time, event, details, n)
    RETURNING 1
"""
_INSERT_NEW_EVENTS = (
    """
    WITH counter AS (
        UPDATE counters SET value = value + %(count)s WHERE name = 'events' RETURNING value
    )
"""
    + _NUMBER_FROM_COUNTER
)
# Past their lifetime or beyond the cap: two deletes, each along its own index.
_TRIM_EVENTS = """
    WITH aged AS (DELETE FROM events WHERE time < %s RETURNING 1),
    capped AS (
        DELETE FROM events WHERE id <= (SELECT value FROM counters WHERE name = 'events') - %s RETURNING 1
    )
    SELECT (SELECT count(*) FROM aged) + (SELECT count(*) FROM capped)
"""
# A PATCH's change in one statement: the log file moves only if it is still as read; then
# its events take their numbers and old ones go, all in the one implicit transaction.
_COMPARE_AND_SET = (
    """
    WITH changed AS (
        UPDATE logfiles SET date = %(date)s, state = %(state)s
        WHERE agent_id = %(agent_id)s AND id = %(id)s AND project_id = %(project_id)s
          AND date = %(old_date)s AND state = %(old_state)s
        RETURNING 1
    ),
    counter AS (
        UPDATE counters SET value = value + %(count)s
        WHERE name = 'events' AND %(count)s > 0 AND EXISTS (SELECT 1 FROM changed)
        RETURNING value
    ),
    inserted AS ("""
    + _NUMBER_FROM_COUNTER
    + """),
    aged AS (
        DELETE FROM events WHERE time < %(oldest)s AND EXISTS (SELECT 1 FROM counter) RETURNING 1
    ),
    capped AS (
        DELETE FROM events WHERE id <= (SELECT value FROM counter) - %(cap)s RETURNING 1
    )
    SELECT count(*) FROM changed
"""
)
_INSERT_NUMBERED_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"


def enc(value: str) -> str:
    """The text PostgreSQL keeps for `value` (itself, unless it holds NUL, \\x01 or a surrogate)."""
    if "\x00" not in value and _MARK not in value:
        if value.isascii():
            return value
        try:
            value.encode()
            return value
        except UnicodeEncodeError:
            pass
    return _MARK + json.dumps(value)


def dec(value: str) -> str:
    return json.loads(value[1:]) if value.startswith(_MARK) else value


def enc_opt(value: str | None) -> str | None:
    return None if value is None else enc(value)


def dec_opt(value: str | None) -> str | None:
    return None if value is None else dec(value)


class PgCodec(RowCodec):
    """The shared row codec with PostgreSQL's text escape, and its flags as booleans."""

    def enc(self, value: str) -> str:
        return enc(value)

    def dec(self, value: str) -> str:
        return dec(value)

    def flag(self, value: bool) -> object:
        return value


CODEC = PgCodec()
# The shared SQL's dialect: a LIMIT on each half of a UNION; a write locks the rows it reads.
DIALECT = Dialect(CODEC, "%s", limit_halves=True, for_update=" FOR UPDATE")


class PgRows:
    """One transaction's connection as the shared rules in rules.py see it."""

    def __init__(self, db: psycopg.Connection[Any]) -> None:
        self.db = db

    def put_agent(self, agent: Agent) -> None:
        insert_agent(self.db, agent)

    def drop_logfiles(self, agent_id: str) -> None:
        self.db.execute("DELETE FROM logfiles WHERE agent_id = %s", (enc(agent_id),))

    def stored_agents(self, agent_ids: set[str]) -> set[str]:
        found = self.db.execute("SELECT id FROM agents WHERE id = ANY(%s)", ([enc(i) for i in agent_ids],))
        return {dec(row[0]) for row in found}

    def stored_logfiles(self, logfile_ids: set[str]) -> set[str]:
        found = self.db.execute(
            "SELECT id FROM logfiles WHERE id = ANY(%s)", ([enc(i) for i in logfile_ids],)
        )
        return {dec(row[0]) for row in found}

    def stored_events(self, event_ids: set[int]) -> set[int]:
        found = self.db.execute("SELECT id FROM events WHERE id = ANY(%s)", (list(event_ids),))
        return {int(row[0]) for row in found}

    def clear(self) -> None:
        self.db.execute("DELETE FROM logfiles; DELETE FROM tokens; DELETE FROM events; DELETE FROM agents")

    def put_logfiles(self, logfiles: Sequence[LogFile]) -> None:
        with self.db.cursor() as cursor:
            cursor.executemany(_UPSERT_LOGFILE, [CODEC.logfile_values(lf) for lf in logfiles])

    def put_events(self, events: Sequence[Event]) -> None:
        insert_events(self.db, events)


def insert_agent(db: psycopg.Connection[Any], agent: Agent) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the export order) under a known id."""
    db.execute(_UPSERT_AGENT, CODEC.agent_values(agent))


def insert_logfile(db: psycopg.Connection[Any], logfile: LogFile) -> None:
    db.execute(_UPSERT_LOGFILE, CODEC.logfile_values(logfile))


def insert_events(db: psycopg.Connection[Any], events: Sequence[Event]) -> None:
    """Number new events in order (an imported one keeps its own number, and the counter
    moves past it, as SQLite's AUTOINCREMENT does), then drop those past their lifetime or
    beyond the cap. New events in a row go in one statement."""
    if not events:
        return
    run: list[Event] = []
    for e in [*events, None]:
        if e is not None and not e.id:
            run.append(e)
            continue
        if run:
            _insert_new(db, run)
            run = []
        if e is not None:
            db.execute(_INSERT_NUMBERED_EVENT, CODEC.event_values(e))
            db.execute("UPDATE counters SET value = greatest(value, %s) WHERE name = 'events'", (e.id,))
    newest = max(e.time for e in events)
    db.execute(_TRIM_EVENTS, (time_text(newest - EVENT_LIFETIME), MAX_EVENTS_KEPT))


def mend_event_counter(db: psycopg.Connection[Any]) -> None:
    """Bring a counter left near 10^18 by an old, unbounded seed back (events.mended_counter)."""
    found = db.execute(
        "SELECT (SELECT value FROM counters WHERE name = 'events'), (SELECT max(id) FROM events)"
    ).fetchone()
    if found is None or found[0] is None:
        return
    mended = mended_counter(found[0], found[1])
    if mended is not None:
        db.execute("UPDATE counters SET value = %s WHERE name = 'events'", (mended,))


def compare_and_set(db: Database, expected: LogFile, updated: LogFile, events: Sequence[Event]) -> bool:
    """Whether the log file was still `expected` and is now `updated`, its events kept (one round trip)."""
    fresh = [e for e in events if not e.id]
    if len(fresh) != len(events):
        return False  # numbered events are the import's business, not a PATCH's
    newest = max((e.time for e in events), default=None)
    found = db.statement(
        _COMPARE_AND_SET,
        {
            "date": time_text(updated.date),
            "state": updated.state.value,
            "agent_id": enc(expected.agent_id),
            "id": enc(expected.id),
            "project_id": enc(expected.project_id),
            "old_date": time_text(expected.date),
            "old_state": expected.state.value,
            **_fresh(fresh),
            "oldest": None if newest is None else time_text(newest - EVENT_LIFETIME),
            "cap": MAX_EVENTS_KEPT,
        },
    )
    return bool(found and found[0][0])


def _insert_new(db: psycopg.Connection[Any], fresh: Sequence[Event]) -> None:
    db.execute(_INSERT_NEW_EVENTS, _fresh(fresh))


def _fresh(events: Sequence[Event]) -> dict[str, Any]:
    """New events as _NUMBER_FROM_COUNTER takes them: how many, and each column as an array."""
    columns = list(zip(*map(CODEC.event_values, events), strict=True)) or [()] * 6
    return {
        "count": len(events),
        "project_ids": list(columns[1]),
        "agent_ids": list(columns[2]),
        "times": list(columns[3]),
        "names": list(columns[4]),
        "details": list(columns[5]),
    }
