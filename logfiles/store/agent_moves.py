"""Several agents changed at once, with documents moved between them: the rule every store
runs inside one of its write transactions (or under its lock), written once (model, events,
errors only). Moving a vault is its use: two agents' vaults and the backups in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from ..documents import Document, Query
from ..events import Event
from ..model import Agent
from .base import AgentsChange, DocumentMove
from .documents import DocumentRows
from .rules import agent_not_found


class LockedAgents(Protocol):
    """The store's agents inside the write: read held against other writers, written in place."""

    def locked_agent(self, project_id: str, agent_id: str) -> Agent | None:
        """The agent of the project (None: none), held until the write ends."""

    def write_agent(self, agent: Agent) -> None:
        """Overwrite the stored agent (it keeps its place)."""


def update_agents(
    agents: LockedAgents,
    rows: DocumentRows,
    project_id: str,
    agent_ids: Sequence[str],
    change: AgentsChange,
    moves: Sequence[DocumentMove],
    events: Sequence[Event],
) -> dict[str, Agent]:
    """Read (in id order, so two writers lock alike), change, check everything, then write:
    events first, documents next, agents last, so that an error leaves even the memory store
    as it was."""
    current: dict[str, Agent] = {}
    for agent_id in sorted(set(agent_ids)):
        found = agents.locked_agent(project_id, agent_id)
        if found is None:
            raise agent_not_found(project_id, agent_id)
        current[agent_id] = found
    changed = dict(change(current))
    if not set(changed) <= set(current):
        raise ValueError(f"the change gave agents it was not given: {sorted(set(changed) - set(current))}")
    moved: list[tuple[DocumentMove, Document]] = []
    for move in moves:
        if move.source not in current or move.destination not in current:
            raise ValueError("a move's agents must be among the agents changed")
        for document in rows.matching(Query(move.kind, project_id, parent=move.source)):
            after = move.change(document)
            if (after.kind, after.project_id, after.id, after.parent) != (
                document.kind,
                document.project_id,
                document.id,
                move.destination,
            ):
                raise ValueError(
                    f"a move must keep {document.kind} '{document.id}' and give it its destination"
                )
            moved.append((move, dataclasses.replace(after, version=document.version + 1)))
    for event in events:
        if event.agent_id is not None and not rows.has_agent(event.project_id, event.agent_id):
            raise agent_not_found(event.project_id, event.agent_id)
    rows.add_events(events)
    for move, document in moved:
        rows.update(move.kind, document)
    for agent_id, agent in changed.items():
        if agent is not current[agent_id]:
            agents.write_agent(agent)
    return {**current, **changed}
