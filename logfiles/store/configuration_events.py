"""A configuration's events (its events page): the project's events whose details name it.

Written once for the three stores: the memory store's walk, and the one SQL statement both
databases run, each with its own way into the details' JSON (SQLite's json_extract,
PostgreSQL's json operators). The agents' feeds (sqlrows.feed_statement, memory_events.py)
are not involved: this reads the same rows by another filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ..events import Event, EventPage, EventQuery
from .sqlrows import EVENT_COLUMNS, Dialect, event_page, feed_order, time_text

# The details' `configuration.id` in each database's SQL, from the `details` column (JSON text).
SQLITE_CONFIGURATION_ID = "json_extract(details, '$.configuration.id')"
# PostgreSQL's json types refuse the escape `\u0000` (its text cannot hold NUL), which a
# registered name may hold in another event's details: it is read as U+FFFD first, which
# keeps the text valid JSON (an escaped backslash before it stays one) and every id as is.
POSTGRES_CONFIGURATION_ID = "(replace(details, '\\u0000', '\\ufffd')::jsonb -> 'configuration' ->> 'id')"


def names_configuration(event: Event, configuration_id: str) -> bool:
    configuration = event.details.get("configuration")
    return isinstance(configuration, dict) and configuration.get("id") == configuration_id


def memory_page(
    project_events: Sequence[Event], configuration_id: str, query: EventQuery, since: datetime
) -> EventPage:
    """The page from the project's events (ascending numbers), as the SQL below selects it."""
    ordered: Iterable[Event] = reversed(project_events) if query.descending else project_events
    items: list[Event] = []
    for event in ordered:
        if (
            not query.accepts(event.id)
            or event.time < since
            or not names_configuration(event, configuration_id)
        ):
            continue
        items.append(event)
        if len(items) > query.limit:
            break
    return EventPage(items[: query.limit], len(items) > query.limit)


def statement(
    dialect: Dialect,
    configuration_id_sql: str,
    project_id: str,
    configuration_id: str,
    query: EventQuery,
    since: datetime,
) -> tuple[str, tuple[Any, ...]]:
    """One statement along the project's index (project_id, id) from the marker; the
    details are read only for the project's events that are still kept."""
    mark = dialect.mark
    compare, order, marker = feed_order(query)
    sql = (
        f"SELECT {EVENT_COLUMNS} FROM events"  # noqa: S608 (our names)
        f" WHERE project_id = {mark} AND id {compare} {mark} AND time >= {mark}"
        f" AND {configuration_id_sql} = {mark}"
        f" ORDER BY id {order} LIMIT {mark}"
    )
    return sql, (dialect.codec.enc(project_id), marker, time_text(since), configuration_id, query.limit + 1)


def sql_page(found: Iterable[Any], dialect: Dialect, query: EventQuery) -> EventPage:
    return event_page(found, dialect.codec, query.limit)
