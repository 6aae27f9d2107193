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
  is retried in steps of 0.1 to 2 ms (`retry_busy`) instead of SQLite's coarse busy handler.
- **Reads see a fresh snapshot.** The database is in WAL mode, so readers never block the
  writer nor wait for it. A lone statement (`statement`) is a transaction of its own, so it
  reads the latest commit; a read of several statements (`read`) is a deferred `BEGIN`, whose
  statements all see one snapshot, taken at its first read. Either way, a transaction left open
  on the connection (a COMMIT and a ROLLBACK that both failed) is rolled back first, since it
  would pin an old snapshot for every later read on that thread.
- **Per process, made in the process.** The thread-local slots and the writer lock are made on
  first use in each process, looked up in `threading` at that moment: after a fork the child
  gets its own (a lock held by another thread at the fork would stay held), and under gevent,
  whose monkey-patching happens in the worker after gunicorn's master imported this module,
  they are the patched greenlet-local and greenlet lock rather than real thread ones.
- **A failure costs one request, not the worker.** An sqlite3 operational error (locked past
  the busy timeout, disk or database full, read-only, I/O error, cannot open) is the store's
  `Unavailable` (503 with Retry-After), and this thread's connection is dropped once the
  outermost call ends, so the next call opens a fresh one: a connection opened while the file
  was read-only stays read-only for life. Waits for the write lock, in this process or another,
  end after `busy_timeout` seconds.
- **The file is the one opened.** A database file removed or replaced while serving would take
  writes to an unlinked inode, lost at the next start. Its identity (st_dev, st_ino) is checked
  before every write and at most once a second before reads; a change is `Unavailable`, and
  connections are opened with `mode=rw`, so a missing file is never created again behind the
  schema's back.
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ...errors import ConfigError, Unavailable

VARIABLE = "LOGFILES_STORE"
BUSY_TIMEOUT_SECONDS = 10.0
# How soon a client may retry after a storage failure, and how often reads re-check the file.
RETRY_AFTER_SECONDS = 1
FILE_CHECK_SECONDS = 1.0
# The error classes that mean "the database cannot serve now" rather than a bug in a query
# (IntegrityError, ProgrammingError and the like stay what they are).
_STORAGE_ERRORS = (sqlite3.OperationalError, sqlite3.DatabaseError)

# Per-process state inherited through fork. SQLite must not use those connections in the child,
# and closing them there could drop locks the child's own connection holds, so they are kept.
_INHERITED: list[object] = []


@dataclass
class _Slot:
    """One thread's connection, the process that opened it, and how deep its calls are nested."""

    pid: int
    connection: sqlite3.Connection | None = None
    depth: int = 0


@dataclass
class _Process:
    """What one process keeps per store: its threads' slots, its writer lock, the last file check."""

    pid: int
    local: threading.local = field(default_factory=lambda: threading.local())
    writer: Any = field(default_factory=lambda: threading.Lock())
    checked_at: float = float("-inf")


def unavailable(exc: sqlite3.Error) -> Unavailable:
    """The 503 for a storage failure, naming SQLite's reason (a test double may say it)."""
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return Unavailable(
        "The service's storage is unavailable; try again later.",
        [f"store: {exc} ({name})"],
        retry_after=RETRY_AFTER_SECONDS,
    )


def _busy(seconds: float) -> Unavailable:
    return Unavailable(
        "The service's storage is busy; try again later.",
        [f"store: another writer held the database for more than {seconds:g} s"],
        retry_after=RETRY_AFTER_SECONDS,
    )


def _gone(path: str, why: str) -> Unavailable:
    return Unavailable(
        "The service's storage is unavailable; try again later.",
        [f"store: the database file {path} {why} since the service opened it; restart it"],
        retry_after=RETRY_AFTER_SECONDS,
    )


def file_identity(path: str) -> tuple[int, int]:
    """(st_dev, st_ino): what stays the same while the file is the same file."""
    found = os.stat(path)
    return found.st_dev, found.st_ino


class Connections:
    """The connections of one store object to one database file, per the model above."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity = file_identity(path)
        self.busy_timeout = BUSY_TIMEOUT_SECONDS
        self._process: _Process | None = None

    def _here(self) -> _Process:
        """This process's state, made on first use here (after a fork, too)."""
        process = self._process
        pid = os.getpid()
        if process is None or process.pid != pid:
            if process is not None:
                _INHERITED.append(process)
            process = self._process = _Process(pid)
        return process

    @property
    def local(self) -> _Slot:
        """This thread's slot, as last used: after a fork, the parent's until first use."""
        process = self._process or self._here()
        slot: _Slot | None = getattr(process.local, "slot", None)
        if slot is None:
            slot = process.local.slot = _Slot(process.pid)
        return slot

    def _slot(self) -> _Slot:
        process = self._here()
        slot: _Slot | None = getattr(process.local, "slot", None)
        if slot is None:
            slot = process.local.slot = _Slot(process.pid)
        return slot

    def connection(self) -> sqlite3.Connection:
        """This thread's connection in this process, opened on first use and after a fork."""
        slot = self._slot()
        if slot.connection is None:
            # A file removed or replaced since the start says so, not SQLite's "unable to open".
            self.check_file(always=True)
            slot.connection = connect(self.path)
            slot.depth = 0
        return slot.connection

    def check_file(self, always: bool = False) -> None:
        """Unavailable if the path no longer names the file opened; `always`, else once a second."""
        process = self._here()
        now = time.monotonic()
        if not always and now - process.checked_at < FILE_CHECK_SECONDS:
            return
        try:
            identity = file_identity(self.path)
        except OSError:
            raise _gone(self.path, "was removed") from None
        if identity != self.identity:
            raise _gone(self.path, "was replaced")
        process.checked_at = now

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn storage failures into Unavailable; drop the connection once the outermost call ends."""
        try:
            yield
        except _STORAGE_ERRORS as exc:
            if type(exc) not in _STORAGE_ERRORS:
                raise  # IntegrityError and its kind: a bug, not the storage
            self._drop_unless_nested()
            raise unavailable(exc) from exc
        except Unavailable:
            self._drop_unless_nested()
            raise

    def _drop_unless_nested(self) -> None:
        if not self._slot().depth:
            self.close()

    def statement(self) -> sqlite3.Connection:
        """This thread's connection for one statement, which is a transaction of its own.

        Inside another call's transaction it joins it; a transaction left open by a failed
        COMMIT and ROLLBACK is rolled back first, so the statement never reads an old snapshot.
        """
        self.check_file()
        connection = self.connection()
        if not self._slot().depth and connection.in_transaction:
            connection.execute("ROLLBACK")
        return connection

    def write_statement(self, sql: str, parameters: Sequence[Any]) -> None:
        """One statement that writes, as a transaction of its own, queued on the process lock."""
        self.check_file(always=True)
        deadline = time.monotonic() + self.busy_timeout
        with self._writer(deadline):
            connection = self.statement()
            retry_busy(connection, lambda: connection.execute(sql, parameters), deadline)

    @contextmanager
    def _writer(self, deadline: float) -> Iterator[None]:
        """This process's writer lock, waited for until `deadline` at most."""
        writer = self._here().writer
        if not writer.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise _busy(self.busy_timeout)
        try:
            yield
        finally:
            writer.release()

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A deferred transaction: its reads see one snapshot and never block a writer (WAL)."""
        return self._transaction(writing=False)

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """Take the write lock before reading, so a check-and-set cannot interleave with another."""
        return self._transaction(writing=True)

    @contextmanager
    def _transaction(self, writing: bool) -> Iterator[sqlite3.Connection]:
        """Commit when the block ends, roll back when it raises (a Conflict from a change, too).

        A call made inside another call's transaction (a change that reads the clock) joins it,
        since SQLite cannot nest transactions and MemoryStore allows such reads.
        """
        connection = self.connection()
        local = self._slot()
        if local.depth:
            local.depth += 1
            try:
                yield connection
            finally:
                local.depth -= 1
            return
        self.check_file(always=writing)
        if connection.in_transaction:  # left open by a COMMIT and ROLLBACK that both failed
            connection.execute("ROLLBACK")
        with contextlib.ExitStack() as stack:
            if writing:
                deadline = time.monotonic() + self.busy_timeout
                stack.enter_context(self._writer(deadline))
                retry_busy(connection, lambda: connection.execute("BEGIN IMMEDIATE"), deadline)
            else:
                connection.execute("BEGIN")
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

    def close(self) -> None:
        """Close this thread's connection; the next call opens a new one."""
        local = self._slot() if self._process is not None else None
        if local is None or local.connection is None:
            return
        connection, local.connection = local.connection, None
        local.depth = 0
        with contextlib.suppress(sqlite3.Error):
            connection.close()


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


def retry_busy(connection: sqlite3.Connection, run: Callable[[], object], deadline: float) -> None:
    """Run a statement that takes the write lock, retrying in steps of 0.1 to 2 ms until `deadline`.

    SQLite's own busy handler sleeps 1, 2, 5, 10... ms between tries, which under a steady
    write load (a journal entry per request, several workers) costs more than the writes; and
    it sleeps inside C, where gevent cannot switch to another request. A statement that got
    SQLITE_BUSY did nothing, so running it again is safe.
    """
    pause = 0.0001
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                run()
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(pause * (0.5 + random.random()))  # noqa: S311 (jitter, not a secret)
            pause = min(pause * 2, 0.002)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")


def connect(path: str, create: bool = False) -> sqlite3.Connection:
    """Autocommit mode (isolation_level=None), so every transaction is an explicit BEGIN.

    Only the start (`create`) may create the file: once serving, a missing file is a failure,
    not a fresh empty database without the schema.
    """
    target = f"file:{quote(path)}?mode={'rwc' if create else 'rw'}"
    connection = sqlite3.connect(target, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, uri=True)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        # Safe with WAL: a power cut may lose the last commits but never corrupts the file.
        connection.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection
