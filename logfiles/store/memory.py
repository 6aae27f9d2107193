"""In-process store: dicts under one lock; for a single process (one gunicorn worker, threads)."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import replace

from ..clock import REAL_TIME, ClockSetting
from ..faults import FaultRule, HeaderSource, first_firing
from ..journal import JournalEntry
from ..model import Agent, LogFile
from .base import (
    LogFileChange,
    Page,
    add_agent,
    agent_not_found,
    fault_not_found,
    import_into,
    logfile_not_found,
    marker_not_found,
)


class _Rows:
    """The store's dicts as the shared rules in base.py see them; used under the store's lock."""

    def __init__(self, agents: dict[str, Agent], logfiles: dict[str, dict[str, LogFile]]) -> None:
        # The store's own dicts, never rebound: both sides see every change.
        self.agents = agents
        self.logfiles = logfiles

    def put_agent(self, agent: Agent) -> None:
        self.agents[agent.id] = agent
        self.logfiles.setdefault(agent.id, {})

    def drop_logfiles(self, agent_id: str) -> None:
        # Assigned in place, so the agent's group keeps its place in the export order.
        if agent_id in self.logfiles:
            self.logfiles[agent_id] = {}

    def stored_agents(self, agent_ids: set[str]) -> set[str]:
        return {agent_id for agent_id in agent_ids if agent_id in self.agents}

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

    def put_logfiles(self, logfiles: Sequence[LogFile]) -> None:
        per_agent = self.logfiles
        for logfile in logfiles:
            per_agent[logfile.agent_id][logfile.id] = logfile


class MemoryStore:
    """Dicts keep insertion order, which is the request order the list must show."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._agents: dict[str, Agent] = {}
        self._logfiles: dict[str, dict[str, LogFile]] = {}
        self._journal: deque[tuple[int, JournalEntry]] = deque()
        self._journal_seq = 0
        self._faults: list[FaultRule] = []
        self._clock = REAL_TIME
        self._rows = _Rows(self._agents, self._logfiles)

    def _agent(self, project_id: str, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None or agent.project_id != project_id:
            raise agent_not_found(project_id, agent_id)
        return agent

    def _logfiles_of(self, project_id: str, agent_id: str) -> dict[str, LogFile]:
        self._agent(project_id, agent_id)
        return self._logfiles[agent_id]

    def add_agent(self, agent: Agent) -> None:
        with self._lock:
            add_agent(self._rows, agent)

    def get_agent(self, project_id: str, agent_id: str) -> Agent:
        with self._lock:
            return self._agent(project_id, agent_id)

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        with self._lock:
            self._agent(project_id, agent_id)
            del self._agents[agent_id]
            del self._logfiles[agent_id]

    def add_logfile(self, logfile: LogFile) -> None:
        with self._lock:
            self._logfiles_of(logfile.project_id, logfile.agent_id)[logfile.id] = logfile

    def get_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> LogFile:
        with self._lock:
            logfile = self._logfiles_of(project_id, agent_id).get(logfile_id)
        if logfile is None:
            raise logfile_not_found(agent_id, logfile_id)
        return logfile

    def list_logfiles(self, project_id: str, agent_id: str, limit: int, marker: str | None = None) -> Page:
        with self._lock:
            logfiles = self._logfiles_of(project_id, agent_id)
            if marker is not None and marker not in logfiles:
                raise marker_not_found(marker)
            values = iter(logfiles.values())
            if marker is not None:
                for logfile in values:
                    if logfile.id == marker:
                        break
            items = list(itertools.islice(values, limit + 1))
        return Page(items[:limit], len(items) > limit)

    def update_logfile(
        self, project_id: str, agent_id: str, logfile_id: str, change: LogFileChange
    ) -> LogFile:
        with self._lock:
            logfiles = self._logfiles_of(project_id, agent_id)
            current = logfiles.get(logfile_id)
            if current is None:
                raise logfile_not_found(agent_id, logfile_id)
            updated = change(current)
            if updated is not current:
                logfiles[logfile_id] = updated
            return updated

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None:
        with self._lock:
            logfiles = self._logfiles_of(project_id, agent_id)
            if logfiles.pop(logfile_id, None) is None:
                raise logfile_not_found(agent_id, logfile_id)

    def reset(self) -> None:
        with self._lock:
            self._agents.clear()
            self._logfiles.clear()
            self._journal.clear()
            self._faults.clear()
            self._clock = REAL_TIME

    # Control-plane state.

    def export_state(self) -> tuple[list[Agent], list[LogFile]]:
        with self._lock:
            agents = list(self._agents.values())
            logfiles = [lf for per_agent in self._logfiles.values() for lf in per_agent.values()]
        return agents, logfiles

    def import_state(self, agents: list[Agent], logfiles: list[LogFile], replace: bool) -> None:
        with self._lock:
            import_into(self._rows, agents, logfiles, replace)

    def agent_projects(self, agent_ids: Collection[str]) -> dict[str, str]:
        with self._lock:
            return {
                agent_id: self._agents[agent_id].project_id
                for agent_id in agent_ids
                if agent_id in self._agents
            }

    def record_request(self, entry: JournalEntry, capacity: int) -> None:
        with self._lock:
            self._journal_seq += 1
            self._journal.append((self._journal_seq, entry))
            while len(self._journal) > capacity:
                self._journal.popleft()

    def list_requests(self) -> list[JournalEntry]:
        with self._lock:
            numbered = list(self._journal)
        # The number is put in on the way out, to keep the per-request write cheap.
        return [replace(entry, seq=seq) for seq, entry in numbered]

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

    def close(self) -> None:
        """Nothing to release."""
