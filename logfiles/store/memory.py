"""In-process store: dicts under one lock; for a single process (one gunicorn worker, threads)."""

from __future__ import annotations

import bisect
import heapq
import itertools
import os
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from ..auth import TOKEN_LIFETIME, IssuedToken
from ..clock import REAL_TIME, ClockSetting
from ..config import DEFAULT_MAX_STORED_BYTES
from ..errors import Unavailable
from ..events import EVENT_LIFETIME, MAX_EVENT_ID, MAX_EVENTS_KEPT, Event, EventPage, EventQuery
from ..faults import FaultRule, HeaderSource, first_firing
from ..journal import JournalEntry
from ..model import Agent, LogFile, LogFileState, needs_heard_update
from ..pacing import Pause, no_pause
from .base import (
    AgentChange,
    ChangeEvents,
    LogFileChange,
    Page,
    Snapshot,
    add_agent,
    agent_marker_not_found,
    agent_not_found,
    any_agent_marker_not_found,
    fault_not_found,
    import_into,
    logfile_not_found,
    marker_not_found,
    no_states,
)
from .memory_documents import MemoryDocuments
from .memory_objects import MemoryObjects


def _event_id(event: Event) -> int:
    return event.id


class _Events:
    """Events in number order, with the indexes the feeds read; used under the store's lock.

    Every index is a subsequence of `all`, so dropping the oldest events drops a prefix of each.
    """

    def __init__(self) -> None:
        self.seq = 0  # never reset: numbers are never reused
        self.all: deque[Event] = deque()
        self.by_agent: dict[str, list[Event]] = {}
        self.by_project: dict[str, list[Event]] = {}
        self.project_wide: dict[str, list[Event]] = {}

    def check_room(self, events: Sequence[Event]) -> None:
        """Unavailable, before anything changes, if numbering `events` would pass MAX_EVENT_ID
        (no feed marker could name the number). Seeded numbers are bounded far below it."""
        top = max([self.seq, *(event.id for event in events)])
        if top + sum(1 for event in events if not event.id) > MAX_EVENT_ID:
            raise Unavailable(
                "The service has no event numbers left.",
                [f"events: numbers are at most {MAX_EVENT_ID} (18 digits, the feeds' marker bound)"],
            )

    def add(self, events: Sequence[Event]) -> None:
        """Number new events; one with a number already (an import) keeps it, in its place."""
        if not events:
            return
        self.check_room(events)
        newest = None
        for event in events:
            if event.id:
                kept = event
                self.seq = max(self.seq, event.id)
            else:
                self.seq += 1
                kept = replace(event, id=self.seq)
            self._index(kept)
            newest = kept.time if newest is None else max(newest, kept.time)
        if newest is not None:
            self._drop_old(newest - EVENT_LIFETIME)

    def _index(self, event: Event) -> None:
        places: list[list[Event] | deque[Event]] = [
            self.all,
            self.by_project.setdefault(event.project_id, []),
        ]
        if event.agent_id is None:
            places.append(self.project_wide.setdefault(event.project_id, []))
        else:
            places.append(self.by_agent.setdefault(event.agent_id, []))
        for place in places:
            if not place or place[-1].id < event.id:
                place.append(event)
            else:  # an imported number below the newest: keep the order by number
                place.insert(bisect.bisect_left(place, event.id, key=_event_id), event)

    def numbers(self) -> set[int]:
        return {event.id for event in self.all}

    def _drop_old(self, cutoff: datetime) -> None:
        """Drop the oldest events while they are past their lifetime or over the cap."""
        counts: dict[int, tuple[list[Event], int]] = {}
        while self.all and (self.all[0].time < cutoff or len(self.all) > MAX_EVENTS_KEPT):
            event = self.all.popleft()
            for index in self._indexes_of(event):
                _, count = counts.get(id(index), (index, 0))
                counts[id(index)] = (index, count + 1)
        for index, count in counts.values():
            del index[:count]

    def _indexes_of(self, event: Event) -> list[list[Event]]:
        found = [self.by_project[event.project_id]]
        if event.agent_id is None:
            found.append(self.project_wide[event.project_id])
        else:
            found.append(self.by_agent[event.agent_id])
        return found

    def drop_agent(self, agent_id: str) -> None:
        gone = self.by_agent.pop(agent_id, [])
        if not gone:
            return
        ids = {event.id for event in gone}
        self.all = deque(event for event in self.all if event.id not in ids)
        project = gone[0].project_id
        self.by_project[project] = [e for e in self.by_project[project] if e.id not in ids]

    def clear(self) -> None:
        self.all.clear()
        self.by_agent.clear()
        self.by_project.clear()
        self.project_wide.clear()

    def feed(self, project_id: str, agent_id: str | None, query: EventQuery, since: datetime) -> EventPage:
        if agent_id is None:
            sources = [self.by_project.get(project_id, [])]
        else:
            sources = [self.by_agent.get(agent_id, []), self.project_wide.get(project_id, [])]
        walks = [_walk(source, query) for source in sources if source]
        if len(walks) < 2:  # the common case (no project-wide events): nothing to merge
            merged: Iterator[Event] = walks[0] if walks else iter(())
        elif query.descending:
            merged = heapq.merge(*walks, key=_event_id, reverse=True)
        else:
            merged = heapq.merge(*walks, key=_event_id)
        shown = (event for event in merged if event.time >= since)
        items = list(itertools.islice(shown, query.limit + 1))
        return EventPage(items[: query.limit], len(items) > query.limit)


def _walk(events: list[Event], query: EventQuery) -> Iterator[Event]:
    """`events` (ascending numbers) from the marker on, in the query's direction."""
    if query.descending:
        end = len(events) if query.marker is None else bisect.bisect_left(events, query.marker, key=_event_id)
        return (events[i] for i in range(end - 1, -1, -1))
    start = 0 if query.marker is None else bisect.bisect_right(events, query.marker, key=_event_id)
    # islice would step over the first `start` items one by one: index from the marker.
    return (events[i] for i in range(start, len(events)))


_Item = TypeVar("_Item")


def _page_after(items: dict[str, _Item], marker: str | None, limit: int) -> Page[_Item]:
    """Up to `limit` of `items` (in insertion order) after the key `marker`, and whether more follow."""
    keys = iter(items)
    if marker is not None:
        for key in keys:
            if key == marker:
                break
    chosen = [items[key] for key in itertools.islice(keys, limit + 1)]
    return Page(chosen[:limit], len(chosen) > limit)


class _Rows:
    """The store's dicts as the shared rules in base.py see them; used under the store's lock."""

    def __init__(
        self,
        agents: dict[str, Agent],
        logfiles: dict[str, dict[str, LogFile]],
        tokens: dict[str, IssuedToken],
        events: _Events,
    ) -> None:
        # The store's own containers, never rebound: both sides see every change.
        self.agents = agents
        self.logfiles = logfiles
        self.tokens = tokens
        self.events = events

    def put_agent(self, agent: Agent) -> None:
        self.agents[agent.id] = agent
        self.logfiles.setdefault(agent.id, {})

    def drop_logfiles(self, agent_id: str) -> None:
        # Assigned in place, so the agent's group keeps its place in the export order.
        if agent_id in self.logfiles:
            self.logfiles[agent_id] = {}

    def stored_agents(self, agent_ids: set[str]) -> set[str]:
        return {agent_id for agent_id in agent_ids if agent_id in self.agents}

    def stored_events(self, event_ids: set[int]) -> set[int]:
        return event_ids & self.events.numbers() if event_ids else set()

    def stored_logfiles(self, logfile_ids: set[str]) -> set[str]:
        # A keys view intersected with a set walks the smaller of the two, so this costs
        # what is imported, or what an agent holds if that is less, never a copy of the store.
        found: set[str] = set()
        if logfile_ids:
            for per_agent in self.logfiles.values():
                found |= per_agent.keys() & logfile_ids
        return found

    def clear(self) -> None:
        self.agents.clear()
        self.logfiles.clear()
        self.tokens.clear()
        self.events.clear()

    def put_logfiles(self, logfiles: Sequence[LogFile]) -> None:
        per_agent = self.logfiles
        for logfile in logfiles:
            per_agent[logfile.agent_id][logfile.id] = logfile

    def put_events(self, events: Sequence[Event]) -> None:
        self.events.add(events)


_disposal: tuple[int, queue.SimpleQueue[object]] | None = None


def dispose(garbage: object) -> None:
    """Drop the last reference to `garbage` in a thread of this process's own, off the
    request's path (freeing 100,000 log files takes longer than the rest of a reset)."""
    global _disposal
    if _disposal is None or _disposal[0] != os.getpid():  # made again in a forked child
        bin_: queue.SimpleQueue[object] = queue.SimpleQueue()
        threading.Thread(target=_empty, args=(bin_,), name="logfiles-dispose", daemon=True).start()
        _disposal = (os.getpid(), bin_)
    _disposal[1].put(garbage)


def _empty(bin_: queue.SimpleQueue[object]) -> None:
    while True:
        _dismantle(bin_.get())


def _dismantle(garbage: object, batch: int = 500) -> None:
    """Free `garbage` a few hundred references at a time, yielding in between.

    Dropping a dict of 100,000 entries at once frees them all in one C call that holds the
    GIL (or the gevent hub) throughout: the thread would stall the requests it was meant to
    spare. Taken apart piece by piece, each step is short. Containers are taken apart too;
    anything else is one object, freed as it is let go.
    """
    stack: list[object] = [garbage]
    done = 0
    while stack:
        item = stack.pop()
        if isinstance(item, _Events):
            stack.extend((item.all, item.by_agent, item.by_project, item.project_wide))
            continue
        if isinstance(item, tuple):
            stack.extend(item)
            continue
        while item:
            if isinstance(item, dict):
                value = item.popitem()[1]
            elif isinstance(item, (list, deque)):
                value = item.pop()
            else:
                break
            if isinstance(value, (dict, list, deque, tuple, _Events)):
                stack.append(value)
            del value
            done += 1
            if done % batch == 0:
                time.sleep(0)


class MemoryStore(MemoryObjects):
    """Dicts keep insertion order, which is the request order the list must show."""

    def __init__(self, max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES) -> None:
        super().__init__(max_stored_bytes)
        self._lock = threading.Lock()
        self._agents: dict[str, Agent] = {}
        self._logfiles: dict[str, dict[str, LogFile]] = {}
        self._journal: deque[tuple[int, JournalEntry]] = deque()
        self._journal_seq = 0
        self._faults: list[FaultRule] = []
        self._clock = REAL_TIME
        self._tokens: dict[str, IssuedToken] = {}  # in the order issued
        self._token_expiries: list[tuple[datetime, str]] = []  # a heap: (expires, token id)
        self._events = _Events()
        self._rows = _Rows(self._agents, self._logfiles, self._tokens, self._events)
        self.documents = MemoryDocuments(self._lock, lambda: self._events, self._has_agent)

    def _has_agent(self, project_id: str, agent_id: str) -> bool:
        agent = self._agents.get(agent_id)
        return agent is not None and agent.project_id == project_id

    def _agent(self, project_id: str, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None or agent.project_id != project_id:
            raise agent_not_found(project_id, agent_id)
        return agent

    def _logfiles_of(self, project_id: str, agent_id: str) -> dict[str, LogFile]:
        self._agent(project_id, agent_id)
        return self._logfiles[agent_id]

    def add_agent(self, agent: Agent, events: Sequence[Event] = ()) -> None:
        with self._lock:
            self._events.add(events)  # first: it may refuse, and then nothing has changed
            add_agent(self._rows, agent)

    def get_agent(self, project_id: str, agent_id: str) -> Agent:
        with self._lock:
            return self._agent(project_id, agent_id)

    def list_agents(self, project_id: str, limit: int, marker: str | None = None) -> Page[Agent]:
        """Walks every agent: the memory store is for a test's handful (SQLite has an index)."""
        with self._lock:
            if marker is not None:
                found = self._agents.get(marker)
                if found is None or found.project_id != project_id:
                    raise agent_marker_not_found(marker)
            values = iter(self._agents.values())
            if marker is not None:
                for agent in values:
                    if agent.id == marker:
                        break
            ours = (agent for agent in values if agent.project_id == project_id)
            items = list(itertools.islice(ours, limit + 1))
        return Page(items[:limit], len(items) > limit)

    def update_agent(self, project_id: str, agent_id: str, change: AgentChange) -> Agent:
        with self._lock:
            current = self._agent(project_id, agent_id)
            updated = change(current)
            if updated is not current:
                self._agents[agent_id] = updated
            return updated

    def touch_agent(self, project_id: str, agent_id: str, moment: datetime) -> None:
        agent = self._agents.get(agent_id)  # a read needs no lock: dict reads are atomic
        if (
            agent is None
            or agent.project_id != project_id
            or not needs_heard_update(agent.last_heard, moment)
        ):
            return
        with self._lock:
            agent = self._agents.get(agent_id)
            if agent is not None and agent.project_id == project_id:
                self._agents[agent_id] = replace(agent, last_heard=moment)

    def agent_busy(self, project_id: str, agent_id: str) -> bool:
        with self._lock:
            logfiles = self._logfiles_of(project_id, agent_id)
            return any(logfile.state is LogFileState.STARTED for logfile in logfiles.values())

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        with self._lock:
            self._agent(project_id, agent_id)
            del self._agents[agent_id]
            del self._logfiles[agent_id]
            for token_id in [t.id for t in self._tokens.values() if t.agent_id == agent_id]:
                del self._tokens[token_id]
            self._events.drop_agent(agent_id)

    def add_logfile(self, logfile: LogFile, events: Sequence[Event] = ()) -> None:
        with self._lock:
            logfiles = self._logfiles_of(logfile.project_id, logfile.agent_id)
            self._events.add(events)  # first: it may refuse, and then nothing has changed
            logfiles[logfile.id] = logfile

    def get_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> LogFile:
        with self._lock:
            logfile = self._logfiles_of(project_id, agent_id).get(logfile_id)
        if logfile is None:
            raise logfile_not_found(agent_id, logfile_id)
        return logfile

    def list_logfiles(
        self, project_id: str, agent_id: str, limit: int, marker: str | None = None
    ) -> Page[LogFile]:
        with self._lock:
            logfiles = self._logfiles_of(project_id, agent_id)
            if marker is not None and marker not in logfiles:
                raise marker_not_found(marker)
            return _page_after(logfiles, marker, limit)

    def update_logfile(
        self,
        project_id: str,
        agent_id: str,
        logfile_id: str,
        change: LogFileChange,
        events: ChangeEvents | None = None,
        expected: LogFile | None = None,
    ) -> LogFile:
        with self._lock:
            logfiles = self._logfiles_of(project_id, agent_id)
            current = logfiles.get(logfile_id)
            if current is None:
                raise logfile_not_found(agent_id, logfile_id)
            updated = change(current)
            if updated is not current:
                emitted = events(current, updated) if events is not None else ()
                self._events.add(emitted)  # first: it may refuse, and then nothing has changed
                logfiles[logfile_id] = updated
            return updated

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None:
        with self._lock:
            logfiles = self._logfiles_of(project_id, agent_id)
            if logfiles.pop(logfile_id, None) is None:
                raise logfile_not_found(agent_id, logfile_id)

    def add_token(self, token: IssuedToken) -> None:
        with self._lock:
            if token.agent_id is not None:
                self._agent(token.project_id, token.agent_id)
            # A heap by expiry, not the issue order: the clock may have moved back between
            # two issues. Dropping costs what is dropped (entries of tokens gone are skipped).
            issued_at = token.expires - TOKEN_LIFETIME
            expiries = self._token_expiries
            while expiries and expiries[0][0] <= issued_at:
                _, token_id = heapq.heappop(expiries)
                kept = self._tokens.get(token_id)
                if kept is not None and kept.expires <= issued_at:
                    del self._tokens[token_id]
            self._tokens[token.id] = token
            heapq.heappush(expiries, (token.expires, token.id))

    def get_token(self, token_id: str) -> IssuedToken | None:
        return self._tokens.get(token_id)

    def add_events(self, events: Sequence[Event]) -> None:
        with self._lock:
            for event in events:
                if event.agent_id is not None:
                    self._agent(event.project_id, event.agent_id)
            self._events.add(events)

    def list_events(
        self, project_id: str, agent_id: str | None, query: EventQuery, since: datetime
    ) -> EventPage:
        with self._lock:
            return self._events.feed(project_id, agent_id, query, since)

    def reset(self) -> None:
        """Fresh containers swapped in under the lock; the old ones are freed by a background
        thread, so a reset answers in the same time however much the store held."""
        with self._lock:
            events = _Events()
            events.seq = self._events.seq  # numbers are never reused
            garbage = (self._agents, self._logfiles, self._tokens, self._events, self._journal)
            self._agents, self._logfiles, self._tokens = {}, {}, {}
            self._token_expiries = []
            self._events = events
            self._journal = deque()
            self._faults = []
            self._clock = REAL_TIME
            self._rows = _Rows(self._agents, self._logfiles, self._tokens, self._events)
            self.documents.clear()
        dispose((garbage, self.swap_objects()))

    # Control-plane state.

    def export_state(self, pause: Pause = no_pause) -> Snapshot:
        with self._lock:
            agents = list(self._agents.values())
            logfiles = [lf for per_agent in self._logfiles.values() for lf in per_agent.values()]
            events = list(self._events.all)
        return Snapshot(agents, logfiles, events)

    def import_state(
        self,
        agents: list[Agent],
        logfiles: list[LogFile],
        replace: bool,
        events: Sequence[Event] = (),
        pause: Pause = no_pause,
    ) -> None:
        with self._lock:
            self._events.check_room(events)  # before a replace clears anything
            import_into(self._rows, agents, logfiles, replace, events, pause)

    def agent_projects(self, agent_ids: Collection[str]) -> dict[str, str]:
        with self._lock:
            return {
                agent_id: self._agents[agent_id].project_id
                for agent_id in agent_ids
                if agent_id in self._agents
            }

    def list_all_agents(self, limit: int, marker: str | None = None) -> Page[Agent]:
        with self._lock:
            if marker is not None and marker not in self._agents:
                raise any_agent_marker_not_found(marker)
            return _page_after(self._agents, marker, limit)

    def count_states(
        self, project_id: str | None = None, agent_id: str | None = None
    ) -> dict[LogFileState, int]:
        """A walk of the counted log files under the lock (about 10 ms per 100k)."""
        tally: Counter[LogFileState] = Counter()
        with self._lock:
            if agent_id is not None:
                if project_id is None:
                    raise ValueError("an agent is counted within its project")
                groups: Iterable[dict[str, LogFile]] = [self._logfiles_of(project_id, agent_id)]
            elif project_id is not None:
                groups = [self._logfiles[a.id] for a in self._agents.values() if a.project_id == project_id]
            else:
                groups = self._logfiles.values()
            for group in groups:
                tally.update(logfile.state for logfile in group.values())
        counts = no_states()
        counts.update(tally)
        return counts

    def record_request(self, entry: JournalEntry, capacity: int) -> None:
        with self._lock:
            self._journal_seq += 1
            self._journal.append((self._journal_seq, entry))
            while len(self._journal) > capacity:
                self._journal.popleft()

    def list_requests(self, after: int = 0, limit: int | None = None) -> list[JournalEntry]:
        """The kept entries hold consecutive numbers, so the first one wanted is found by
        arithmetic, and the newest few are read from the right without walking the rest."""
        with self._lock:
            journal = self._journal
            skip = 0 if not journal else min(len(journal), max(0, after + 1 - journal[0][0]))
            wanted = len(journal) - skip if limit is None else min(len(journal) - skip, limit)
            if skip > len(journal) // 2:
                numbered = list(itertools.islice(reversed(journal), len(journal) - skip))[::-1][:wanted]
            else:
                numbered = list(itertools.islice(journal, skip, skip + wanted))
        # The number is put in on the way out, to keep the per-request write cheap.
        return [replace(entry, seq=seq) for seq, entry in numbered]

    def last_request_seq(self) -> int:
        with self._lock:
            return self._journal_seq

    def clear_requests(self) -> None:
        with self._lock:
            self._journal.clear()

    def add_fault(self, rule: FaultRule) -> None:
        with self._lock:
            self._faults.append(rule)

    def list_faults(self) -> list[FaultRule]:
        with self._lock:
            return list(self._faults)

    def delete_fault(self, fault_id: str) -> None:
        with self._lock:
            kept = [rule for rule in self._faults if rule.id != fault_id]
            if len(kept) == len(self._faults):
                raise fault_not_found(fault_id)
            self._faults = kept

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def trigger_fault(self, method: str, path: str, headers: HeaderSource) -> FaultRule | None:
        if not self._faults:  # the common case needs no lock
            return None
        with self._lock:
            self._faults, fired = first_firing(self._faults, method, path, headers)
        return fired

    def get_clock(self) -> ClockSetting:
        return self._clock

    def set_clock(self, setting: ClockSetting) -> None:
        self._clock = setting

    def health(self) -> None:
        """Always healthy: nothing outside the process can take the dicts away."""

    def release(self) -> None:
        """Nothing is kept between calls."""

    def close(self) -> None:
        """Nothing to release."""
