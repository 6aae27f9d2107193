"""Waiting for a journal entry, across workers, without holding a worker or a store (stdlib only).

How a wait (`JournalWatch.wait`) goes, and why:

- **What is there already answers at once.** The waiter first reads the journal after its
  `after` number, a page at a time, and the oldest entry its filter accepts is the answer: a
  test that waits after its client already sent the request does not race it.
- **Then it sleeps, and one watcher per process looks for it.** While anyone in the process
  waits, a watcher (a thread; a greenlet under gunicorn's gevent worker, whose patched
  `threading` this module reads when it makes its locks, events and threads) reads the
  entries newer than the newest it has seen, every POLL_SECONDS, and at once when this
  process journals a request (`poke`). It offers each new entry to every waiter, which keeps
  the first its filter accepts and wakes. So N waiters cost one read by number per poll
  (`list_requests(after=...)`, an index range: nothing when nothing is new), not N reads;
  a sleeping waiter holds no transaction, no lock and no connection (SQLite's per-greenlet
  one is closed before it sleeps: `release`), only its greenlet.
- **Other workers' entries** are found by the same poll: they are in the shared SQLite file
  or PostgreSQL database.
- **Nothing is missed between the two.** A waiter registers with the watcher before it reads
  what is there: an entry the watcher offers before that was committed before, so the read
  finds it; one committed after is offered to it. The watcher starts before its first
  waiter's read, from the journal's newest number.
- **Numbers may become visible out of order.** PostgreSQL numbers entries from a sequence,
  so an entry may show up after a newer one (two inserts that commit in the other order).
  The watcher therefore does not step past a missing number at once: it looks for it again
  at each poll for GAP_GRACE_SECONDS, then gives it up (it was rolled back, cleared or
  trimmed, or its insert took longer than that). For the same reason it starts
  START_MARGIN numbers below the newest. SQLite and the memory store number entries in
  commit order, so for them a missing number is simply gone.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import Unavailable
from .journal import JournalEntry, JournalFilter

POLL_SECONDS = 0.02  # one read by number per process per poll, only while someone waits
STOP_SECONDS = 1.0  # how long the last waiter waits for the watcher's read in progress to end
PAGE = 1000  # entries per read, so that a long journal or a burst is read in bounded pieces
GAP_GRACE_SECONDS = 2.0  # how long a missing number is looked for (a PostgreSQL insert in flight)
START_MARGIN = 1024  # numbers below the newest that a new watcher still looks for
MAX_PENDING = 100_000  # entries kept above a missing number, at most; past it the number is given up
# Waits at once in one process (a gunicorn worker). Each holds a connection for up to 60 s,
# abandoned or not: more would let waits take the worker's connection slots (logfiles/
# worker.py) from everyone else. Past it a wait is refused at once: 503 + Retry-After.
MAX_WAITS = 1000
log = logging.getLogger("logfiles")


class JournalReader(Protocol):
    """The store calls a wait needs (every store has them)."""

    def list_requests(self, after: int = 0, limit: int | None = None) -> list[JournalEntry]: ...

    def last_request_seq(self) -> int: ...

    def release(self) -> None: ...


def first_match(reader: JournalReader, selection: JournalFilter) -> JournalEntry | None:
    """The oldest entry `selection` accepts, read a page at a time (others run in between)."""
    cursor = selection.after or 0
    while True:
        page = reader.list_requests(after=cursor, limit=PAGE)
        for entry in page:
            if selection.accepts(entry):
                return entry
        if len(page) < PAGE:
            return None
        cursor = page[-1].seq
        time.sleep(0)  # under gevent, a yield: a long journal does not stall the worker


@dataclass(eq=False)
class Waiter:
    """One wait: its filter, the first entry offered that it accepts, and the event that wakes it."""

    selection: JournalFilter
    ready: Any = field(default_factory=lambda: threading.Event())
    found: JournalEntry | None = None

    def offer(self, entry: JournalEntry) -> None:
        # The oldest match wins, as the first read would have found it: an entry that shows
        # up late (out of order) may be older than one offered before.
        if self.selection.accepts(entry) and (self.found is None or entry.seq < self.found.seq):
            self.found = entry
            self.ready.set()


class Cursor:
    """Which journal numbers the watcher has seen: all up to `floor`, and `seen` above it.

    Pure bookkeeping, with time given by the caller, so tests drive it without a thread.
    """

    def __init__(self, reader: JournalReader, now: float, grace: float = GAP_GRACE_SECONDS) -> None:
        self.reader = reader
        self.grace = grace
        newest = reader.last_request_seq()
        self.floor = max(0, newest - START_MARGIN)
        # Entries already there are not offered (a waiter's first read finds them); only the
        # numbers in the margin that are missing are still looked for.
        self.seen: set[int] = set()
        self.high = newest
        # (newest number seen, when): a missing number up to that one was missing since then.
        self.noticed: deque[tuple[int, float]] = deque()
        self.poll(now)

    def _read(self, now: float) -> list[JournalEntry]:
        """Entries above `floor` not seen before, oldest first; marks them seen.

        Every page is read before anything is marked, so a read that fails part way loses
        nothing: the next poll reads the same again.
        """
        found: list[JournalEntry] = []
        cursor = self.floor
        while True:
            page = self.reader.list_requests(after=cursor, limit=PAGE)
            found.extend(page)
            if len(page) < PAGE:
                break
            cursor = page[-1].seq
        new = [entry for entry in found if entry.seq not in self.seen]
        self.seen.update(entry.seq for entry in new)
        if new:
            self.high = max(self.high, max(entry.seq for entry in new))
        return sorted(new, key=lambda entry: entry.seq)

    def poll(self, now: float) -> list[JournalEntry]:
        """The entries that appeared since the last poll, oldest first."""
        new = self._read(now)
        self.settle(now)
        return new

    def settle(self, now: float) -> None:
        """Move `floor` up past every number seen, and past missing ones looked for long enough."""
        while self.floor < self.high:
            following = self.floor + 1
            if following in self.seen:
                self.seen.discard(following)
                self.floor = following
                continue
            # Missing: the notes say since when. The newest note older than the grace (or any,
            # when too much waits above the gap) bounds what may be given up.
            given_up = None
            for high, when in self.noticed:
                if now - when < self.grace and len(self.seen) <= MAX_PENDING:
                    break
                given_up = high
            if given_up is None or given_up < following:
                break
            # Every number up to that note, and below the next one seen, was missing that long.
            next_seen = min(self.seen, default=self.high + 1)
            self.floor = min(given_up, next_seen - 1)
        while self.noticed and self.noticed[0][0] <= self.floor:
            self.noticed.popleft()
        if self.floor < self.high and (not self.noticed or self.noticed[-1][0] < self.high):
            self.noticed.append((self.high, now))


@dataclass(eq=False)
class _Watcher:
    """The process's watcher while anyone waits: its cursor, its waiters, what wakes it."""

    cursor: Cursor
    waiters: set[Waiter] = field(default_factory=set)
    wake: Any = field(default_factory=lambda: threading.Event())
    thread: Any = None
    stopped: bool = False  # its last waiter left: it reads no more, and a new wait starts another


@dataclass(eq=False)
class _Process:
    """What one process keeps: made there on first use, so a fork or gevent gets its own."""

    pid: int
    lock: Any = field(default_factory=lambda: threading.Lock())
    watcher: _Watcher | None = None


class JournalWatch:
    """Waits for journal entries of every worker (see the module docstring); one per app."""

    def __init__(
        self,
        reader: JournalReader,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_waits: int = MAX_WAITS,
    ) -> None:
        self.reader = reader
        self.poll_seconds = poll_seconds
        self.max_waits = max_waits
        self.clock = clock
        self._process: _Process | None = None

    def _here(self) -> _Process:
        process = self._process
        if process is None or process.pid != os.getpid():
            process = self._process = _Process(os.getpid())
        return process

    def poke(self) -> None:
        """This process journaled a request: the watcher, if any, looks now (cheap otherwise)."""
        process = self._process
        watcher = None if process is None else process.watcher
        if watcher is not None and process is not None and process.pid == os.getpid():
            watcher.wake.set()

    def waiting(self) -> int:
        """How many waits this process has now (for tests and the curious)."""
        process = self._here()
        with process.lock:
            return 0 if process.watcher is None else len(process.watcher.waiters)

    def wait(self, selection: JournalFilter, timeout: float) -> JournalEntry | None:
        """The oldest entry `selection` accepts, as soon as there is one; None after `timeout` s.

        Unavailable (503) when `max_waits` already wait in this process.
        """
        if timeout <= 0:  # a look, not a wait: no watcher to start
            return first_match(self.reader, selection)
        deadline = self.clock() + timeout
        process = self._here()
        waiter = Waiter(selection)
        with process.lock:
            watcher = process.watcher
            if watcher is not None and len(watcher.waiters) >= self.max_waits:
                raise Unavailable(
                    "Too many waits at once; retry in a moment.",
                    [f"wait: {self.max_waits} waits at once per worker, all taken"],
                )
            if watcher is None:
                # Started here, before this waiter's first read (its store reads may raise:
                # then no watcher is left behind).
                watcher = process.watcher = _Watcher(Cursor(self.reader, self.clock()))
                watcher.thread = threading.Thread(
                    target=self._watch, args=(process, watcher), name="logfiles-journal-watch", daemon=True
                )
                watcher.thread.start()
            watcher.waiters.add(waiter)
        try:
            existing = first_match(self.reader, selection)
            if existing is not None:
                waiter.offer(existing)
            else:
                self.reader.release()  # SQLite: this greenlet's connection is closed while it sleeps
            while waiter.found is None:
                left = deadline - self.clock()
                if left <= 0:
                    break
                waiter.ready.wait(left)
            return waiter.found
        finally:
            self._leave(process, watcher, waiter)

    def _leave(self, process: _Process, watcher: _Watcher, waiter: Waiter) -> None:
        """The last waiter to leave stops the watcher, and lets its read in progress end first:
        once the last wait has answered, nothing of it uses the store (which may be closed)."""
        with process.lock:
            watcher.waiters.discard(waiter)
            if watcher.waiters:
                return
            watcher.stopped = True
            if process.watcher is watcher:
                process.watcher = None  # a wait that starts now starts a watcher of its own
        watcher.wake.set()
        if watcher.thread is not None and watcher.thread is not threading.current_thread():
            watcher.thread.join(STOP_SECONDS)

    def _watch(self, process: _Process, watcher: _Watcher) -> None:
        """The watcher's loop: poll, offer, sleep; it ends when nobody waits."""
        failing = False
        while not watcher.stopped:
            watcher.wake.clear()
            try:
                new = watcher.cursor.poll(self.clock())
                failing = False
            except Exception as exc:  # noqa: BLE001  (a store that is down: waits run out, 408)
                if not failing:
                    log.warning("journal watch cannot read the journal: %s", exc)
                failing = True
                new = []
            # The waiters as they are after the read: one that came since the read began has
            # these entries from its own first read, as they were committed before it came.
            with process.lock:
                waiters = list(watcher.waiters)
            for entry in new:
                for each in waiters:
                    each.offer(entry)
            watcher.wake.wait(self.poll_seconds)
