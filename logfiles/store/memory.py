"""In-process store: dicts under one lock; for a single process (one gunicorn worker, threads)."""

from __future__ import annotations

import heapq
import itertools
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ..auth import TOKEN_LIFETIME, IssuedToken
from ..clock import REAL_TIME
from ..config import DEFAULT_MAX_STORED_BYTES
from ..events import Event, EventPage, EventQuery
from ..faults import FaultRule
from ..journal import JournalEntry
from ..model import Agent, LogFile, LogFileState, needs_heard_update
from . import configuration_events
from .agent_moves import update_agents
from .base import (
    AgentChange,
    AgentsChange,
    DocumentMove,
    Imports,
    LogFileUpdate,
    LogFileUpdates,
    Page,
)
from .documents import remove_agent_documents
from .memory_control import MemoryControl
from .memory_documents import MemoryDocuments
from .memory_events import MemoryEvents
from .memory_objects import MemoryObjects
from .memory_rows import MemoryRows, page_after
from .rules import add_agent, agent_marker_not_found, logfile_not_found, marker_not_found

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
        if isinstance(item, MemoryEvents):
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
            if isinstance(value, (dict, list, deque, tuple, MemoryEvents)):
                stack.append(value)
            del value
            done += 1
            if done % batch == 0:
                time.sleep(0)


class MemoryStore(MemoryControl, MemoryObjects, LogFileUpdates, Imports):
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
        self._events = MemoryEvents()
        self._rows = MemoryRows(self._agents, self._logfiles, self._tokens, self._events)
        self.documents = MemoryDocuments(self._lock, lambda: self._events, self._has_agent)

    def _has_agent(self, project_id: str, agent_id: str) -> bool:
        agent = self._agents.get(agent_id)
        return agent is not None and agent.project_id == project_id

    def add_agent(self, agent: Agent, events: Sequence[Event] = ()) -> None:
        with self._lock:
            self._events.add(events)  # first: it may refuse, and then nothing has changed
            add_agent(self._rows, agent)

    def get_agent(self, project_id: str, agent_id: str) -> Agent:
        with self._lock:
            return self._rows.agent(project_id, agent_id)

    def list_agents(
        self, project_id: str, limit: int, marker: str | None = None, host_machine_id: str | None = None
    ) -> Page[Agent]:
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
            ours = (
                agent
                for agent in values
                if agent.project_id == project_id
                and (host_machine_id is None or agent.machine_id == host_machine_id)
            )
            items = list(itertools.islice(ours, limit + 1))
        return Page(items[:limit], len(items) > limit)

    def update_agent(self, project_id: str, agent_id: str, change: AgentChange) -> Agent:
        with self._lock:
            current = self._rows.agent(project_id, agent_id)
            updated = change(current)
            if updated is not current:
                self._agents[agent_id] = updated
            return updated

    def update_agents(
        self,
        project_id: str,
        agent_ids: Sequence[str],
        change: AgentsChange,
        moves: Sequence[DocumentMove] = (),
        events: Sequence[Event] = (),
    ) -> dict[str, Agent]:
        with self._lock:
            return update_agents(self, self.documents.rows, project_id, agent_ids, change, moves, events)

    def locked_agent(self, project_id: str, agent_id: str) -> Agent | None:
        """agent_moves.LockedAgents, under the store's lock (its caller holds it)."""
        agent = self._agents.get(agent_id)
        return agent if agent is not None and agent.project_id == project_id else None

    def write_agent(self, agent: Agent) -> None:
        self._agents[agent.id] = agent

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
            logfiles = self._rows.logfiles_of(project_id, agent_id)
            return any(logfile.state is LogFileState.STARTED for logfile in logfiles.values())

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        with self._lock:
            self._rows.agent(project_id, agent_id)
            remove_agent_documents(self.documents.rows, project_id, agent_id)
            del self._agents[agent_id]
            del self._logfiles[agent_id]
            for token_id in [t.id for t in self._tokens.values() if t.agent_id == agent_id]:
                del self._tokens[token_id]
            self._events.drop_agent(agent_id)

    def add_logfile(self, logfile: LogFile, events: Sequence[Event] = ()) -> None:
        with self._lock:
            logfiles = self._rows.logfiles_of(logfile.project_id, logfile.agent_id)
            self._events.add(events)  # first: it may refuse, and then nothing has changed
            logfiles[logfile.id] = logfile

    def get_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> LogFile:
        with self._lock:
            logfile = self._rows.logfiles_of(project_id, agent_id).get(logfile_id)
        if logfile is None:
            raise logfile_not_found(agent_id, logfile_id)
        return logfile

    def list_logfiles(
        self, project_id: str, agent_id: str, limit: int, marker: str | None = None
    ) -> Page[LogFile]:
        with self._lock:
            logfiles = self._rows.logfiles_of(project_id, agent_id)
            if marker is not None and marker not in logfiles:
                raise marker_not_found(marker)
            return page_after(logfiles, marker, limit)

    def _update_logfile(self, update: LogFileUpdate) -> LogFile:
        with self._lock:
            logfiles = self._rows.logfiles_of(update.project_id, update.agent_id)
            current = logfiles.get(update.logfile_id)
            if current is None:
                raise logfile_not_found(update.agent_id, update.logfile_id)
            updated = update.change(current)
            if updated is not current:
                # The events first: adding them may refuse, and then nothing has changed.
                self._events.add(update.emitted(current, updated))
                logfiles[update.logfile_id] = updated
            return updated

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None:
        with self._lock:
            logfiles = self._rows.logfiles_of(project_id, agent_id)
            if logfiles.pop(logfile_id, None) is None:
                raise logfile_not_found(agent_id, logfile_id)

    def add_token(self, token: IssuedToken) -> None:
        with self._lock:
            if token.agent_id is not None:
                self._rows.agent(token.project_id, token.agent_id)
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
                    self._rows.agent(event.project_id, event.agent_id)
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
            events = MemoryEvents()
            events.seq = self._events.seq  # numbers are never reused
            garbage = (self._agents, self._logfiles, self._tokens, self._events, self._journal)
            self._agents, self._logfiles, self._tokens = {}, {}, {}
            self._token_expiries = []
            self._events = events
            self._journal = deque()
            self._faults = []
            self._clock = REAL_TIME
            self._rows = MemoryRows(self._agents, self._logfiles, self._tokens, self._events)
            documents = self.documents.swap()
        dispose((garbage, documents, self.swap_objects()))

    def health(self) -> None:
        """Always healthy: nothing outside the process can take the dicts away."""

    def release(self) -> None:
        """Nothing is kept between calls."""

    def close(self) -> None:
        """Nothing to release."""

    def configuration_events(
        self, project_id: str, configuration_id: str, query: EventQuery, since: datetime
    ) -> EventPage:
        with self._lock:
            found = self._events.by_project.get(project_id, [])
            return configuration_events.memory_page(found, configuration_id, query, since)
