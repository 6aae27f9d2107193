"""Waiting for journal entries (logfiles/waiting.py): the watcher's bookkeeping with a fake
journal and a fake clock, then whole waits on the memory store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from logfiles import waiting
from logfiles.errors import Unavailable
from logfiles.journal import JournalEntry, JournalFilter
from logfiles.store import MemoryStore
from logfiles.waiting import GAP_GRACE_SECONDS, START_MARGIN, Cursor, JournalWatch

T0 = datetime(2014, 9, 23, 12, 22, 40, 606703, tzinfo=UTC)
DEADLINE = 10.0


def entry(seq: int = 0, method: str = "GET", path: str = "/v2/p/agents", status: int = 200) -> JournalEntry:
    return JournalEntry(T0, method, path, "", {}, "", status, seq=seq)


class FakeJournal:
    """Numbers are handed out (`take`), then become visible in any order (`show`), as on PostgreSQL."""

    def __init__(self) -> None:
        self.handed_out = 0
        self.visible: dict[int, JournalEntry] = {}
        self.fail_after_pages: int | None = None
        self.reads = 0

    def take(self, count: int = 1) -> list[int]:
        numbers = list(range(self.handed_out + 1, self.handed_out + count + 1))
        self.handed_out += count
        return numbers

    def show(self, *numbers: int) -> None:
        for number in numbers:
            self.visible[number] = entry(number)

    def add(self, count: int = 1) -> list[int]:
        numbers = self.take(count)
        self.show(*numbers)
        return numbers

    def list_requests(self, after: int = 0, limit: int | None = None) -> list[JournalEntry]:
        self.reads += 1
        if self.fail_after_pages is not None and self.reads > self.fail_after_pages:
            raise Unavailable("The service's storage is unavailable; try again later.")
        found = [self.visible[n] for n in sorted(self.visible) if n > after]
        return found if limit is None else found[:limit]

    def last_request_seq(self) -> int:
        return self.handed_out

    def release(self) -> None:
        pass


def seqs(entries: list[JournalEntry]) -> list[int]:
    return [e.seq for e in entries]


# The cursor: which numbers the watcher has seen.


def test_cursor_offers_only_entries_that_come_after_it_started() -> None:
    journal = FakeJournal()
    journal.add(3)
    cursor = Cursor(journal, now=0.0)
    assert cursor.poll(0.0) == []
    journal.add(2)
    assert seqs(cursor.poll(0.1)) == [4, 5]
    assert cursor.poll(0.2) == []
    assert (cursor.floor, cursor.seen) == (5, set())


def test_cursor_finds_an_entry_that_shows_up_after_a_newer_one() -> None:
    journal = FakeJournal()
    cursor = Cursor(journal, now=0.0)
    late, early = journal.take(2)
    journal.show(early)
    assert seqs(cursor.poll(0.1)) == [early]
    assert cursor.floor == 0  # `late` may still come
    journal.show(late)
    assert seqs(cursor.poll(0.2)) == [late]
    assert cursor.floor == early


def test_cursor_gives_a_missing_number_up_after_the_grace_and_goes_on() -> None:
    journal = FakeJournal()
    cursor = Cursor(journal, now=0.0)
    lost, kept = journal.take(2)
    journal.show(kept)
    assert seqs(cursor.poll(1.0)) == [kept]
    assert cursor.poll(1.0 + GAP_GRACE_SECONDS / 2) == []
    assert cursor.floor == 0
    assert cursor.poll(1.0 + GAP_GRACE_SECONDS) == []
    assert (cursor.floor, cursor.seen) == (kept, set())
    journal.show(lost)  # too late: given up
    (newer,) = journal.add()
    assert seqs(cursor.poll(5.0 + GAP_GRACE_SECONDS)) == [newer]


def test_cursor_started_while_an_insert_is_in_flight_still_finds_it() -> None:
    journal = FakeJournal()
    journal.add(5)
    (in_flight,) = journal.take()
    journal.add(3)
    cursor = Cursor(journal, now=0.0)
    assert cursor.floor == in_flight - 1
    journal.show(in_flight)
    assert seqs(cursor.poll(0.1)) == [in_flight]


def test_cursor_starts_no_further_back_than_its_margin() -> None:
    journal = FakeJournal()
    journal.take(START_MARGIN + 10)  # all cleared, or in flight for ever
    (shown,) = journal.add()
    cursor = Cursor(journal, now=0.0)
    assert cursor.floor == shown - START_MARGIN
    assert cursor.poll(0.0) == []  # there at the start: a waiter's first read finds it
    cursor.poll(GAP_GRACE_SECONDS)
    assert cursor.floor == shown


def test_cursor_after_a_burst_that_was_trimmed_offers_what_is_left() -> None:
    journal = FakeJournal()
    cursor = Cursor(journal, now=0.0)
    numbers = journal.take(waiting.PAGE * 3)
    journal.show(*numbers[-waiting.PAGE - 5 :])  # the rest trimmed before the poll
    assert seqs(cursor.poll(0.1)) == numbers[-waiting.PAGE - 5 :]
    cursor.poll(0.1 + GAP_GRACE_SECONDS)
    assert (cursor.floor, cursor.seen) == (numbers[-1], set())


def test_cursor_gives_up_early_when_too_much_waits_above_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "MAX_PENDING", 3)
    journal = FakeJournal()
    cursor = Cursor(journal, now=0.0)
    journal.take()
    journal.add(3)
    cursor.poll(0.1)
    assert cursor.floor == 0
    journal.add()
    cursor.poll(0.2)
    assert (cursor.floor, cursor.seen) == (5, set())


def test_cursor_read_that_fails_part_way_loses_nothing() -> None:
    journal = FakeJournal()
    cursor = Cursor(journal, now=0.0)
    journal.add(waiting.PAGE + 1)
    journal.fail_after_pages = journal.reads + 1  # the first page reads, the second fails
    with pytest.raises(Unavailable):
        cursor.poll(0.1)
    journal.fail_after_pages = None
    assert len(cursor.poll(0.2)) == waiting.PAGE + 1


# Whole waits, on the memory store (threads stand in for the requests of other clients).


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    store = MemoryStore()
    yield store
    store.close()


def until(condition: Callable[[], bool]) -> None:
    """Wait for `condition`, checking often, for DEADLINE seconds at most."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.001)


class Background:
    """A wait run in a thread, so that the test can journal what it waits for."""

    def __init__(self, watch: JournalWatch, selection: JournalFilter, timeout: float = DEADLINE) -> None:
        self.result: JournalEntry | None = None
        self.thread = threading.Thread(target=self._run, args=(watch, selection, timeout))
        self.thread.start()

    def _run(self, watch: JournalWatch, selection: JournalFilter, timeout: float) -> None:
        self.result = watch.wait(selection, timeout)

    def join(self) -> JournalEntry | None:
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive()
        return self.result


def watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "logfiles-journal-watch"]


def test_wait_answers_at_once_with_the_oldest_entry_already_there(store: MemoryStore) -> None:
    for method in ("GET", "PATCH", "PATCH"):
        store.record_request(entry(method=method), 10)
    watch = JournalWatch(store)
    found = watch.wait(JournalFilter(method="PATCH"), timeout=0)
    assert found is not None and found.seq == 2
    later = watch.wait(JournalFilter(method="PATCH", after=found.seq), timeout=0)
    assert later is not None and later.seq == 3


def test_wait_without_a_match_gives_none_when_its_time_is_up(store: MemoryStore) -> None:
    store.record_request(entry(method="GET"), 10)
    assert JournalWatch(store).wait(JournalFilter(method="PATCH"), timeout=0.05) is None


@pytest.mark.parametrize("poke", [True, False], ids=["poked", "polled"])
def test_wait_is_answered_by_an_entry_journaled_while_it_waits(store: MemoryStore, poke: bool) -> None:
    watch = JournalWatch(store)
    waiter = Background(watch, JournalFilter(method="PATCH", status=204))
    until(lambda: watch.waiting() == 1)
    store.record_request(entry(method="PATCH", status=409), 10)
    store.record_request(entry(method="PATCH", status=204), 10)
    if poke:  # what the pipeline does after journaling: this process's waits look now
        watch.poke()
    found = waiter.join()
    assert found is not None and (found.seq, found.status) == (2, 204)


def test_many_waits_each_get_their_own_entry(store: MemoryStore) -> None:
    watch = JournalWatch(store)
    paths = [f"/v2/p/agents/{n}" for n in range(20)]
    waiters = [Background(watch, JournalFilter(path=path)) for path in paths]
    until(lambda: watch.waiting() == len(paths))
    for path in reversed(paths):
        store.record_request(entry(path=path), 100)
        watch.poke()
    found = [w.join() for w in waiters]
    assert [e.path if e else None for e in found] == paths


def test_the_watcher_stops_when_nobody_waits(store: MemoryStore) -> None:
    watch = JournalWatch(store)
    waiter = Background(watch, JournalFilter(method="PATCH"))
    until(lambda: watch.waiting() == 1 and len(watcher_threads()) == 1)
    store.record_request(entry(method="PATCH"), 10)
    assert waiter.join() is not None
    for thread in watcher_threads():
        thread.join(DEADLINE)
    assert watch.waiting() == 0 and watcher_threads() == []


class FailingStore(MemoryStore):
    def last_request_seq(self) -> int:
        raise Unavailable("The service's storage is unavailable; try again later.")


def test_a_store_that_fails_at_the_start_fails_the_wait_and_leaves_no_watcher() -> None:
    watch = JournalWatch(FailingStore())
    with pytest.raises(Unavailable):
        watch.wait(JournalFilter(), timeout=1)
    assert watch.waiting() == 0 and watcher_threads() == []


def test_a_wait_past_the_bound_is_refused_at_once_with_503(store: MemoryStore) -> None:
    watch = JournalWatch(store, max_waits=2)
    waits = [Background(watch, JournalFilter(method="PATCH")) for _ in range(2)]
    until(lambda: watch.waiting() == 2)
    with pytest.raises(Unavailable) as refused:
        watch.wait(JournalFilter(method="PATCH"), timeout=DEADLINE)
    assert refused.value.retry_after == 1 and "2 waits at once" in refused.value.errors[0]
    store.record_request(entry(method="PATCH"), 10)
    watch.poke()
    assert all(each.join() is not None for each in waits)
    # Their slots are free again: the next wait waits.
    assert watch.wait(JournalFilter(method="PATCH"), timeout=0.01) is not None
