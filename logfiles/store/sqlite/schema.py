"""The SQLite schema: the migrations list, and bringing a file up to date at start (stdlib only)."""

from __future__ import annotations

import os
import sqlite3
import time

from ...errors import ConfigError
from ...events import MAX_EVENTS_KEPT
from .connection import BUSY_TIMEOUT_SECONDS, VARIABLE, check_location, connect


def _logfiles_table(name: str, key: str) -> str:
    """The log-files table; migration 3 rebuilds it with its key's columns swapped."""
    return f"""
        CREATE TABLE {name} (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL,
            agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            project_id TEXT NOT NULL,
            date TEXT NOT NULL,
            state TEXT NOT NULL,
            UNIQUE ({key})
        )
        """


# MIGRATIONS[v] takes a database from schema version v to v + 1; the version lives in
# PRAGMA user_version. To change the schema, append a migration; never change what a shipped one does.
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
        _logfiles_table("logfiles", "agent_id, id"),
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
    # 3: log files keyed (id, agent_id) instead of (agent_id, id), so that an import looks up
    # its own log-file ids across agents through the key, and no extra index slows every
    # insert. Not UNIQUE (id) alone: log files of two agents may share an id (add_logfile
    # allows it, and older files may hold such pairs); only an import refuses one.
    # SQLite cannot change a table's constraints, so the table is rebuilt (its documented
    # procedure), keeping every `seq` and the AUTOINCREMENT high-water mark.
    (
        _logfiles_table("logfiles_new", "id, agent_id"),
        "INSERT INTO logfiles_new (seq, id, agent_id, project_id, date, state)"
        " SELECT seq, id, agent_id, project_id, date, state FROM logfiles",
        "DELETE FROM sqlite_sequence WHERE name = 'logfiles_new'",
        "UPDATE sqlite_sequence SET name = 'logfiles_new' WHERE name = 'logfiles'",
        "DROP TABLE logfiles",
        "ALTER TABLE logfiles_new RENAME TO logfiles",
        "CREATE INDEX logfiles_agent_seq ON logfiles (agent_id, seq)",
    ),
    # 4: the agent's side. Agents keep their password's hash, the roles their tokens carry
    # (NULL: every right on the project) and when they were last heard from; issued tokens;
    # events, numbered by AUTOINCREMENT so that a number is never reused, and capped by a
    # trigger as the journal is. A token or an event goes with its agent (ON DELETE CASCADE).
    (
        "ALTER TABLE agents ADD COLUMN password_sha256 TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE agents ADD COLUMN roles TEXT",
        "ALTER TABLE agents ADD COLUMN last_heard TEXT",
        "CREATE INDEX agents_project_seq ON agents (project_id, seq)",
        """
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            project_id TEXT NOT NULL,
            agent_id TEXT REFERENCES agents (id) ON DELETE CASCADE,
            roles TEXT,
            expires TEXT NOT NULL
        )
        """,
        "CREATE INDEX tokens_expires ON tokens (expires)",
        "CREATE INDEX tokens_agent ON tokens (agent_id)",
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id TEXT NOT NULL,
            agent_id TEXT REFERENCES agents (id) ON DELETE CASCADE,
            time TEXT NOT NULL,
            event TEXT NOT NULL,
            details TEXT NOT NULL
        )
        """,
        "CREATE INDEX events_agent ON events (agent_id, id)",
        "CREATE INDEX events_project ON events (project_id, id)",
        "CREATE INDEX events_project_wide ON events (project_id, agent_id, id)",
        "CREATE INDEX events_time ON events (time)",
        f"""
        CREATE TRIGGER events_cap AFTER INSERT ON events
        BEGIN
            DELETE FROM events WHERE id <= NEW.id - {MAX_EVENTS_KEPT:d};
        END
        """,
    ),
    # 5: the object store's metadata; the bytes are files beside the database (objects.py).
    (
        """
        CREATE TABLE containers (
            project_id TEXT NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (project_id, name)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE objects (
            project_id TEXT NOT NULL,
            container TEXT NOT NULL,
            name TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            hash TEXT NOT NULL,
            content_type TEXT NOT NULL,
            last_modified TEXT NOT NULL,
            blob TEXT NOT NULL,
            PRIMARY KEY (project_id, container, name)
        ) WITHOUT ROWID
        """,
    ),
    # 6: the dashboard. Each journal entry keeps its latency (NULL in the entries kept from
    # before); log files are indexed by (agent_id, state), so that counting an agent's log
    # files per state reads the index alone, however many it has.
    (
        "ALTER TABLE journal ADD COLUMN latency_ms REAL",
        "CREATE INDEX logfiles_agent_state ON logfiles (agent_id, state)",
    ),
    # 7: what each request was told. Each journal entry keeps its answer's size and (text)
    # body; NULL in the entries kept from before, which the journal shows as not known.
    (
        "ALTER TABLE journal ADD COLUMN response_bytes INTEGER",
        "ALTER TABLE journal ADD COLUMN response_body TEXT",
    ),
    # 8: every other resource, as documents (docs/storage.md): a kind's indexed fields in the
    # slots k1..k4 (each with an index that also orders by creation), `keys` naming them.
    (
        """
        CREATE TABLE documents (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            project_id TEXT NOT NULL,
            id TEXT NOT NULL,
            parent TEXT,
            version INTEGER NOT NULL,
            k1 TEXT, k2 TEXT, k3 TEXT, k4 TEXT,
            keys TEXT NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (kind, project_id, id)
        )
        """,
        "CREATE INDEX documents_seq ON documents (kind, project_id, seq)",
        "CREATE INDEX documents_parent ON documents (kind, project_id, parent, seq)",
        *(f"CREATE INDEX documents_k{n} ON documents (kind, project_id, k{n}, seq)" for n in range(1, 5)),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def prepare_file(path: str | os.PathLike[str]) -> str:
    """Check the file, create or migrate its schema; its absolute path, or ConfigError."""
    full_path = os.path.abspath(os.fspath(path))
    check_location(full_path)
    connection = None
    try:
        connection = connect(full_path, create=True)
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
    return full_path


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
