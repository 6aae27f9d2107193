"""SQLite connections: one per thread and process, one writer at a time, fresh snapshots (stdlib).

The concurrency model of the SQLite store, said once here:

- **A connection per thread and per process.** Every thread opens its own connection on first
  use and keeps it (cheaper than a connection per request, and sqlite3 connections must not be
  shared between threads anyway). The connection remembers the process that opened it: after a
  fork (gunicorn forks its workers, maybe after the master used the store) the child sees a
  different pid and opens a new one. The inherited connection is never used and never closed in
  the child: closing it could release POSIX locks that belong to the child's own connection to
  the same file, so it is parked in `_INHERITED` for the life of the process.
- **One writer at a time, queued in two stages.** Every write is a `BEGIN IMMEDIATE`
  transaction, which takes SQLite's file lock at once, before anything is read: a
  check-and-set (update a log file, count a fault rule) cannot interleave with another, in this
  process or another. Threads of one process first queue on a process lock (`writer`), so only
  one of them at a time contends for the file lock; against other processes `BEGIN IMMEDIATE`
  is retried in steps of 0.1 to 2 ms (`begin_write`) instead of SQLite's coarse busy handler.
- **Reads see a fresh snapshot.** The database is in WAL mode, so readers never block the
  writer nor wait for it. A lone statement (`statement`) is a transaction of its own, so it
  reads the latest commit; a read of several statements (`read`) is a deferred `BEGIN`, whose
  statements all see one snapshot, taken at its first read. Either way, a transaction left open
  on the connection (a COMMIT and a ROLLBACK that both failed) is rolled back first, since it
  would pin an old snapshot for every later read on that thread.
- **Nesting joins.** SQLite cannot nest transactions, so a store call made inside another
  call's transaction (a change function that reads the clock) joins the outer one.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ...errors import ConfigError

VARIABLE = "LOGFILES_STORE"
BUSY_TIMEOUT_SECONDS = 10.0

# Connections inherited through fork. SQLite must not use them in the child, and closing them
# there could drop locks that the child's own connection holds, so they are kept, never closed.
_INHERITED: list[sqlite3.Connection] = []


class _Local(threading.local):
    """This thread's connection, the process that opened it (a fork changes the pid), and nesting."""

    connection: sqlite3.Connection | None = None
    pid: int = 0
    depth: int = 0


class Connections:
    """The connections of one store object to one database file, per the model above."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = _Local()
        # Threads of one process queue here for the write lock, not in SQLite's busy handler.
        self.writer = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection in this process, opened on first use and after a fork."""
        local = self.local
        pid = os.getpid()
        if local.connection is not None and local.pid != pid:
            _INHERITED.append(local.connection)
            local.connection = None
        if local.connection is None:
            local.connection = connect(self.path)
            local.pid = pid
            local.depth = 0
        return local.connection

    def statement(self) -> sqlite3.Connection:
        """This thread's connection for one statement, which is a transaction of its own.

        Inside another call's transaction it joins it; a transaction left open by a failed
        COMMIT and ROLLBACK is rolled back first, so the statement never reads an old snapshot.
        """
        connection = self.connection()
        if not self.local.depth and connection.in_transaction:
            connection.execute("ROLLBACK")
        return connection

    def write_statement(self, sql: str, parameters: Sequence[Any]) -> None:
        """One statement that writes, as a transaction of its own, queued on the process lock."""
        with self.writer:
            self.statement().execute(sql, parameters)

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A deferred transaction: its reads see one snapshot and never block a writer (WAL)."""
        return self._transaction("BEGIN")

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """Take the write lock before reading, so a check-and-set cannot interleave with another."""
        return self._transaction("BEGIN IMMEDIATE")

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """Commit when the block ends, roll back when it raises (a Conflict from a change, too).

        A call made inside another call's transaction (a change that reads the clock) joins it,
        since SQLite cannot nest transactions and MemoryStore allows such reads.
        """
        connection = self.connection()
        local = self.local
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
            self.writer.acquire()
            begin_write(connection)
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
                self.writer.release()

    def close(self) -> None:
        """Close this thread's connection; the next call opens a new one."""
        local = self.local
        connection, local.connection = local.connection, None
        if connection is None:
            return
        if local.pid == os.getpid():
            connection.close()
        else:
            _INHERITED.append(connection)


def check_location(path: str) -> None:
    """Name the usual mistakes plainly instead of SQLite's 'unable to open database file'."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise ConfigError(VARIABLE, f"directory {directory} does not exist (database {path})")
    if os.path.isdir(path):
        raise ConfigError(VARIABLE, f"{path} is a directory, not a database file")
    # WAL mode creates `-wal` and `-shm` files next to the database, even to read it.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(VARIABLE, f"directory {directory} is not writable (database {path})")


def begin_write(connection: sqlite3.Connection) -> None:
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
            time.sleep(pause * (0.5 + random.random()))  # noqa: S311 (jitter, not a secret)
            pause = min(pause * 2, 0.002)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")


def connect(path: str) -> sqlite3.Connection:
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
