"""PostgresStore: agents and log files in a database that several hosts share (psycopg 3)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from ...auth import IssuedToken
from ...errors import Unavailable
from ...events import Event, EventPage, EventQuery
from ...model import Agent, LogFile, LogFileState, needs_heard_update
from .. import configuration_events, sqlrows
from ..agent_moves import update_agents
from ..base import AgentChange, AgentsChange, DocumentMove, Imports, LogFileUpdate, LogFileUpdates, Page
from ..documents import remove_agent_documents
from ..guard import guarded
from ..rules import add_agent, agent_marker_not_found, agent_not_found, logfile_not_found, marker_not_found
from . import rows
from .connection import RETRY_AFTER_SECONDS, Database
from .control import PostgresControl
from .documents import PostgresDocuments, document_rows
from .objects import PostgresObjects
from .rows import enc
from .schema import prepare_database

_Db = psycopg.Connection[Any]
_LOGFILE_COLUMNS_L = ", ".join("l." + column for column in sqlrows.LOGFILE_COLUMNS.split(", "))


@guarded
class PostgresStore(PostgresControl, PostgresObjects, LogFileUpdates, Imports):
    """Agents and log files here, the control state and objects in the mixins; model: connection.py."""

    def __init__(self, url: str, schema: str, schema_key: int) -> None:
        """Use `open`, which checks the database and creates or migrates the schema first."""
        self.url = url
        self.schema = schema
        self._db = Database(url, schema_key)
        self.documents = PostgresDocuments(self._db)

    @classmethod
    def open(cls, url: str) -> PostgresStore:
        """Connect once, migrate, and keep no connection (gunicorn may fork after this)."""
        schema, key = prepare_database(url)
        store = cls(url, schema, key)
        try:
            with contextlib.suppress(Unavailable):  # best effort: the next start or reset mends it
                store._db.write(rows.mend_event_counter)
        finally:
            store._db.close()  # the connection the mend took: a fork must inherit none
        return store

    def add_agent(self, agent: Agent, events: Sequence[Event] = ()) -> None:
        def run(db: _Db) -> None:
            add_agent(rows.PgRows(db), agent)
            rows.insert_events(db, events)

        self._db.write(run)

    def get_agent(self, project_id: str, agent_id: str) -> Agent:
        found = self._db.statement(
            f"SELECT {sqlrows.AGENT_COLUMNS} FROM agents WHERE id = %s", (enc(agent_id),)
        )
        if not found or rows.dec(found[0][1]) != project_id:
            raise agent_not_found(project_id, agent_id)
        return rows.CODEC.agent(found[0])

    def list_agents(
        self, project_id: str, limit: int, marker: str | None = None, host_machine_id: str | None = None
    ) -> Page[Agent]:
        sqlrows.check_limit(limit)
        condition: sqlrows.Condition | None = None
        keep: Callable[[Agent], bool] | None = None
        if host_machine_id is not None:
            # No JSON function: PostgreSQL's fail on a whole registration that holds a `\u0000`
            # anywhere (its text cannot hold a NUL). The rows whose text holds the id's JSON
            # text are a few more than the agents on that machine; `keep` makes it exact.
            condition = ("strpos(registration, %s) > 0", (sqlrows.machine_id_text(host_machine_id),))
            keep = lambda agent: agent.machine_id == host_machine_id  # noqa: E731 (one test)

        def run(db: _Db) -> Page[Agent]:
            return sqlrows.read_page(
                db.execute,
                rows.DIALECT,
                sqlrows.AGENTS,
                project_id,
                limit,
                marker,
                agent_marker_not_found,
                condition,
                keep,
            )

        return self._db.read(run)

    def update_agent(self, project_id: str, agent_id: str, change: AgentChange) -> Agent:
        def run(db: _Db) -> Agent:
            return sqlrows.update_agent(db.execute, rows.DIALECT, project_id, agent_id, change)

        return self._db.write(run, locked=False)

    def update_agents(
        self,
        project_id: str,
        agent_ids: Sequence[str],
        change: AgentsChange,
        moves: Sequence[DocumentMove] = (),
        events: Sequence[Event] = (),
    ) -> dict[str, Agent]:
        def run(db: _Db) -> dict[str, Agent]:
            agents = sqlrows.SqlAgents(db.execute, rows.DIALECT)
            return update_agents(agents, document_rows(db), project_id, agent_ids, change, moves, events)

        return self._db.write(run, locked=False)

    def touch_agent(self, project_id: str, agent_id: str, moment: datetime) -> None:
        """One read; a write only when the kept time is a second old (model.needs_heard_update)."""
        found = self._db.statement(
            "SELECT project_id, last_heard FROM agents WHERE id = %s", (enc(agent_id),)
        )
        if not found or rows.dec(found[0][0]) != project_id:
            return
        last = found[0][1]
        if needs_heard_update(None if last is None else sqlrows.time_value(last), moment):
            self._db.statement(
                "UPDATE agents SET last_heard = %s WHERE id = %s AND project_id = %s",
                (sqlrows.time_text(moment), enc(agent_id), enc(project_id)),
            )

    def agent_busy(self, project_id: str, agent_id: str) -> bool:
        found = self._db.statement(
            "SELECT a.project_id, EXISTS"
            " (SELECT 1 FROM logfiles AS l WHERE l.agent_id = a.id AND l.state = %s)"
            " FROM agents AS a WHERE a.id = %s",
            (LogFileState.STARTED.value, enc(agent_id)),
        )
        if not found or rows.dec(found[0][0]) != project_id:
            raise agent_not_found(project_id, agent_id)
        return bool(found[0][1])

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        """Its log files, tokens and events go in the same transaction, by ON DELETE CASCADE,
        and its documents by the document store's rule: after the agent's row, whose delete
        waits for the document writes that hold it (FOR SHARE) to commit, so the documents'
        delete then sees theirs, and a later one finds no agent."""

        def run(db: _Db) -> None:
            _require_agent(db, project_id, agent_id)
            db.execute("DELETE FROM agents WHERE id = %s", (enc(agent_id),))
            remove_agent_documents(document_rows(db), project_id, agent_id)

        self._db.write(run)

    def add_logfile(self, logfile: LogFile, events: Sequence[Event] = ()) -> None:
        def run(db: _Db) -> None:
            _require_agent(db, logfile.project_id, logfile.agent_id)
            rows.insert_logfile(db, logfile)
            rows.insert_events(db, events)

        self._db.write(run)

    def get_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> LogFile:
        # One statement, one snapshot: the agent and its log file in one query (every PATCH reads it).
        found = self._db.statement(
            "SELECT a.project_id, l.id, l.project_id, l.agent_id, l.date, l.state"
            " FROM agents AS a LEFT JOIN logfiles AS l ON l.agent_id = a.id AND l.id = %s"
            " WHERE a.id = %s",
            (enc(logfile_id), enc(agent_id)),
        )
        if not found or rows.dec(found[0][0]) != project_id:
            raise agent_not_found(project_id, agent_id)
        if found[0][1] is None:
            raise logfile_not_found(agent_id, logfile_id)
        return rows.CODEC.logfile(found[0][1:])

    def list_logfiles(
        self, project_id: str, agent_id: str, limit: int, marker: str | None = None
    ) -> Page[LogFile]:
        sqlrows.check_limit(limit)

        def run(db: _Db) -> Page[LogFile]:
            _require_agent(db, project_id, agent_id)
            return sqlrows.read_page(
                db.execute, rows.DIALECT, sqlrows.LOGFILES, agent_id, limit, marker, marker_not_found
            )

        return self._db.read(run)

    def _update_logfile(self, update: LogFileUpdate) -> LogFile:
        """Lock the log file's row, change it, write it back: a check-and-set no other host
        can interleave with. Only the row is locked, not the store: PATCHes of different log
        files go side by side (events still take their numbers one transaction at a time).

        With `expected` (the PATCH has just read the log file), the change is first tried as
        one statement, a compare-and-set against it: one round trip. When the log file has
        moved on meanwhile, the locking path below applies the change to what it is now.
        """
        project_id, agent_id, logfile_id, expected = (
            update.project_id,
            update.agent_id,
            update.logfile_id,
            update.expected,
        )
        if expected is not None:
            updated = update.change(expected)
            if updated is not expected and rows.compare_and_set(
                self._db, expected, updated, update.emitted(expected, updated)
            ):
                return updated

        def run(db: _Db) -> LogFile:
            row = db.execute(
                f"SELECT l.seq, a.project_id, {_LOGFILE_COLUMNS_L}"
                " FROM logfiles AS l JOIN agents AS a ON a.id = l.agent_id"
                " WHERE l.agent_id = %s AND l.id = %s FOR UPDATE OF l",
                (enc(agent_id), enc(logfile_id)),
            ).fetchone()
            if row is None or rows.dec(row[1]) != project_id:
                _require_agent(db, project_id, agent_id)
                raise logfile_not_found(agent_id, logfile_id)
            current = rows.CODEC.logfile(row[2:])
            updated = update.change(current)
            if updated is not current:
                db.execute(
                    "UPDATE logfiles SET date = %s, state = %s WHERE seq = %s",
                    (sqlrows.time_text(updated.date), updated.state.value, row[0]),
                )
                rows.insert_events(db, update.emitted(current, updated))
            return updated

        return self._db.write(run, locked=False)

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None:
        def run(db: _Db) -> None:
            _require_agent(db, project_id, agent_id)
            cursor = db.execute(
                "DELETE FROM logfiles WHERE agent_id = %s AND id = %s", (enc(agent_id), enc(logfile_id))
            )
            if cursor.rowcount == 0:
                raise logfile_not_found(agent_id, logfile_id)

        self._db.write(run)

    def add_token(self, token: IssuedToken) -> None:
        self._db.write(lambda db: sqlrows.add_token(db.execute, rows.DIALECT, token))

    def get_token(self, token_id: str) -> IssuedToken | None:
        found = self._db.statement(
            f"SELECT {sqlrows.TOKEN_COLUMNS} FROM tokens WHERE id = %s", (enc(token_id),)
        )
        return rows.CODEC.token(found[0]) if found else None

    def add_events(self, events: Sequence[Event]) -> None:
        def run(db: _Db) -> None:
            sqlrows.require_event_agents(db.execute, rows.DIALECT, events)
            rows.insert_events(db, events)

        self._db.write(run)

    def list_events(
        self, project_id: str, agent_id: str | None, query: EventQuery, since: datetime
    ) -> EventPage:
        sql, parameters = sqlrows.feed_statement(rows.DIALECT, project_id, agent_id, query, since)
        return sqlrows.event_page(self._db.statement(sql, parameters), rows.CODEC, query.limit)

    def reset(self) -> None:
        """Everything goes, clock included; as in memory, journal and event numbers keep counting up."""

        def run(db: _Db) -> None:
            db.execute(
                "DELETE FROM logfiles; DELETE FROM tokens; DELETE FROM events; DELETE FROM agents;"
                " DELETE FROM journal; DELETE FROM faults; DELETE FROM clock;"
                " DELETE FROM objects; DELETE FROM containers; DELETE FROM blob_chunks; DELETE FROM documents"
            )
            rows.mend_event_counter(db)

        self._db.write(run)

    def health(self) -> None:
        """Unavailable unless the database answers a query on our schema and takes writes
        (a standby after a failover answers reads only)."""
        found = self._db.statement(
            "SELECT current_setting('transaction_read_only'), (SELECT count(*) FROM clock)"
        )
        if found and found[0][0] == "on":
            raise Unavailable(
                "The service's storage is unavailable; try again later.",
                ["store: the database is read-only (a standby?)"],
                retry_after=RETRY_AFTER_SECONDS,
            )

    def release(self) -> None:
        """Nothing is kept between calls: every call gives its connection back to the pool."""

    def close(self) -> None:
        """Close this process's idle connections; the next call opens new ones."""
        self._db.close()

    def configuration_events(
        self, project_id: str, configuration_id: str, query: EventQuery, since: datetime
    ) -> EventPage:
        sql, parameters = configuration_events.statement(
            rows.DIALECT,
            configuration_events.POSTGRES_CONFIGURATION_ID,
            project_id,
            configuration_id,
            query,
            since,
        )
        return configuration_events.sql_page(self._db.statement(sql, parameters), rows.DIALECT, query)


def _require_agent(db: _Db, project_id: str, agent_id: str) -> None:
    sqlrows.require_agent(db.execute, rows.DIALECT, project_id, agent_id)
