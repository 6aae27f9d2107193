"""SqliteStore: agents and log files, each call one short transaction (stdlib only)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime

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
from .connection import Connections
from .control import SqliteControl
from .documents import SqliteDocuments, document_rows
from .objects import SqliteObjects
from .schema import prepare_file


@guarded
class SqliteStore(SqliteControl, SqliteObjects, LogFileUpdates, Imports):
    """Agents and log files here, the control state from SqliteControl; concurrency: connection.py."""

    def __init__(self, path: str) -> None:
        """Use `open`, which checks the file and creates or migrates the schema first."""
        self.path = path
        self._db = Connections(path)
        self.documents = SqliteDocuments(self._db)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SqliteStore:
        """Open the database at `path`, creating it if need be; ConfigError if it cannot serve."""
        store = cls(prepare_file(path))
        with contextlib.suppress(Unavailable):  # best effort: the next start sweeps again
            store.sweep_objects()
        with contextlib.suppress(Unavailable), store._db.write() as db:  # best effort, as above
            rows.mend_event_counter(db)
        store._db.close()  # no connection for a fork to inherit
        return store

    def add_agent(self, agent: Agent, events: Sequence[Event] = ()) -> None:
        with self._db.write() as db:
            add_agent(rows.SqlRows(db), agent)
            rows.insert_events(db, events)

    def get_agent(self, project_id: str, agent_id: str) -> Agent:
        # One statement is its own snapshot: no BEGIN and COMMIT around it (every feed poll comes here).
        row = (
            self._db.statement()
            .execute(f"SELECT {sqlrows.AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,))
            .fetchone()
        )
        if row is None or row[1] != project_id:
            raise agent_not_found(project_id, agent_id)
        return rows.CODEC.agent(row)

    def list_agents(
        self, project_id: str, limit: int, marker: str | None = None, host_machine_id: str | None = None
    ) -> Page[Agent]:
        sqlrows.check_limit(limit)
        condition = None
        if host_machine_id is not None:
            # Exact: `->` gives the member's JSON text as written (json_extract would decode
            # it, and end a string at a NUL).
            text = sqlrows.machine_id_text(host_machine_id)
            condition = ("registration -> '$.host.machine.id' = ?", (text,))
        with self._db.read() as db:
            return sqlrows.read_page(
                db.execute,
                rows.DIALECT,
                sqlrows.AGENTS,
                project_id,
                limit,
                marker,
                agent_marker_not_found,
                condition,
            )

    def update_agent(self, project_id: str, agent_id: str, change: AgentChange) -> Agent:
        with self._db.write() as db:
            return sqlrows.update_agent(db.execute, rows.DIALECT, project_id, agent_id, change)

    def update_agents(
        self,
        project_id: str,
        agent_ids: Sequence[str],
        change: AgentsChange,
        moves: Sequence[DocumentMove] = (),
        events: Sequence[Event] = (),
    ) -> dict[str, Agent]:
        with self._db.write() as db:
            agents = sqlrows.SqlAgents(db.execute, rows.DIALECT)
            return update_agents(agents, document_rows(db), project_id, agent_ids, change, moves, events)

    def touch_agent(self, project_id: str, agent_id: str, moment: datetime) -> None:
        """One read; a write only when the kept time is a second old (model.needs_heard_update)."""
        row = (
            self._db.statement()
            .execute("SELECT project_id, last_heard FROM agents WHERE id = ?", (agent_id,))
            .fetchone()
        )
        if row is None or row[0] != project_id:
            return
        if needs_heard_update(None if row[1] is None else sqlrows.time_value(row[1]), moment):
            self._db.write_statement(
                "UPDATE agents SET last_heard = ? WHERE id = ? AND project_id = ?",
                (sqlrows.time_text(moment), agent_id, project_id),
            )

    def agent_busy(self, project_id: str, agent_id: str) -> bool:
        row = (
            self._db.statement()
            .execute(
                "SELECT a.project_id, EXISTS"
                " (SELECT 1 FROM logfiles AS l WHERE l.agent_id = a.id AND l.state = ?)"
                " FROM agents AS a WHERE a.id = ?",
                (LogFileState.STARTED.value, agent_id),
            )
            .fetchone()
        )
        if row is None or row[0] != project_id:
            raise agent_not_found(project_id, agent_id)
        return bool(row[1])

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        """Its log files, tokens and events go in the same transaction, by ON DELETE CASCADE,
        and its documents by the document store's rule."""
        with self._db.write() as db:
            _require_agent(db, project_id, agent_id)
            db.execute("DELETE FROM agents WHERE id = ?", (agent_id,))
            remove_agent_documents(document_rows(db), project_id, agent_id)

    def add_logfile(self, logfile: LogFile, events: Sequence[Event] = ()) -> None:
        with self._db.write() as db:
            _require_agent(db, logfile.project_id, logfile.agent_id)
            rows.insert_logfile(db, logfile)
            rows.insert_events(db, events)

    def get_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> LogFile:
        # One statement is one snapshot: the agent and its log file in one query, so the
        # hottest read (every PATCH makes it) needs no BEGIN and COMMIT around it.
        row = (
            self._db.statement()
            .execute(
                "SELECT a.project_id, l.id, l.project_id, l.agent_id, l.date, l.state"
                " FROM agents AS a LEFT JOIN logfiles AS l ON l.agent_id = a.id AND l.id = ?"
                " WHERE a.id = ?",
                (logfile_id, agent_id),
            )
            .fetchone()
        )
        if row is None or row[0] != project_id:
            raise agent_not_found(project_id, agent_id)
        if row[1] is None:
            raise logfile_not_found(agent_id, logfile_id)
        return rows.CODEC.logfile(row[1:])

    def list_logfiles(
        self, project_id: str, agent_id: str, limit: int, marker: str | None = None
    ) -> Page[LogFile]:
        sqlrows.check_limit(limit)
        with self._db.read() as db:
            _require_agent(db, project_id, agent_id)
            return sqlrows.read_page(
                db.execute, rows.DIALECT, sqlrows.LOGFILES, agent_id, limit, marker, marker_not_found
            )

    def _update_logfile(self, update: LogFileUpdate) -> LogFile:
        """Read, change and write under one write lock, so two processes cannot both win.

        Only `date` and `state` are written back: the ids are the row's key.
        """
        with self._db.write() as db:
            seq, current = _select_logfile(db, update.project_id, update.agent_id, update.logfile_id)
            updated = update.change(current)
            if updated is not current:
                db.execute(
                    "UPDATE logfiles SET date = ?, state = ? WHERE seq = ?",
                    (sqlrows.time_text(updated.date), updated.state.value, seq),
                )
                rows.insert_events(db, update.emitted(current, updated))
        return updated

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None:
        with self._db.write() as db:
            _require_agent(db, project_id, agent_id)
            cursor = db.execute("DELETE FROM logfiles WHERE agent_id = ? AND id = ?", (agent_id, logfile_id))
            if cursor.rowcount == 0:
                raise logfile_not_found(agent_id, logfile_id)

    def add_token(self, token: IssuedToken) -> None:
        with self._db.write() as db:
            sqlrows.add_token(db.execute, rows.DIALECT, token)

    def get_token(self, token_id: str) -> IssuedToken | None:
        row = (
            self._db.statement()
            .execute(f"SELECT {sqlrows.TOKEN_COLUMNS} FROM tokens WHERE id = ?", (token_id,))
            .fetchone()
        )
        return None if row is None else rows.CODEC.token(row)

    def add_events(self, events: Sequence[Event]) -> None:
        with self._db.write() as db:
            sqlrows.require_event_agents(db.execute, rows.DIALECT, events)
            rows.insert_events(db, events)

    def list_events(
        self, project_id: str, agent_id: str | None, query: EventQuery, since: datetime
    ) -> EventPage:
        sql, parameters = sqlrows.feed_statement(rows.DIALECT, project_id, agent_id, query, since)
        return sqlrows.event_page(self._db.statement().execute(sql, parameters), rows.CODEC, query.limit)

    def reset(self) -> None:
        """Everything goes, clock included; as in memory, journal and event numbers keep counting up."""
        with self._db.write() as db:
            blobs = [row[0] for row in db.execute("SELECT blob FROM objects")]
            for table in (
                "logfiles",
                "tokens",
                "events",
                "agents",
                "journal",
                "faults",
                "clock",
                "documents",
            ):
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM objects")
            db.execute("DELETE FROM containers")
            rows.mend_event_counter(db)
        self._remove_blobs(blobs)

    def health(self) -> None:
        """Unavailable unless the file is the one opened and answers a query."""
        self._db.check_file(always=True)
        self._db.statement().execute("SELECT count(*) FROM clock").fetchone()

    def release(self) -> None:
        """As close(): a thread (greenlet) that sleeps holds no connection, nor its files."""
        self._db.close()

    def close(self) -> None:
        """Close this thread's connection; the next call opens a new one."""
        self._db.close()

    def configuration_events(
        self, project_id: str, configuration_id: str, query: EventQuery, since: datetime
    ) -> EventPage:
        sql, parameters = configuration_events.statement(
            rows.DIALECT,
            configuration_events.SQLITE_CONFIGURATION_ID,
            project_id,
            configuration_id,
            query,
            since,
        )
        return configuration_events.sql_page(
            self._db.statement().execute(sql, parameters), rows.DIALECT, query
        )


def _require_agent(db: sqlite3.Connection, project_id: str, agent_id: str) -> None:
    sqlrows.require_agent(db.execute, rows.DIALECT, project_id, agent_id)


def _select_logfile(
    db: sqlite3.Connection, project_id: str, agent_id: str, logfile_id: str
) -> tuple[int, LogFile]:
    """The row's sequence number and the log file; NotFound for the agent, then the log file."""
    _require_agent(db, project_id, agent_id)
    row = db.execute(
        f"SELECT seq, {sqlrows.LOGFILE_COLUMNS} FROM logfiles WHERE agent_id = ? AND id = ?",
        (agent_id, logfile_id),
    ).fetchone()
    if row is None:
        raise logfile_not_found(agent_id, logfile_id)
    return row[0], rows.CODEC.logfile(row[1:])
