"""The memory store's control-plane state: import and export, the dashboard's reads, the
journal, fault rules, the clock. Mixed into MemoryStore, under its lock."""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from collections.abc import Collection, Iterable
from dataclasses import replace

from ..clock import ClockSetting
from ..faults import FaultRule, HeaderSource, first_firing
from ..journal import JournalEntry
from ..model import Agent, LogFile, LogFileState
from ..pacing import Pause, no_pause
from .base import Import, Page, Snapshot
from .documents import checked_state_documents
from .memory_documents import MemoryDocuments
from .memory_events import MemoryEvents
from .memory_rows import MemoryRows, page_after
from .rules import any_agent_marker_not_found, fault_not_found, import_into, no_states


class MemoryControl:
    """The control state in the store's own dicts and deques; MemoryStore holds them."""

    _lock: threading.Lock
    _agents: dict[str, Agent]
    _logfiles: dict[str, dict[str, LogFile]]
    _events: MemoryEvents
    _rows: MemoryRows
    _journal: deque[tuple[int, JournalEntry]]
    _journal_seq: int
    _faults: list[FaultRule]
    _clock: ClockSetting
    documents: MemoryDocuments

    def export_state(self, pause: Pause = no_pause) -> Snapshot:
        with self._lock:
            agents = list(self._agents.values())
            logfiles = [lf for per_agent in self._logfiles.values() for lf in per_agent.values()]
            events = list(self._events.all)
            documents = self.documents.exported()
        return Snapshot(agents, logfiles, events, documents)

    def _import_state(self, request: Import) -> None:
        with self._lock:
            self._events.check_room(request.events)  # before a replace clears anything
            write_documents = checked_state_documents(self.documents.rows, request)
            import_into(self._rows, request)
            write_documents()

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
            return page_after(self._agents, marker, limit)

    def count_states(
        self, project_id: str | None = None, agent_id: str | None = None
    ) -> dict[LogFileState, int]:
        """A walk of the counted log files under the lock (about 10 ms per 100k)."""
        tally: Counter[LogFileState] = Counter()
        with self._lock:
            if agent_id is not None:
                if project_id is None:
                    raise ValueError("an agent is counted within its project")
                groups: Iterable[dict[str, LogFile]] = [self._rows.logfiles_of(project_id, agent_id)]
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
