"""The pure rules every store shares: the errors a store raises, an import's checks, the
log container that always exists. A store persists; these decide (model, errors only)."""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..documents import Document
from ..errors import Conflict, Invalid, NotFound
from ..events import Event
from ..model import Agent, LogFile, LogFileState
from ..objects import LOG_CONTAINER, ObjectInfo
from ..pacing import Pause, no_pause, paced, pieces


def agent_not_found(project_id: str, agent_id: str) -> NotFound:
    return NotFound(
        "Agent not found.",  # the update-an-agent page's 404 message, on every route
        [f"agent_id: no agent '{agent_id}' in project '{project_id}'"],
    )


def logfile_not_found(agent_id: str, logfile_id: str) -> NotFound:
    return NotFound(
        "The log file does not exist.",
        [f"logfile_id: no log file '{logfile_id}' for agent '{agent_id}'"],
    )


def marker_not_found(marker: str) -> Invalid:
    # (ours) As OpenStack lists do, an unknown marker is a bad request, not a missing resource.
    return Invalid(
        "The marker does not name a log file of this agent.",
        [f"marker: no log file '{marker}' for this agent"],
    )


def agent_marker_not_found(marker: str) -> Invalid:
    return Invalid(
        "The marker does not name an agent of this project.",
        [f"marker: no agent '{marker}' in this project"],
    )


def any_agent_marker_not_found(marker: str) -> Invalid:
    return Invalid("The marker does not name an agent.", [f"marker: no agent '{marker}'"])


def no_states() -> dict[LogFileState, int]:
    """Every state, none counted yet: a count lists the states that have no log file too."""
    return dict.fromkeys(LogFileState, 0)


def fault_not_found(fault_id: str) -> NotFound:
    return NotFound("The fault rule does not exist.", [f"fault_id: no fault rule '{fault_id}'"])


def id_taken(kind: str, item_id: str) -> Conflict:
    return Conflict(f"The state already holds this {kind} id.", [f"{kind}: id '{item_id}' is taken"])


def agent_not_in_state(agent_id: str, where: str = "logfiles") -> Invalid:
    """An imported log file (or event) whose agent is neither in the import nor in the store."""
    return Invalid("The state document is not valid.", [f"{where}: no agent '{agent_id}' in the state"])


# The rules every store shares. A store persists; these decide. Each store implements the
# row operations below inside one of its own transactions (or under its lock) and calls
# the rule from there, so the rule is written once and holds the same for every store.


class AgentRows(Protocol):
    """What a store writes for `add_agent`, inside one of its transactions."""

    def put_agent(self, agent: Agent) -> None:
        """Insert the agent, or overwrite it in place under a known id (it keeps its place)."""

    def drop_logfiles(self, agent_id: str) -> None:
        """Remove every log file of the agent, if any."""


@dataclass(frozen=True, slots=True)
class Import:
    """An import of agents, log files and events (ControlState.import_state's arguments),
    handed to a store's own step and to `import_into` as one value."""

    agents: Sequence[Agent]
    logfiles: Sequence[LogFile]
    replace: bool
    events: Sequence[Event] = ()
    pause: Pause = no_pause
    # Documents of every kind (kinds.ALL_KINDS), as exported: written in the same
    # transaction (store/documents.py: checked_state_documents).
    documents: Sequence[Document] = ()


class ImportRows(AgentRows, Protocol):
    """What a store reads and writes for `import_into`, inside one of its transactions."""

    def stored_agents(self, agent_ids: set[str]) -> Container[str]:
        """Those of `agent_ids` that the store holds."""

    def stored_logfiles(self, logfile_ids: set[str]) -> Container[str]:
        """Those of `logfile_ids` that name a log file of any agent in the store."""

    def stored_events(self, event_ids: set[int]) -> Container[int]:
        """Those of `event_ids` that number an event the store keeps."""

    def clear(self) -> None:
        """Remove every agent, log file, token and event (not the journal, faults or clock)."""

    def put_logfiles(self, logfiles: Sequence[LogFile]) -> None:
        """Insert log files with new ids, each after its agent's others."""

    def put_events(self, events: Sequence[Event]) -> None:
        """Keep events: those numbered already under their number, the others numbered in order."""


def add_agent(rows: AgentRows, agent: Agent) -> None:
    """Add an agent; one added again keeps its place but starts over without log files.

    Its log files were requested from the registration that the new one replaces.
    """
    rows.drop_logfiles(agent.id)
    rows.put_agent(agent)


def import_into(rows: ImportRows, request: Import) -> None:
    """Check the whole import first, then write it: a store whose writes cannot be rolled
    back (memory) is left untouched by a bad one, and only the imported ids are looked up.
    `pause` is called between pieces of the log files (pacing.py)."""
    agents, logfiles, replace, events, pause = (
        request.agents,
        request.logfiles,
        request.replace,
        request.events,
        request.pause,
    )
    if replace:
        stored_agents: Container[str] = frozenset()
        stored_logfiles: Container[str] = frozenset()
    else:
        named = {a.id for a in agents} | {lf.agent_id for lf in logfiles}
        named |= {e.agent_id for e in events if e.agent_id is not None}
        stored_agents = rows.stored_agents(named)
        stored_logfiles = rows.stored_logfiles({lf.id for lf in logfiles})
    check_import(agents, logfiles, stored_agents, stored_logfiles, pause)
    numbered = {e.id for e in events if e.id}
    stored_events: Container[int] = frozenset() if replace or not numbered else rows.stored_events(numbered)
    check_events(events, {a.id for a in agents}, stored_agents, stored_events)
    if replace:
        rows.clear()
    for agent in paced(agents, pause):
        rows.put_agent(agent)
    for piece in pieces(logfiles, pause):
        rows.put_logfiles(piece)
    if events:
        rows.put_events(events)


def check_events(
    events: Sequence[Event],
    imported_agents: Container[str],
    stored_agents: Container[str],
    stored: Container[int],
) -> None:
    """An imported event's number is its own (a round trip keeps it) unless taken; its agent
    must be in the import or the store."""
    seen: set[int] = set()
    for event in events:
        if event.id and (event.id in seen or event.id in stored):
            raise id_taken("event", str(event.id))
        seen.add(event.id)
        agent_id = event.agent_id
        if agent_id is not None and agent_id not in imported_agents and agent_id not in stored_agents:
            raise agent_not_in_state(agent_id, "events")


def check_import(
    agents: Sequence[Agent],
    logfiles: Sequence[LogFile],
    stored_agents: Container[str],
    stored_logfiles: Container[str],
    pause: Pause = no_pause,
) -> None:
    """Raise the first problem of an import, in document order: agents, then log files.

    `stored_*` need hold only the imported ids that the store already has. A log-file id
    is taken if any agent has it, not only the log file's own.
    """
    new_agents: set[str] = set()
    for agent in agents:
        if agent.id in new_agents or agent.id in stored_agents:
            raise id_taken("agent", agent.id)
        new_agents.add(agent.id)
    new_logfiles: set[str] = set()
    for logfile in paced(logfiles, pause):
        if logfile.id in new_logfiles or logfile.id in stored_logfiles:
            raise id_taken("logfile", logfile.id)
        if logfile.agent_id not in new_agents and logfile.agent_id not in stored_agents:
            raise agent_not_in_state(logfile.agent_id)
        new_logfiles.add(logfile.id)


# The object store's one standing container.


def always_exists(container: str) -> bool:
    """Whether the container exists in every project without being made: CloudBackupLogs,
    where agents upload their logs. No store keeps a record of it, creating it changes
    nothing (False: it exists already), and it is never missing."""
    return container == LOG_CONTAINER


def containers_to_record(objects: Iterable[ObjectInfo]) -> list[tuple[str, str]]:
    """The (project, container) pairs a store must record for these objects to have a
    container, each once, in the order first named (none for the one that always exists)."""
    named = dict.fromkeys((info.project_id, info.container) for info in objects)
    return [key for key in named if not always_exists(key[1])]
