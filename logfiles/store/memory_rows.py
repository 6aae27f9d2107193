"""The memory store's dicts as the shared rules (rules.py) and its pages see them."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TypeVar

from ..auth import IssuedToken
from ..events import Event
from ..model import Agent, LogFile
from .base import Page
from .memory_events import MemoryEvents
from .rules import agent_not_found

_Item = TypeVar("_Item")


def page_after(items: dict[str, _Item], marker: str | None, limit: int) -> Page[_Item]:
    """Up to `limit` of `items` (in insertion order) after the key `marker`, and whether more follow."""
    keys = iter(items)
    if marker is not None:
        for key in keys:
            if key == marker:
                break
    chosen = [items[key] for key in itertools.islice(keys, limit + 1)]
    return Page(chosen[:limit], len(chosen) > limit)


class MemoryRows:
    """The store's dicts as the shared rules in rules.py see them; used under the store's lock."""

    def __init__(
        self,
        agents: dict[str, Agent],
        logfiles: dict[str, dict[str, LogFile]],
        tokens: dict[str, IssuedToken],
        events: MemoryEvents,
    ) -> None:
        # The store's own containers, never rebound: both sides see every change.
        self.agents = agents
        self.logfiles = logfiles
        self.tokens = tokens
        self.events = events

    def agent(self, project_id: str, agent_id: str) -> Agent:
        """The project's agent; NotFound for an unknown one or another project's."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.project_id != project_id:
            raise agent_not_found(project_id, agent_id)
        return agent

    def logfiles_of(self, project_id: str, agent_id: str) -> dict[str, LogFile]:
        """The project's agent's log files, by id in request order; NotFound as `agent`."""
        self.agent(project_id, agent_id)
        return self.logfiles[agent_id]

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
