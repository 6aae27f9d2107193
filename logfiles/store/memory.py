"""In-process store: dicts under one lock; for a single process (one gunicorn worker, threads)."""

from __future__ import annotations

import itertools
import threading

from ..model import Agent, LogFile
from .base import (
    LogFileChange,
    Page,
    agent_not_found,
    logfile_not_found,
    marker_not_found,
)


class MemoryStore:
    """Dicts keep insertion order, which is the request order the list must show."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._agents: dict[str, Agent] = {}
        self._logfiles: dict[str, dict[str, LogFile]] = {}

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
            self._agents[agent.id] = agent
            self._logfiles[agent.id] = {}

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

    def close(self) -> None:
        """Nothing to release."""
