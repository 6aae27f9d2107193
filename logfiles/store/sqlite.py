"""SQLite store: one file every worker process and thread shares, a short transaction per call (stdlib)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from ..clock import REAL_TIME, ClockSetting
from ..errors import ConfigError
from ..faults import FaultAction, FaultRule, HeaderSource, first_firing
from ..journal import JournalEntry
from ..model import Agent, LogFile, LogFileState
from .base import (
    LogFileChange,
    Page,
    agent_not_found,
    agent_not_in_state,
    fault_not_found,
    id_taken,
    logfile_not_found,
    marker_not_found,
)

VARIABLE = "LOGFILES_STORE"
BUSY_TIMEOUT_SECONDS = 10.0

# MIGRATIONS[v] takes a database from schema version v to v + 1; the version lives in
# PRAGMA user_version. To change the schema, append a migration; never edit a shipped one.
# Every `seq` is an AUTOINCREMENT key: it keeps the order things arrived in, and is never reused.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE agents (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            project_id TEXT NOT NULL,
            registered_time TEXT NOT NULL,
            registration TEXT NOT NULL,
            enabled INTEGER NOT NULL,
            log_level TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE logfiles (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL,
            agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            project_id TEXT NOT NULL,
            date TEXT NOT NULL,
            state TEXT NOT NULL,
            UNIQUE (agent_id, id)
        )
        """,
        "CREATE INDEX logfiles_agent_seq ON logfiles (agent_id, seq)",
        """
        CREATE TABLE journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            query TEXT NOT NULL,
            headers TEXT NOT NULL,
            body TEXT NOT NULL,
            status INTEGER NOT NULL,
            fault TEXT
        )
        """,
        # A rule is one JSON document: only the store reads it, always whole.
        "CREATE TABLE faults (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, rule TEXT NOT NULL)",
        """
        CREATE TABLE clock (
            only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
            frozen_at TEXT,
            offset_microseconds INTEGER NOT NULL
        )
        """,
    ),
    # 2: the journal trims itself. Each entry says how many to keep, and a trigger drops the
    # older ones, so recording a request is one INSERT: one statement, no explicit transaction.
    (
        "ALTER TABLE journal ADD COLUMN keep INTEGER NOT NULL DEFAULT 1000",
        """
        CREATE TRIGGER journal_ring AFTER INSERT ON journal
        BEGIN
            DELETE FROM journal WHERE seq <= NEW.seq - NEW.keep;
        END
        """,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_AGENT_COLUMNS = "id, project_id, registered_time, registration, enabled, log_level"
_LOGFILE_COLUMNS = "id, project_id, agent_id, date, state"
_JOURNAL_COLUMNS = "seq, time, method, path, query, headers, body, status, fault"

# Connections inherited through fork. SQLite must not use them in the child, and closing them
# there could drop locks that the child's own connection holds, so they are kept, never closed.
_INHERITED: list[sqlite3.Connection] = []


class _Local(threading.local):
    """This thread's connection, the process that opened it (a fork changes the pid), and nesting."""

    connection: sqlite3.Connection | None = None
    pid: int = 0
    depth: int = 0


class SqliteStore:
    """A connection per thread and process; every write is one `BEGIN IMMEDIATE` transaction."""

    def __init__(self, path: str) -> None:
        """Use `open`, which checks the file and creates or migrates the schema first."""
        self.path = path
        self._local = _Local()
        # Threads of one process queue here for the write lock, not in SQLite's busy handler.
        self._writer = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SqliteStore:
        """Open the database at `path`, creating it if need be; ConfigError if it cannot serve."""
        full_path = os.path.abspath(os.fspath(path))
        _check_location(full_path)
        connection = None
        try:
            connection = _connect(full_path)
            _prepare_patiently(connection, full_path)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
                raise ConfigError(VARIABLE, f"{full_path} is not an SQLite database") from exc
            raise ConfigError(VARIABLE, f"cannot use SQLite database {full_path}: {exc}") from exc
        finally:
            # Keep no connection from here: gunicorn may fork after this, and each worker
            # thread opens its own on first use.
            if connection is not None:
                connection.close()
        return cls(full_path)

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        pid = os.getpid()
        if local.connection is not None and local.pid != pid:
            _INHERITED.append(local.connection)
            local.connection = None
        if local.connection is None:
            local.connection = _connect(self.path)
            local.pid = pid
            local.depth = 0
        return local.connection

    def _statement(self) -> sqlite3.Connection:
        """This thread's connection for one statement, which is a transaction of its own.

        Inside another call's transaction it joins it; a transaction left open by a failed
        COMMIT and ROLLBACK is rolled back first, so the statement never reads an old snapshot.
        """
        connection = self._connection()
        if not self._local.depth and connection.in_transaction:
            connection.execute("ROLLBACK")
        return connection

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """Commit when the block ends, roll back when it raises (a Conflict from a change, too).

        A call made inside another call's transaction (a change that reads the clock) joins it,
        since SQLite cannot nest transactions and MemoryStore allows such reads.
        """
        connection = self._connection()
        local = self._local
        if local.depth:
            local.depth += 1
            try:
                yield connection
            finally:
                local.depth -= 1
            return
        if connection.in_transaction:  # left open by a COMMIT and ROLLBACK that both failed
            connection.execute("ROLLBACK")
        writing = begin == "BEGIN IMMEDIATE"
        if writing:
            self._writer.acquire()
            _begin_write(connection)
        else:
            connection.execute(begin)
        local.depth = 1
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                # A failed ROLLBACK must not hide the error; the next call rolls back again.
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise
        finally:
            local.depth = 0
            if writing:
                self._writer.release()

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A deferred transaction: its reads see one snapshot and never block a writer (WAL)."""
        return self._transaction("BEGIN")

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """Take the write lock before reading, so a check-and-set cannot interleave with another."""
        return self._transaction("BEGIN IMMEDIATE")

    # Agents and log files.

    def add_agent(self, agent: Agent) -> None:
        with self._write() as db:
            # As in memory, an agent added again keeps its place but starts over without log files.
            db.execute("DELETE FROM logfiles WHERE agent_id = ?", (agent.id,))
            _insert_agent(db, agent)

    def get_agent(self, project_id: str, agent_id: str) -> Agent:
        with self._read() as db:
            row = db.execute(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,)).fetchone()
        if row is None or row[1] != project_id:
            raise agent_not_found(project_id, agent_id)
        return _agent(row)

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        """Its log files go in the same transaction, by ON DELETE CASCADE."""
        with self._write() as db:
            _require_agent(db, project_id, agent_id)
            db.execute("DELETE FROM agents WHERE id = ?", (agent_id,))

    def add_logfile(self, logfile: LogFile) -> None:
        with self._write() as db:
            _require_agent(db, logfile.project_id, logfile.agent_id)
            _insert_logfile(db, logfile)

    def get_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> LogFile:
        # One statement is one snapshot: the agent and its log file in one query, so the
        # hottest read (every PATCH makes it) needs no BEGIN and COMMIT around it.
        row = (
            self._statement()
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
        return _logfile(row[1:])

    def list_logfiles(self, project_id: str, agent_id: str, limit: int, marker: str | None = None) -> Page:
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        with self._read() as db:
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
            rows = db.execute(
                f"SELECT {_LOGFILE_COLUMNS} FROM logfiles"
                " WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (agent_id, after, limit + 1),
            ).fetchall()
        items = [_logfile(row) for row in rows]
        return Page(items[:limit], len(items) > limit)

    def update_logfile(
        self, project_id: str, agent_id: str, logfile_id: str, change: LogFileChange
    ) -> LogFile:
        """Read, change and write under one write lock, so two processes cannot both win.

        Only `date` and `state` are written back: the ids are the row's key.
        """
        with self._write() as db:
            seq, current = _select_logfile(db, project_id, agent_id, logfile_id)
            updated = change(current)
            if updated is not current:
                db.execute(
                    "UPDATE logfiles SET date = ?, state = ? WHERE seq = ?",
                    (_time_text(updated.date), updated.state.value, seq),
                )
        return updated

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None:
        with self._write() as db:
            _require_agent(db, project_id, agent_id)
            cursor = db.execute("DELETE FROM logfiles WHERE agent_id = ? AND id = ?", (agent_id, logfile_id))
            if cursor.rowcount == 0:
                raise logfile_not_found(agent_id, logfile_id)

    def reset(self) -> None:
        """Everything goes, clock included; as in memory, journal numbers keep counting up."""
        with self._write() as db:
            for table in ("logfiles", "agents", "journal", "faults", "clock"):
                db.execute(f"DELETE FROM {table}")

    # Control-plane state.

    def export_state(self) -> tuple[list[Agent], list[LogFile]]:
        """As in memory: agents in the order added, and log files agent by agent, each in request order."""
        with self._read() as db:
            agents = [_agent(row) for row in db.execute(f"SELECT {_AGENT_COLUMNS} FROM agents ORDER BY seq")]
            logfiles = [
                _logfile(row)
                for row in db.execute(
                    "SELECT l.id, l.project_id, l.agent_id, l.date, l.state"
                    " FROM logfiles AS l JOIN agents AS a ON a.id = l.agent_id ORDER BY a.seq, l.seq"
                )
            ]
        return agents, logfiles

    def import_state(self, agents: list[Agent], logfiles: list[LogFile], replace: bool) -> None:
        """All or nothing: a taken id rolls back the whole import, the `replace` deletions too."""
        with self._write() as db:
            if replace:
                db.execute("DELETE FROM logfiles")
                db.execute("DELETE FROM agents")
            known = {row[0] for row in db.execute("SELECT id FROM agents")}
            # As in memory, a log file id must be new across every agent, not only its own.
            taken = {row[0] for row in db.execute("SELECT id FROM logfiles")}
            for agent in agents:
                if agent.id in known:
                    raise id_taken("agent", agent.id)
                known.add(agent.id)
                _insert_agent(db, agent)
            for logfile in logfiles:
                if logfile.id in taken:
                    raise id_taken("logfile", logfile.id)
                if logfile.agent_id not in known:
                    raise agent_not_in_state(logfile.agent_id)
                taken.add(logfile.id)
                _insert_logfile(db, logfile)

    def record_request(self, entry: JournalEntry, capacity: int) -> None:
        values = (
            _time_text(entry.time),
            entry.method,
            entry.path,
            entry.query,
            json.dumps(dict(entry.headers)),
            entry.body,
            entry.status,
            entry.fault,
            capacity,
        )
        # One statement is its own transaction; the trigger keeps the newest `capacity`.
        with self._writer:
            self._statement().execute(
                "INSERT INTO journal (time, method, path, query, headers, body, status, fault, keep)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def list_requests(self) -> list[JournalEntry]:
        with self._read() as db:
            rows = db.execute(f"SELECT {_JOURNAL_COLUMNS} FROM journal ORDER BY seq").fetchall()
        return [
            JournalEntry(
                time=_time(row[1]),
                method=row[2],
                path=row[3],
                query=row[4],
                headers=json.loads(row[5]),
                body=row[6],
                status=row[7],
                fault=row[8],
                seq=row[0],
            )
            for row in rows
        ]

    def clear_requests(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM journal")

    def add_fault(self, rule: FaultRule) -> None:
        with self._write() as db:
            db.execute("INSERT INTO faults (id, rule) VALUES (?, ?)", (rule.id, _rule_text(rule)))

    def list_faults(self) -> list[FaultRule]:
        with self._read() as db:
            return [_rule(row[0]) for row in db.execute("SELECT rule FROM faults ORDER BY seq")]

    def delete_fault(self, fault_id: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM faults WHERE id = ?", (fault_id,)).rowcount == 0:
                raise fault_not_found(fault_id)

    def clear_faults(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM faults")

    def trigger_fault(self, method: str, path: str, headers: HeaderSource) -> FaultRule | None:
        """Count and fire under the write lock, so a rule fires `times` times across every worker."""
        if self._statement().execute("SELECT 1 FROM faults LIMIT 1").fetchone() is None:
            return None  # the common case: one statement, no transaction, no write lock
        with self._write() as db:
            rows = db.execute("SELECT seq, rule FROM faults ORDER BY seq").fetchall()
            rules = [_rule(row[1]) for row in rows]
            updated, fired = first_firing(rules, method, path, headers)
            for row, before, after in zip(rows, rules, updated, strict=True):
                if after is not before:
                    db.execute("UPDATE faults SET rule = ? WHERE seq = ?", (_rule_text(after), row[0]))
        return fired

    def get_clock(self) -> ClockSetting:
        row = self._statement().execute("SELECT frozen_at, offset_microseconds FROM clock").fetchone()
        if row is None:
            return REAL_TIME
        frozen_at = None if row[0] is None else _time(row[0])
        return ClockSetting(frozen_at=frozen_at, offset=timedelta(microseconds=row[1]))

    def set_clock(self, setting: ClockSetting) -> None:
        frozen_at = None if setting.frozen_at is None else _time_text(setting.frozen_at)
        offset = setting.offset // timedelta(microseconds=1)  # exact: a timedelta is whole microseconds
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO clock (only_row, frozen_at, offset_microseconds) VALUES (1, ?, ?)",
                (frozen_at, offset),
            )

    def close(self) -> None:
        """Close this thread's connection; the next call opens a new one."""
        local = self._local
        connection, local.connection = local.connection, None
        if connection is None:
            return
        if local.pid == os.getpid():
            connection.close()
        else:
            _INHERITED.append(connection)


def _check_location(path: str) -> None:
    """Name the usual mistakes plainly instead of SQLite's 'unable to open database file'."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise ConfigError(VARIABLE, f"directory {directory} does not exist (database {path})")
    if os.path.isdir(path):
        raise ConfigError(VARIABLE, f"{path} is a directory, not a database file")
    # WAL mode creates `-wal` and `-shm` files next to the database, even to read it.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(VARIABLE, f"directory {directory} is not writable (database {path})")


def _begin_write(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write lock in steps of 0.1 to 2 ms.

    SQLite's own busy handler sleeps 1, 2, 5, 10... ms between tries, which under a steady
    write load (a journal entry per request, several workers) costs more than the writes.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.0001
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.002)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")


def _connect(path: str) -> sqlite3.Connection:
    """Autocommit mode (isolation_level=None), so every transaction is an explicit BEGIN."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        # Safe with WAL: a power cut may lose the last commits but never corrupts the file.
        connection.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection


def _prepare_patiently(connection: sqlite3.Connection, path: str) -> None:
    """Retry `_prepare` while another process holds the lock, up to the busy timeout.

    Workers that start together race to switch the file to WAL and create the schema. Where
    waiting could deadlock (a lock upgrade), SQLite answers "database is locked" at once
    instead of calling its busy handler, so the wait is done here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            _prepare(connection, path)
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _prepare(connection: sqlite3.Connection, path: str) -> None:
    """Switch to WAL and bring the schema to SCHEMA_VERSION, in one transaction against racing workers."""
    (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
    if mode != "wal":
        raise ConfigError(VARIABLE, f"{path} cannot use write-ahead logging (journal mode {mode!r})")
    connection.execute("BEGIN IMMEDIATE")
    try:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise ConfigError(
                VARIABLE,
                f"{path} has schema version {version}, newer than this service's {SCHEMA_VERSION}",
            )
        if version == 0 and connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise ConfigError(VARIABLE, f"{path} holds tables of something else (schema version 0)")
        for migration in MIGRATIONS[version:]:
            for statement in migration:
                connection.execute(statement)
        if version != SCHEMA_VERSION:
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _require_agent(db: sqlite3.Connection, project_id: str, agent_id: str) -> None:
    row = db.execute("SELECT project_id FROM agents WHERE id = ?", (agent_id,)).fetchone()
    if row is None or row[0] != project_id:
        raise agent_not_found(project_id, agent_id)


def _insert_agent(db: sqlite3.Connection, agent: Agent) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the export order) under a known id."""
    db.execute(
        f"INSERT INTO agents ({_AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
        " registered_time = excluded.registered_time, registration = excluded.registration,"
        " enabled = excluded.enabled, log_level = excluded.log_level",
        (
            agent.id,
            agent.project_id,
            _time_text(agent.registered_time),
            json.dumps(dict(agent.registration)),
            int(agent.enabled),
            agent.log_level,
        ),
    )


def _insert_logfile(db: sqlite3.Connection, logfile: LogFile) -> None:
    """Insert, or overwrite in place (keeping `seq`, hence the list order) under a known id."""
    db.execute(
        f"INSERT INTO logfiles ({_LOGFILE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (agent_id, id) DO UPDATE SET"
        " project_id = excluded.project_id, date = excluded.date, state = excluded.state",
        (logfile.id, logfile.project_id, logfile.agent_id, _time_text(logfile.date), logfile.state.value),
    )


def _agent(row: Any) -> Agent:
    return Agent(
        id=row[0],
        project_id=row[1],
        registered_time=_time(row[2]),
        registration=json.loads(row[3]),
        enabled=bool(row[4]),
        log_level=row[5],
    )


def _select_logfile(
    db: sqlite3.Connection, project_id: str, agent_id: str, logfile_id: str
) -> tuple[int, LogFile]:
    """The row's sequence number and the log file; NotFound for the agent, then the log file."""
    _require_agent(db, project_id, agent_id)
    row = db.execute(
        f"SELECT seq, {_LOGFILE_COLUMNS} FROM logfiles WHERE agent_id = ? AND id = ?",
        (agent_id, logfile_id),
    ).fetchone()
    if row is None:
        raise logfile_not_found(agent_id, logfile_id)
    return row[0], _logfile(row[1:])


def _logfile(row: Any) -> LogFile:
    return LogFile(
        id=row[0], project_id=row[1], agent_id=row[2], date=_time(row[3]), state=LogFileState(row[4])
    )


def _rule_text(rule: FaultRule) -> str:
    fields = {field.name: getattr(rule, field.name) for field in dataclasses.fields(rule)}
    fields["headers"] = dict(rule.headers)
    return json.dumps(fields)


def _rule(text: str) -> FaultRule:
    """JSON gives back lists and strings; the rule wants its tuple and its enum."""
    fields = json.loads(text)
    fields["action"] = FaultAction(fields["action"])
    fields["errors"] = tuple(fields["errors"])
    return FaultRule(**fields)


def _time_text(moment: datetime) -> str:
    """ISO text with every microsecond; aware times are kept in UTC, naive ones as they are."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
