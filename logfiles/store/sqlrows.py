"""How agents, log files, tokens and events map to SQL rows and back, for both SQL stores.

The two databases keep the same columns in the same order; they differ only in how text is
kept (PostgreSQL escapes what its text cannot hold: postgres/rows.py) and in how a flag is
(SQLite: 0 or 1), so one `RowCodec` serves both and each store's rows.py binds its own.
Times are ISO text with every microsecond in both, so that they sort and compare as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Generic, NamedTuple, TypeVar

from ..auth import TOKEN_LIFETIME, IssuedToken
from ..events import Event, EventPage, EventQuery
from ..model import Agent, LogFile, LogFileState
from ..pacing import Pause, paced
from .base import AgentChange, Page, Snapshot
from .rules import agent_not_found

_Item = TypeVar("_Item")
# A connection's `execute(sql, parameters)`: the cursor it gives iterates rows and has fetchone/fetchall.
Execute = Callable[[str, Sequence[Any]], Any]

AGENT_COLUMNS = (
    "id, project_id, registered_time, registration, enabled, log_level, password_sha256, roles, last_heard"
)
LOGFILE_COLUMNS = "id, project_id, agent_id, date, state"
TOKEN_COLUMNS = "id, project_id, agent_id, roles, expires"  # noqa: S105  (column names)
EVENT_COLUMNS = "id, project_id, agent_id, time, event, details"
# The state document's reads; the log files agent by agent as added, each agent's in request order.
EXPORT_AGENTS = f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY seq"  # noqa: S608 (our names)
EXPORT_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id"  # noqa: S608 (our names)
EXPORT_LOGFILES = (
    "SELECT l.id, l.project_id, l.agent_id, l.date, l.state"
    " FROM logfiles AS l JOIN agents AS a ON a.id = l.agent_id ORDER BY a.seq, l.seq"
)


class Dialect(NamedTuple):
    """What the statements written once here need to know of a store's database."""

    codec: RowCodec
    mark: str  # the driver's placeholder
    limit_halves: bool  # whether each half of a UNION takes the LIMIT too (see feed_statement)
    # What locks the rows a write reads and writes back ("" where a write locks the whole file).
    for_update: str


@cache
def upsert_agent(mark: str) -> str:
    """Insert an agent, or overwrite it in place (keeping `seq`, hence the export order);
    `mark` is the driver's placeholder."""
    return (
        f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES ({', '.join([mark] * 9)})"  # noqa: S608 (our names)
        " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
        " registered_time = excluded.registered_time, registration = excluded.registration,"
        " enabled = excluded.enabled, log_level = excluded.log_level,"
        " password_sha256 = excluded.password_sha256, roles = excluded.roles,"
        " last_heard = excluded.last_heard"
    )


def upsert_logfile(mark: str, key: str) -> str:
    """Insert a log file, or overwrite it in place (keeping `seq`, hence the list order);
    `key` names the columns of the database's unique key on (agent, id)."""
    return (
        f"INSERT INTO logfiles ({LOGFILE_COLUMNS}) VALUES ({', '.join([mark] * 5)})"  # noqa: S608 (our names)
        f" ON CONFLICT ({key}) DO UPDATE SET"
        " project_id = excluded.project_id, date = excluded.date, state = excluded.state"
    )


def feed_order(query: EventQuery) -> tuple[str, str, int]:
    """A feed's direction in SQL: the comparison of `id` with the marker, the order, and the
    marker itself (past the end the feed starts from when the query names none)."""
    if query.descending:
        return "<", "DESC", query.marker if query.marker is not None else 2**63 - 1
    return ">", "ASC", query.marker if query.marker is not None else 0


def feed_statement(
    dialect: Dialect,
    project_id: str,
    agent_id: str | None,
    query: EventQuery,
    since: datetime,
) -> tuple[str, tuple[object, ...]]:
    """A feed's one statement (one snapshot): each part walks an index on (.., id) from the marker.

    Each half of an agent's feed (its events UNION ALL its project's) takes the LIMIT too
    where `dialect.limit_halves` (PostgreSQL: else it reads a whole half before the merge).
    """
    codec, mark, limit_halves = dialect.codec, dialect.mark, dialect.limit_halves
    compare, order, marker = feed_order(query)
    limit = query.limit + 1
    select = f"SELECT {EVENT_COLUMNS} FROM events WHERE"  # noqa: S608 (our names)
    where = f"id {compare} {mark} AND time >= {mark}"
    ordered = f" ORDER BY id {order} LIMIT {mark}"
    bounds = (marker, time_text(since))
    project = codec.enc(project_id)
    if agent_id is None:
        return f"{select} project_id = {mark} AND {where}{ordered}", (project, *bounds, limit)
    mine = f"{select} agent_id = {mark} AND {where}"
    theirs = f"{select} project_id = {mark} AND agent_id IS NULL AND {where}"
    if not limit_halves:
        return f"{mine} UNION ALL {theirs}{ordered}", (codec.enc(agent_id), *bounds, project, *bounds, limit)
    halves = (codec.enc(agent_id), *bounds, limit, project, *bounds, limit)
    return f"({mine}{ordered}) UNION ALL ({theirs}{ordered}){ordered}", (*halves, limit)


def require_agent(execute: Execute, dialect: Dialect, project_id: str, agent_id: str) -> None:
    """NotFound unless the agent exists in the project (an agent of another project is none)."""
    codec, mark = dialect.codec, dialect.mark
    sql = f"SELECT project_id FROM agents WHERE id = {mark}"  # noqa: S608 (the placeholder)
    row = execute(sql, (codec.enc(agent_id),)).fetchone()
    if row is None or codec.dec(row[0]) != project_id:
        raise agent_not_found(project_id, agent_id)


def update_agent(
    execute: Execute, dialect: Dialect, project_id: str, agent_id: str, change: AgentChange
) -> Agent:
    """Read the agent (its row locked where the database locks rows), change it, and write
    it back if the change gave a new one; inside the caller's write transaction."""
    codec, mark = dialect.codec, dialect.mark
    sql = f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = {mark}{dialect.for_update}"  # noqa: S608 (our names)
    row = execute(sql, (codec.enc(agent_id),)).fetchone()
    if row is None or codec.dec(row[1]) != project_id:
        raise agent_not_found(project_id, agent_id)
    current = codec.agent(row)
    updated = change(current)
    if updated is not current:
        execute(upsert_agent(mark), codec.agent_values(updated))
    return updated


class SqlAgents:
    """agent_moves.LockedAgents on a write transaction's connection, for either database."""

    def __init__(self, execute: Execute, dialect: Dialect) -> None:
        self.execute = execute
        self.dialect = dialect

    def locked_agent(self, project_id: str, agent_id: str) -> Agent | None:
        codec, mark = self.dialect.codec, self.dialect.mark
        sql = f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = {mark}{self.dialect.for_update}"  # noqa: S608 (our names)
        row = self.execute(sql, (codec.enc(agent_id),)).fetchone()
        if row is None or codec.dec(row[1]) != project_id:
            return None
        return codec.agent(row)

    def write_agent(self, agent: Agent) -> None:
        self.execute(upsert_agent(self.dialect.mark), self.dialect.codec.agent_values(agent))


def require_event_agents(execute: Execute, dialect: Dialect, events: Iterable[Event]) -> None:
    """NotFound unless every event that names an agent names one of its project."""
    for event in events:
        if event.agent_id is not None:
            require_agent(execute, dialect, event.project_id, event.agent_id)


def add_token(execute: Execute, dialect: Dialect, token: IssuedToken) -> None:
    """Keep a token (its agent, if it names one, must exist), dropping those that expired
    by the time it was issued: the table holds only the live ones and a few more."""
    codec, mark = dialect.codec, dialect.mark
    if token.agent_id is not None:
        require_agent(execute, dialect, token.project_id, token.agent_id)
    issued_at = token.expires - TOKEN_LIFETIME
    execute(f"DELETE FROM tokens WHERE expires <= {mark}", (time_text(issued_at),))  # noqa: S608 (the placeholder)
    marks = ", ".join([mark] * 5)
    execute(f"INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ({marks})", codec.token_values(token))  # noqa: S608 (our names)


# An SQL test on a row and its parameters (read_page's `condition`).
Condition = tuple[str, Sequence[Any]]


def machine_id_text(machine_id: str) -> str:
    """`machine_id` as the `registration` column writes it: the column is json.dumps' text
    (ASCII, every other character escaped the one way it escapes it), so an agent whose
    `host.machine.id` is `machine_id` holds exactly this text, and one whose member is
    another string holds another; a NUL is the six characters of its escape."""
    return json.dumps(machine_id)


def check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")


@dataclass(frozen=True, slots=True)
class Listing(Generic[_Item]):
    """A list read a page at a time, in the order added (`seq`): its table, its columns, the
    column a page is within (a project's agents, an agent's log files), and how a row decodes."""

    table: str
    columns: str
    scope: str
    decode: Callable[[RowCodec, Sequence[Any]], _Item]


def read_page(
    execute: Execute,
    dialect: Dialect,
    listing: Listing[_Item],
    within: str | None,
    limit: int,
    marker: str | None,
    missing: Callable[[str], Exception],
    condition: Condition | None = None,
    keep: Callable[[_Item], bool] | None = None,
) -> Page[_Item]:
    """A page of `listing` (within None: the whole table) after the item `marker` names, read
    inside the caller's snapshot; `missing(marker)` when the marker names none of the list
    (a marker must name an item of the list, or the request is bad). `condition` (SQL with
    its parameters) leaves out the rows it does not hold for, and `keep` the items it says
    no to (a condition SQL can only approximate: rows are then read until the page is full);
    the marker need not meet either."""
    codec, mark = dialect.codec, dialect.mark
    where = "" if within is None else f"{listing.scope} = {mark} AND "
    scope = () if within is None else (codec.enc(within),)
    after = 0
    if marker is not None:
        sql = f"SELECT seq FROM {listing.table} WHERE {where}id = {mark}"  # noqa: S608 (our names)
        row = execute(sql, (*scope, codec.enc(marker))).fetchone()
        if row is None:
            raise missing(marker)
        after = int(row[0])
    test, parameters = condition or ("", ())
    sql = (
        f"SELECT seq, {listing.columns} FROM {listing.table}"  # noqa: S608 (our names)
        f" WHERE {where}{test + ' AND ' if test else ''}seq > {mark} ORDER BY seq LIMIT {mark}"
    )
    items: list[_Item] = []
    while True:  # once, unless `keep` left out some of a full read: each round reads further on
        found = execute(sql, (*scope, *parameters, after, limit + 1)).fetchall()
        decoded = (listing.decode(codec, row[1:]) for row in found)
        items.extend(decoded if keep is None else (item for item in decoded if keep(item)))
        if len(items) > limit or len(found) <= limit:
            return Page(items[:limit], len(items) > limit)
        after = int(found[-1][0])


def event_page(found: Iterable[Any], codec: RowCodec, limit: int) -> EventPage:
    """The feed's page from rows read one past it (LIMIT limit + 1): that row tells whether more follow."""
    items = [codec.event(row) for row in found]
    return EventPage(items[:limit], len(items) > limit)


def export_snapshot(read: Callable[[str], Iterable[Any]], codec: RowCodec, pause: Pause) -> Snapshot:
    """The state document from one snapshot's reads (`read(sql)` gives the rows): agents in
    the order added, log files agent by agent in request order (`pause` between pieces),
    events in number order, as the memory store exports them."""
    agents = [codec.agent(row) for row in read(EXPORT_AGENTS)]
    logfiles = [codec.logfile(row) for row in paced(read(EXPORT_LOGFILES), pause)]
    events = [codec.event(row) for row in read(EXPORT_EVENTS)]
    return Snapshot(agents, logfiles, events)


def time_text(moment: datetime) -> str:
    """ISO text with every microsecond; aware times are kept in UTC, naive ones as they are."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def time_value(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _roles_text(roles: Sequence[str] | None) -> str | None:
    return None if roles is None else json.dumps(list(roles))


def _roles(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


class RowCodec:
    """The model to a row's values and back. Text is kept as it is and a flag as 0 or 1
    (SQLite); a database that keeps them otherwise overrides `enc`, `dec` and `flag`."""

    def enc(self, value: str) -> str:
        return value

    def dec(self, value: str) -> str:
        return value

    def flag(self, value: bool) -> object:
        return int(value)

    def enc_opt(self, value: str | None) -> str | None:
        return None if value is None else self.enc(value)

    def dec_opt(self, value: str | None) -> str | None:
        return None if value is None else self.dec(value)

    def agent_values(self, agent: Agent) -> tuple[Any, ...]:
        return (
            self.enc(agent.id),
            self.enc(agent.project_id),
            time_text(agent.registered_time),
            json.dumps(dict(agent.registration)),
            self.flag(agent.enabled),
            self.enc(agent.log_level),
            agent.password_sha256,
            _roles_text(agent.roles),
            None if agent.last_heard is None else time_text(agent.last_heard),
        )

    def agent(self, row: Sequence[Any]) -> Agent:
        return Agent(
            id=self.dec(row[0]),
            project_id=self.dec(row[1]),
            registered_time=time_value(row[2]),
            registration=json.loads(row[3]),
            enabled=bool(row[4]),
            log_level=self.dec(row[5]),
            password_sha256=row[6],
            roles=_roles(row[7]),
            last_heard=None if row[8] is None else time_value(row[8]),
        )

    def logfile_values(self, logfile: LogFile) -> tuple[str, str, str, str, str]:
        return (
            self.enc(logfile.id),
            self.enc(logfile.project_id),
            self.enc(logfile.agent_id),
            time_text(logfile.date),
            logfile.state.value,
        )

    def logfile(self, row: Sequence[Any]) -> LogFile:
        return LogFile(
            id=self.dec(row[0]),
            project_id=self.dec(row[1]),
            agent_id=self.dec(row[2]),
            date=time_value(row[3]),
            state=LogFileState(row[4]),
        )

    def token_values(self, token: IssuedToken) -> tuple[Any, ...]:
        return (
            self.enc(token.id),
            self.enc(token.project_id),
            self.enc_opt(token.agent_id),
            _roles_text(token.roles),
            time_text(token.expires),
        )

    def token(self, row: Sequence[Any]) -> IssuedToken:
        return IssuedToken(
            id=self.dec(row[0]),
            project_id=self.dec(row[1]),
            agent_id=self.dec_opt(row[2]),
            roles=_roles(row[3]),
            expires=time_value(row[4]),
        )

    def event_values(self, event: Event) -> tuple[Any, ...]:
        """A new event's number is None: the database gives it one."""
        return (
            event.id or None,
            self.enc(event.project_id),
            self.enc_opt(event.agent_id),
            time_text(event.time),
            self.enc(event.event),
            json.dumps(dict(event.details)),
        )

    def event(self, row: Sequence[Any]) -> Event:
        return Event(
            id=int(row[0]),
            project_id=self.dec(row[1]),
            agent_id=self.dec_opt(row[2]),
            time=time_value(row[3]),
            event=self.dec(row[4]),
            details=json.loads(row[5]),
        )


AGENTS = Listing("agents", AGENT_COLUMNS, "project_id", RowCodec.agent)
LOGFILES = Listing("logfiles", LOGFILE_COLUMNS, "agent_id", RowCodec.logfile)
