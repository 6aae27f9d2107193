"""SqliteStore: agents and log files, each call one short transaction (stdlib only)."""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from ...model import Agent, LogFile
from ..base import LogFileChange, Page, add_agent, agent_not_found, logfile_not_found, marker_not_found
from . import rows
from .connection import Connections
from .control import SqliteControl
from .schema import prepare_file

_Class = TypeVar("_Class", bound=type)


def _guarded(cls: _Class) -> _Class:
    """Run every public operation (its own and SqliteControl's) under `Connections.guard`.

    So that no sqlite3 failure of any operation, present or added later, reaches the
    client as a 500: each is Unavailable, and the thread's connection is reopened.
    """
    for name in dir(cls):
        method = getattr(cls, name)
        if name.startswith("_") or name in {"open", "close"} or not callable(method):
            continue
        setattr(cls, name, _guard(method))
    return cls


def _guard(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        with self._db.guard():
            return method(self, *args, **kwargs)

    return guarded


@_guarded
class SqliteStore(SqliteControl):
    """Agents and log files here, the control state from SqliteControl; concurrency: connection.py."""

    def __init__(self, path: str) -> None:
        """Use `open`, which checks the file and creates or migrates the schema first."""
        self.path = path
        self._db = Connections(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SqliteStore:
        """Open the database at `path`, creating it if need be; ConfigError if it cannot serve."""
        return cls(prepare_file(path))

    def add_agent(self, agent: Agent) -> None:
        with self._db.write() as db:
            add_agent(rows.SqlRows(db), agent)

    def get_agent(self, project_id: str, agent_id: str) -> Agent:
        with self._db.read() as db:
            row = db.execute(f"SELECT {rows.AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,)).fetchone()
        if row is None or row[1] != project_id:
            raise agent_not_found(project_id, agent_id)
        return rows.agent(row)

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        """Its log files go in the same transaction, by ON DELETE CASCADE."""
        with self._db.write() as db:
            _require_agent(db, project_id, agent_id)
            db.execute("DELETE FROM agents WHERE id = ?", (agent_id,))

    def add_logfile(self, logfile: LogFile) -> None:
        with self._db.write() as db:
            _require_agent(db, logfile.project_id, logfile.agent_id)
            rows.insert_logfile(db, logfile)

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
        return rows.logfile(row[1:])

    def list_logfiles(self, project_id: str, agent_id: str, limit: int, marker: str | None = None) -> Page:
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        with self._db.read() as db:
            _require_agent(db, project_id, agent_id)
            after = 0
            if marker is not None:
                row = db.execute(
                    "SELECT seq FROM logfiles WHERE agent_id = ? AND id = ?", (agent_id, marker)
                ).fetchone()
                if row is None:
                    raise marker_not_found(marker)
                after = row[0]
            # One row past the page tells whether more follow.
            found = db.execute(
                f"SELECT {rows.LOGFILE_COLUMNS} FROM logfiles"
                " WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (agent_id, after, limit + 1),
            ).fetchall()
        items = [rows.logfile(row) for row in found]
        return Page(items[:limit], len(items) > limit)

    def update_logfile(
        self, project_id: str, agent_id: str, logfile_id: str, change: LogFileChange
    ) -> LogFile:
        """Read, change and write under one write lock, so two processes cannot both win.

        Only `date` and `state` are written back: the ids are the row's key.
        """
        with self._db.write() as db:
            seq, current = _select_logfile(db, project_id, agent_id, logfile_id)
            updated = change(current)
            if updated is not current:
                db.execute(
                    "UPDATE logfiles SET date = ?, state = ? WHERE seq = ?",
                    (rows.time_text(updated.date), updated.state.value, seq),
                )
        return updated

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None:
        with self._db.write() as db:
            _require_agent(db, project_id, agent_id)
            cursor = db.execute("DELETE FROM logfiles WHERE agent_id = ? AND id = ?", (agent_id, logfile_id))
            if cursor.rowcount == 0:
                raise logfile_not_found(agent_id, logfile_id)

    def reset(self) -> None:
        """Everything goes, clock included; as in memory, journal numbers keep counting up."""
        with self._db.write() as db:
            for table in ("logfiles", "agents", "journal", "faults", "clock"):
                db.execute(f"DELETE FROM {table}")

    def health(self) -> None:
        """Unavailable unless the file is the one opened and answers a query."""
        self._db.check_file(always=True)
        self._db.statement().execute("SELECT count(*) FROM clock").fetchone()

    def close(self) -> None:
        """Close this thread's connection; the next call opens a new one."""
        self._db.close()


def _require_agent(db: sqlite3.Connection, project_id: str, agent_id: str) -> None:
    row = db.execute("SELECT project_id FROM agents WHERE id = ?", (agent_id,)).fetchone()
    if row is None or row[0] != project_id:
        raise agent_not_found(project_id, agent_id)


def _select_logfile(
    db: sqlite3.Connection, project_id: str, agent_id: str, logfile_id: str
) -> tuple[int, LogFile]:
    """The row's sequence number and the log file; NotFound for the agent, then the log file."""
    _require_agent(db, project_id, agent_id)
    row = db.execute(
        f"SELECT seq, {rows.LOGFILE_COLUMNS} FROM logfiles WHERE agent_id = ? AND id = ?",
        (agent_id, logfile_id),
    ).fetchone()
    if row is None:
        raise logfile_not_found(agent_id, logfile_id)
    return row[0], rows.logfile(row[1:])
