"""PostgreSQL connections: a small pool per worker process, transactions, failures as 503s.

The concurrency model of the PostgreSQL store, said once here:

- **A pool per process, made in the process.** gunicorn's master opens the store once to
  check and migrate it, then forks; each worker makes its own pool on first use (the pid is
  checked), so no connection or socket crosses a fork. The pool is a stack of idle
  connections and a semaphore that bounds how many one process holds (POOL_SIZE). Under
  gevent the semaphore and the thread-local slots are gevent's (looked up when the pool is
  made, after the worker's monkey-patching), and psycopg waits for the socket cooperatively.
- **Why not psycopg_pool.** Its pool fills itself from a background thread; while the server
  is down a request waits out the whole pool timeout before it hears anything. Here a
  request that needs a connection opens it itself, with CONNECT_TIMEOUT_SECONDS, so a server
  that is down is a 503 at once, and no thread is started in a process that may fork.
- **Autocommit, explicit transactions.** A lone statement is its own transaction (one round
  trip). A read of several statements is `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`:
  one snapshot. A write is a READ COMMITTED transaction that takes the store's transaction
  advisory lock first unless it says otherwise (`locked=False`): the rare and structural
  writes (an import, a reset, an agent added) are then as serial as SQLite's, across every
  worker on every host; the hot ones (a PATCH, the journal, a fault's count) lock only their
  rows. A write that loses a deadlock or a serialization race is run again (its change
  functions are pure), up to WRITE_ATTEMPTS times.
- **Nesting joins.** A store call made inside another call's transaction (a change function
  that reads the clock) runs on the same connection, inside that transaction.
- **A failure costs one request, not the worker.** A connection error, a server shutting
  down, a pool that stays full for POOL_TIMEOUT_SECONDS: `Unavailable` (503, Retry-After).
  The failed connection is closed and the idle ones are dropped with it (after a restart of
  the server they are all dead), so the next request connects afresh: the service recovers
  by itself once the server is back.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from ...errors import Invalid, Unavailable

VARIABLE = "LOGFILES_STORE"
POOL_SIZE = 8
POOL_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_SECONDS = 10.0
RETRY_AFTER_SECONDS = 1
WRITE_ATTEMPTS = 8
# pg_advisory_xact_lock(LOCK_CLASS, <schema key>): one lock per schema, so that stores in
# different schemas of one database (the test suite's) do not wait for each other.
LOCK_CLASS = 0x4C46  # "LF"
MIGRATION_LOCK_CLASS = 0x4C47

_T = TypeVar("_T")

# Failures of the server or the link, not of a query: 503 and a fresh connection.
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


def unavailable(exc: BaseException) -> Unavailable:
    """The 503 for a storage failure, naming PostgreSQL's reason (a test double may say it)."""
    reason = _first_line(exc)
    return Unavailable(
        "The service's storage is unavailable; try again later.",
        [f"store: {reason} ({type(exc).__name__})"],
        retry_after=RETRY_AFTER_SECONDS,
    )


def _busy() -> Unavailable:
    return Unavailable(
        "The service's storage is busy; try again later.",
        [f"store: no database connection came free within {POOL_TIMEOUT_SECONDS:g} s"],
        retry_after=RETRY_AFTER_SECONDS,
    )


def connect(url: str, connect_timeout: int = CONNECT_TIMEOUT_SECONDS) -> psycopg.Connection[Any]:
    """An autocommit connection: every transaction is an explicit BEGIN."""
    return psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)


@dataclass
class _Slot:
    """The connection this thread (greenlet) is using, and how deep its calls are nested."""

    connection: psycopg.Connection[Any] | None = None
    depth: int = 0


@dataclass
class _Pool:
    """One process's idle connections and the bound on how many it holds."""

    pid: int
    size: int
    idle: list[psycopg.Connection[Any]] = field(default_factory=list)
    # Made in the process, after gevent's patching there: greenlet-aware in a gevent worker.
    slots: Any = field(default_factory=lambda: threading.BoundedSemaphore(POOL_SIZE))
    local: threading.local = field(default_factory=lambda: threading.local())


class Database:
    """The connections of one store object to one database, per the model above."""

    def __init__(self, url: str, schema_key: int, size: int = POOL_SIZE) -> None:
        self.url = url
        self.schema_key = schema_key
        self.size = size
        self._pool: _Pool | None = None
        # One round trip: BEGIN and the lock in one simple query (both are constants).
        self._begin_locked = f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_CLASS:d}, {schema_key:d})"

    def _here(self) -> _Pool:
        pool = self._pool
        pid = os.getpid()
        if pool is None or pool.pid != pid:
            # After a fork the parent's connections are left alone (closing them here would
            # tell the server the parent's sessions ended).
            _cooperate_with_gevent()
            pool = self._pool = _Pool(pid, self.size)
            pool.slots = threading.BoundedSemaphore(self.size)
        return pool

    def _slot(self) -> _Slot:
        pool = self._here()
        slot: _Slot | None = getattr(pool.local, "slot", None)
        if slot is None:
            slot = pool.local.slot = _Slot()
        return slot

    def _take(self, pool: _Pool) -> psycopg.Connection[Any]:
        if not pool.slots.acquire(timeout=POOL_TIMEOUT_SECONDS):
            raise _busy()
        try:
            while pool.idle:
                connection = pool.idle.pop()
                if _alive(connection):
                    return connection
                _close(connection)
            connection = connect(self.url)
            try:
                # A lock or query held past this (a stuck client of the same database) is a
                # 503 for this request, not a worker greenlet gone for good.
                # Custom plans always: a prepared statement's generic plan cannot see which
                # agent a feed poll names, and walked every event of the busiest one (20 ms a
                # poll beside an agent with 100,000 events, 0.03 ms planned for the agent).
                connection.execute(
                    f"SET statement_timeout = {int(STATEMENT_TIMEOUT_SECONDS * 1000):d};"
                    " SET plan_cache_mode = force_custom_plan"
                )
            except BaseException:
                _close(connection)
                raise
            return connection
        except BaseException:
            pool.slots.release()
            raise

    def _give_back(self, pool: _Pool, connection: psycopg.Connection[Any], broken: bool) -> None:
        try:
            if broken or connection.closed or connection.info.transaction_status != TransactionStatus.IDLE:
                _close(connection)
                if broken:
                    self._drop_idle(pool)
            else:
                pool.idle.append(connection)
        finally:
            pool.slots.release()

    def _drop_idle(self, pool: _Pool) -> None:
        """After a failure the idle connections are suspect too (a restarted server): drop them."""
        idle, pool.idle = pool.idle, []
        for connection in idle:
            _close(connection)

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one store call (the outer call's, when nested); failures become 503s."""
        slot = self._slot()
        if slot.connection is not None:
            slot.depth += 1
            try:
                yield slot.connection
            finally:
                slot.depth -= 1
            return
        pool = self._here()
        try:
            connection = self._take(pool)
        except psycopg.Error as exc:
            raise unavailable(exc) from exc
        slot.connection, slot.depth = connection, 1
        broken = False
        try:
            yield connection
        except _RETRYABLE:
            raise  # rolled back below; `write` and `statement` run it again
        except psycopg.Error as exc:
            # Broken or not is the connection's state, not the error's class: a statement
            # timeout leaves a good connection, a server gone leaves a dead one.
            broken = connection.broken or connection.closed
            translated = translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        except BaseException:
            broken = connection.broken or connection.closed
            raise
        finally:
            slot.connection, slot.depth = None, 0
            if not broken and connection.info.transaction_status != TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    connection.execute("ROLLBACK")
            self._give_back(pool, connection, broken)

    def statement(self, sql: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        """One statement, its own transaction (or the outer call's): its rows, if any.

        A statement that lost a deadlock or a serialization race did nothing: it runs again.
        """

        def run(connection: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            cursor = connection.execute(sql, parameters)
            return cursor.fetchall() if cursor.description is not None else []

        return self._retrying(run, begin=None)

    def read(self, run: Callable[[psycopg.Connection[Any]], _T]) -> _T:
        """`run` inside one read-only snapshot (or inside the outer call's transaction)."""
        with self.session() as connection:
            if self._slot().depth > 1:
                return run(connection)
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            result = run(connection)
            connection.execute("COMMIT")
            return result

    def write(self, run: Callable[[psycopg.Connection[Any]], _T], locked: bool = True) -> _T:
        """`run` in one transaction, committed when it returns, rolled back when it raises.

        `locked`: take the store's advisory lock first, so that this write is serial with
        every other locked one. A deadlock or serialization failure runs it again.
        """
        return self._retrying(run, begin=self._begin_locked if locked else "BEGIN")

    def _retrying(self, run: Callable[[psycopg.Connection[Any]], _T], begin: str | None) -> _T:
        """`run` in its transaction (`begin`, or none: one statement), again after a lost race."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.session() as connection:
                    if self._slot().depth > 1:
                        return run(connection)
                    if begin is None:
                        return run(connection)
                    connection.execute(begin)
                    try:
                        result = run(connection)
                        connection.execute("COMMIT")
                    except BaseException:
                        with contextlib.suppress(psycopg.Error):
                            if connection.info.transaction_status != TransactionStatus.IDLE:
                                connection.execute("ROLLBACK")
                        raise
                    return result
            except _RETRYABLE as exc:
                if self._slot().connection is not None or attempt == WRITE_ATTEMPTS - 1:
                    raise unavailable(exc) from exc
                time.sleep(0.001 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def guard(self) -> contextlib.AbstractContextManager[None]:
        """Any psycopg failure that escaped a call (a driver error outside a session) is a 503."""
        return _guard()

    def close(self) -> None:
        """Close this process's idle connections; the next call opens new ones."""
        pool = self._pool
        if pool is not None and pool.pid == os.getpid():
            self._drop_idle(pool)


def _cooperate_with_gevent() -> None:
    """Make psycopg wait for its socket through gevent when this process is monkey-patched.

    psycopg picks its wait function when it is first imported, and gunicorn's master imports
    it (to migrate) before a gevent worker patches `select`: psycopg would then block the
    whole worker in C on every query. Re-pointed here, in the worker, at the first use.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("select"):
        return
    import selectors

    from psycopg import waiting

    waiting.wait = waiting.wait_poll  # select.poll: gevent's, looked up at each call
    waiting.DefaultSelector = selectors.DefaultSelector  # type: ignore[misc]  # gevent's, for connect


@contextmanager
def _guard() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        translated = translate(exc)
        if translated is exc:
            raise
        raise translated from exc


# SQLSTATE classes that mean "the database cannot serve this now", not "the query is wrong":
# connection (08), read-only transaction (25006, a standby after a failover), insufficient
# resources (53), operator intervention (57: shutdown, statement timeout), system errors (58),
# and a schema that went away under a running service (42P01 undefined table, 42501
# permission denied).
_UNAVAILABLE_STATES = ("08", "53", "57", "58", "25006", "42P01", "42501", "3F000")


def translate(exc: psycopg.Error) -> Exception:
    """The service's error for a driver error: 503 for the database's state, 400 for a value
    it cannot hold (a key past its index's size), else the error itself (a bug: a 500)."""
    state = exc.sqlstate or ""
    if state.startswith(("22", "54")):  # data exception; program limit exceeded (index row size)
        return Invalid(
            "A value is too large or not valid to be stored.",
            [f"store: PostgreSQL refused it: {_first_line(exc)}"],
        )
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) or state.startswith(
        _UNAVAILABLE_STATES
    ):
        return unavailable(exc)
    return exc


def _alive(connection: psycopg.Connection[Any]) -> bool:
    """Whether an idle pooled connection can still be used, without a round trip.

    An idle connection has nothing to read unless the server spoke first: a FATAL message as
    it shut down, or end-of-file when it died. So a readable socket means a dead connection
    (the usual case after a server restart), and it is dropped before a request meets it.
    """
    if connection.closed or connection.broken or connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _close(connection: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(Exception):
        connection.close()
