"""The Store protocol, nothing SQL-shaped (model only).

The pure rules every store shares are in rules.py, the database stores' guard in guard.py;
both are re-exported here, so `from logfiles.store.base import ...` finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Generic, Protocol, TypeVar

from ..auth import IssuedToken
from ..clock import ClockSetting
from ..documents import Document, Kind
from ..events import Event, EventPage, EventQuery
from ..faults import FaultRule, HeaderSource
from ..journal import JournalEntry
from ..model import Agent, LogFile, LogFileState
from ..objects import ListingQuery, ObjectInfo, Upload
from ..pacing import Pause, no_pause
from .guard import guarded
from .rules import (
    AgentRows,
    Import,
    ImportRows,
    add_agent,
    agent_marker_not_found,
    agent_not_found,
    agent_not_in_state,
    any_agent_marker_not_found,
    check_events,
    check_import,
    fault_not_found,
    id_taken,
    import_into,
    logfile_not_found,
    marker_not_found,
    no_states,
)

if TYPE_CHECKING:  # documents.py builds on this module's errors
    from .documents import DocumentStore

LogFileChange = Callable[[LogFile], LogFile]
AgentChange = Callable[[Agent], Agent]
# A pure change of several agents at once (moving a vault), by id: those it returns are written.
AgentsChange = Callable[[Mapping[str, Agent]], Mapping[str, Agent]]
# The events a log-file change emits, from the log file before and after it (pure, like the change).
ChangeEvents = Callable[[LogFile, LogFile], Sequence[Event]]

_Item = TypeVar("_Item")


@dataclass(frozen=True, slots=True)
class DocumentMove:
    """Every document of `kind` whose parent is the agent `source` goes to `destination`:
    `change` (pure) gives it under its new parent (`parent` is `destination`)."""

    kind: Kind
    source: str
    destination: str
    change: Callable[[Document], Document]


@dataclass(frozen=True, slots=True)
class Page(Generic[_Item]):
    """One page of a list, and whether more items follow it."""

    items: list[_Item]
    more: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a state document holds: agents, log files (grouped by agent, in request
    order) and the events still kept, oldest first. Tokens are not in it: they are re-issued."""

    agents: list[Agent]
    logfiles: list[LogFile]
    events: list[Event]
    # Every document of every kind, in creation order, read in the same snapshot as the
    # agents, so that none names an agent the export does not hold.
    documents: list[Document] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LogFileUpdate:
    """One `update_logfile` call as a value, which each store's own step takes whole."""

    project_id: str
    agent_id: str
    logfile_id: str
    change: LogFileChange
    events: ChangeEvents | None = None
    expected: LogFile | None = None

    def emitted(self, before: LogFile, after: LogFile) -> Sequence[Event]:
        """The events the change from `before` to `after` emits (none without `events`)."""
        return () if self.events is None else self.events(before, after)


class LogFileUpdates(Protocol):
    """`update_logfile`, written once; a store subclasses this and supplies its own step.

    A store lists this (and `Imports`) last among its bases: a Protocol in the middle of a
    class's bases would end its `super().__init__()` chain there.
    """

    def update_logfile(
        self,
        project_id: str,
        agent_id: str,
        logfile_id: str,
        change: LogFileChange,
        events: ChangeEvents | None = None,
        expected: LogFile | None = None,
    ) -> LogFile:
        """Apply `change` to the current log file as one atomic check-and-set.

        `change` must be pure (it is `model.change_state`): a store may call it more than once.
        When it changes the log file, `events(before, after)` are kept with the change.
        `expected`: the log file as the caller just read it, a hint a store may use to try
        the change as one compare-and-set against it first (it must still check it).
        """
        return self._update_logfile(LogFileUpdate(project_id, agent_id, logfile_id, change, events, expected))

    def _update_logfile(self, update: LogFileUpdate) -> LogFile:
        """The store's own step of `update_logfile`."""


class Imports(Protocol):
    """`import_state`, written once; a store subclasses this and supplies its own step."""

    def import_state(
        self,
        agents: list[Agent],
        logfiles: list[LogFile],
        replace: bool,
        events: Sequence[Event] = (),
        pause: Pause = no_pause,
        documents: Sequence[Document] = (),
    ) -> None:
        """Add (or, with `replace`, swap in) agents, log files, events and documents at once;
        Conflict on a taken id, Invalid for a log file, event or document whose agent is in
        neither; nothing changes on an error. An event keeps its number if it has one, else
        gets a new one; a document keeps its version.

        Its cost follows the import, not the store: only the imported ids are looked up.
        """
        self._import_state(Import(agents, logfiles, replace, events, pause, documents))

    def _import_state(self, request: Import) -> None:
        """The store's own step of `import_state` (most run `rules.import_into` in a transaction)."""


class Store(LogFileUpdates, Protocol):
    """Agents, their log files, tokens and events. `get_*` raise NotFound, never return None.

    Where a call takes `events`, they are kept in the same transaction as the change, or
    not at all: an agent never misses the event of a change that happened.
    """

    @property
    def documents(self) -> DocumentStore:
        """Every other kind of resource, kept generically (docs/storage.md)."""

    def add_agent(self, agent: Agent, events: Sequence[Event] = ()) -> None: ...

    def get_agent(self, project_id: str, agent_id: str) -> Agent: ...

    def list_agents(
        self, project_id: str, limit: int, marker: str | None = None, host_machine_id: str | None = None
    ) -> Page[Agent]:
        """The project's agents in registration order, after `marker` (an agent id of the
        project) when given; with `host_machine_id`, only those whose `host.machine.id` it is."""

    def update_agent(self, project_id: str, agent_id: str, change: AgentChange) -> Agent:
        """Apply `change` (pure) to the current agent as one atomic check-and-set."""

    def update_agents(
        self,
        project_id: str,
        agent_ids: Sequence[str],
        change: AgentsChange,
        moves: Sequence[DocumentMove] = (),
        events: Sequence[Event] = (),
    ) -> dict[str, Agent]:
        """Apply `change` (pure) to the agents (by id) read locked, move the documents of
        `moves` between them and keep `events`, as one atomic write: all of it or nothing.
        NotFound (nothing written) if an agent is not in the project; what `change` raises
        is raised and nothing is written. The agents after it, by id (store/agent_moves.py)."""

    def touch_agent(self, project_id: str, agent_id: str, moment: datetime) -> None:
        """Note that the agent was heard from at `moment` (no-op for an unknown agent).

        Writes only when `model.needs_heard_update` says so: most calls are one read.
        """

    def agent_busy(self, project_id: str, agent_id: str) -> bool:
        """Whether one of the agent's log files is `started`; NotFound for an unknown agent."""

    def delete_agent(self, project_id: str, agent_id: str) -> None:
        """Remove the agent with all its log files, tokens, events and documents (of every
        kind in kinds.AGENT_KINDS: its configurations and jobs), at once."""

    def add_logfile(self, logfile: LogFile, events: Sequence[Event] = ()) -> None:
        """Add a log file; NotFound if its agent is gone by now."""

    def get_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> LogFile: ...

    def list_logfiles(
        self, project_id: str, agent_id: str, limit: int, marker: str | None = None
    ) -> Page[LogFile]:
        """Log files in request order, after `marker` (a log file id) when given."""

    def delete_logfile(self, project_id: str, agent_id: str, logfile_id: str) -> None: ...

    def add_token(self, token: IssuedToken) -> None:
        """Keep an issued token (dropping those expired before it was issued); NotFound if its
        agent is gone by now."""

    def get_token(self, token_id: str) -> IssuedToken | None:
        """The issued token, expired or not; None when there is none."""

    def add_events(self, events: Sequence[Event]) -> None:
        """Keep events, numbered in order; NotFound if an agent they name is gone by now.

        Events older than `events.EVENT_LIFETIME` before the newest kept may go at any time.
        """

    def list_events(
        self, project_id: str, agent_id: str | None, query: EventQuery, since: datetime
    ) -> EventPage:
        """A feed: the agent's events and its project's (or, with no agent, every event of the
        project) that are at least as new as `since`, as `query` selects and orders them."""

    def configuration_events(
        self, project_id: str, configuration_id: str, query: EventQuery, since: datetime
    ) -> EventPage:
        """The project's events whose details name the configuration (`configuration.id`),
        at least as new as `since`, as `query` selects and orders them."""

    def reset(self) -> None:
        """Forget everything: agents, log files, tokens, events, objects, journal, faults; the
        clock back to real time. Event numbers keep counting up."""

    def health(self) -> None:
        """Raise Unavailable when the store cannot serve (its file gone, say); else return."""

    def release(self) -> None:
        """Let go of what this thread keeps between calls (SQLite: its connection), before it
        sleeps a long while (a wait); the next call takes it again."""

    def close(self) -> None: ...


class ControlState(Imports, Protocol):
    """What the control plane keeps; in the store so that every worker sees the same."""

    def export_state(self, pause: Pause = no_pause) -> Snapshot:
        """Every agent, every log file and every event kept; `pause` between pieces (pacing.py).
        Documents are exported by `documents.export_documents`."""

    def agent_projects(self, agent_ids: Collection[str]) -> dict[str, str]:
        """The project of each of these agents that the store holds (the others are left out)."""

    def list_all_agents(self, limit: int, marker: str | None = None) -> Page[Agent]:
        """Every project's agents in registration order, after `marker` (an agent id) when given.

        The dashboard's view of the whole store; the API lists one project's (`list_agents`).
        """

    def count_states(
        self, project_id: str | None = None, agent_id: str | None = None
    ) -> dict[LogFileState, int]:
        """How many log files are in each state (every state listed, 0 included): the agent's
        (NotFound if it is not the project's), else the project's, else the whole store's.

        Costs an index scan (SQLite) or a walk of the counted log files (memory), never a
        load of them: the dashboard draws it for 100k log files at a time.
        """

    def record_request(self, entry: JournalEntry, capacity: int) -> None:
        """Append to the journal, keeping only the newest `capacity` entries."""

    def list_requests(self, after: int = 0, limit: int | None = None) -> list[JournalEntry]:
        """The entries numbered above `after`, oldest first, at most `limit` of them.

        Read by number (the key), so a look at the newest few costs the same however long
        the journal is: waiters and the dashboard's tail poll it that way.
        """

    def last_request_seq(self) -> int:
        """The newest number the journal gave an entry (cleared and trimmed ones count); 0 before any."""

    def clear_requests(self) -> None: ...

    def add_fault(self, rule: FaultRule) -> None: ...

    def list_faults(self) -> list[FaultRule]: ...

    def delete_fault(self, fault_id: str) -> None:
        """NotFound if there is no such rule."""

    def clear_faults(self) -> None: ...

    def trigger_fault(self, method: str, path: str, headers: HeaderSource) -> FaultRule | None:
        """Count the request against the rules and return the one that fires, atomically."""

    def get_clock(self) -> ClockSetting: ...

    def set_clock(self, setting: ClockSetting) -> None: ...


class ObjectStore(Protocol):
    """The object store's bytes and metadata (a Cloud Files subset), kept with the rest.

    An object is published whole or not at all: a reader sees the old bytes or the new,
    never a mix, and a refused or interrupted upload leaves the name as it was.
    """

    def create_container(self, project_id: str, container: str) -> bool:
        """Make the container; False when it exists already (CloudBackupLogs always does)."""

    def container_exists(self, project_id: str, container: str) -> bool: ...

    def container_usage(self, project_id: str, container: str) -> tuple[int, int]:
        """The container's object count and bytes used; NotFound for no such container."""

    def put_object(
        self, project_id: str, container: str, name: str, content_type: str, upload: Upload, now: datetime
    ) -> ObjectInfo:
        """Stream `upload` aside, then publish it under the name; NotFound for no such container.

        An error from the upload (too large, ETag mismatch, a client gone) stores nothing.
        """

    def get_object(self, project_id: str, container: str, name: str) -> ObjectInfo:
        """The object's metadata; NotFound (container or object)."""

    def open_object(self, project_id: str, container: str, name: str) -> tuple[ObjectInfo, BinaryIO]:
        """The metadata and a seekable stream of exactly those bytes; the caller closes it."""

    def delete_object(self, project_id: str, container: str, name: str) -> None:
        """NotFound (container or object)."""

    def list_objects(self, project_id: str, container: str, query: ListingQuery) -> list[ObjectInfo]:
        """One listing page by name; NotFound for no such container."""

    def export_objects(self) -> list[ObjectInfo]:
        """Every object of every project, without bytes (the control plane's export)."""

    def check_seed_room(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        """PayloadTooLarge (413) when seeding these would pass the store's quota, if it has one."""

    def seed_objects(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        """Store these objects (and their containers) at once, replacing any of the same name."""


class FullStore(Store, ControlState, ObjectStore, Protocol):
    """A store that also keeps the control plane's state and the object store."""


__all__ = [
    "AgentChange",
    "AgentRows",
    "ChangeEvents",
    "ControlState",
    "FullStore",
    "Import",
    "ImportRows",
    "Imports",
    "LogFileChange",
    "LogFileUpdate",
    "LogFileUpdates",
    "ObjectStore",
    "Page",
    "Snapshot",
    "Store",
    "add_agent",
    "agent_marker_not_found",
    "agent_not_found",
    "agent_not_in_state",
    "any_agent_marker_not_found",
    "check_events",
    "check_import",
    "fault_not_found",
    "guarded",
    "id_taken",
    "import_into",
    "logfile_not_found",
    "marker_not_found",
    "no_states",
]
