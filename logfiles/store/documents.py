"""The document store: its protocol and the rules every store shares (model, events, errors only).

Each store implements `DocumentRows` inside one of its own transactions (or under its lock)
and the reads; the writes' rules (compare-and-set, parents, events first) are written once
here, so they hold the same on memory, SQLite and PostgreSQL. The design: docs/storage.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol, TypeVar

from ..documents import (
    AGENT,
    Document,
    DocumentPage,
    Kind,
    Query,
    Written,
    check_document,
    check_import,
    id_taken,
    not_found,
    parent_not_found,
)
from ..errors import Invalid, Unavailable
from ..events import Event
from ..kinds import AGENT_KINDS, ALL_KINDS
from .rules import Import, agent_not_found

# A pure change of a document (the kind's JSON Patch, a job's move), and the events it emits.
DocumentChange = Callable[[Document], Document]
DocumentEvents = Callable[[Document, Document], Sequence[Event]]
# How often `update` re-applies a change that lost its compare-and-set before it answers 503:
# a writer loses only to another that won, so this bounds one writer's bad luck, not progress.
UPDATE_ATTEMPTS = 1000
_T = TypeVar("_T")


class DocumentStore(Protocol):
    """Documents of every kind, with compare-and-set and events kept in the same transaction.

    Where a call takes `events`, they are numbered by the service's one event counter and
    kept with the write or not at all; NotFound, before anything changes, if one names an
    agent the project does not have. Errors leave the store as it was.

    The writes are written once, here: each runs its rule (below) through the store's own
    `_write`. A store subclasses this, listed last among its bases, and supplies the reads.
    """

    def create(self, kind: Kind, document: Document, events: Sequence[Event] = ()) -> Document:
        """Keep a new document as version 1; Conflict if its id is taken (kind and project),
        NotFound if its parent is not stored."""
        return self._write(lambda rows: create(rows, kind, document, events))

    def get(self, kind: Kind, project_id: str, document_id: str) -> Document:
        """NotFound, never None."""

    def query(self, query: Query) -> DocumentPage:
        """One page, as documents.select defines it; Invalid for an unknown marker."""

    def put(self, kind: Kind, document: Document, expected: int, events: Sequence[Event] = ()) -> Written:
        """Replace the document if its stored version is `expected` (it becomes expected + 1);
        else write nothing and answer the current one. NotFound if it is gone."""
        return self._write(lambda rows: put(rows, kind, document, expected, events))

    def delete(
        self,
        kind: Kind,
        project_id: str,
        document_id: str,
        expected: int | None = None,
        events: Sequence[Event] = (),
    ) -> Written:
        """Remove it (if at version `expected`, when given); the document removed, or the
        current one when its version differs. NotFound if it is gone."""
        return self._write(lambda rows: delete(rows, kind, project_id, document_id, expected, events))

    def delete_matching(self, queries: Sequence[Query], events: Sequence[Event] = ()) -> int:
        """Remove every document that any query's filter matches (paging ignored), at once: a
        parent's children across kinds. How many went."""
        return self._write(lambda rows: delete_matching(rows, queries, events))

    def export_documents(self) -> list[Document]:
        """Every document of every kind, in creation order."""

    def import_documents(self, kinds: Collection[Kind], documents: Sequence[Document], replace: bool) -> None:
        """Add documents as exported (their versions kept) or, with `replace`, swap them in for
        all; Conflict on a taken id, Invalid for an undeclared kind; all or nothing."""
        self._write(lambda rows: import_documents(rows, kinds, documents, replace), structural=True)

    def _write(self, step: Callable[[DocumentRows], _T], structural: bool = False) -> _T:
        """`step` on the store's rows in one write transaction (or under its lock).

        `structural` (an import): serial with the store's other structural writes, where a
        store tells them apart (PostgreSQL's advisory lock); the others lock only their rows.
        """


class DocumentRows(Protocol):
    """What a store reads and writes for the rules below, inside one of its transactions."""

    def find(self, kind: str, project_id: str, document_id: str) -> Document | None:
        """The stored document, locked against other writers until the transaction ends."""

    def has_agent(self, project_id: str, agent_id: str) -> bool:
        """Whether the project has the agent, held against a delete until the transaction ends."""

    def has_document(self, kind: str, project_id: str, document_id: str) -> bool:
        """Whether it is stored, held against a delete until the transaction ends."""

    def insert(self, kind: Kind, document: Document) -> bool:
        """Add it; False (and nothing written) if its kind, project and id are taken."""

    def update(self, kind: Kind, document: Document) -> None:
        """Overwrite the stored document of that kind, project and id (it keeps its place)."""

    def remove(self, kind: str, project_id: str, document_id: str) -> None: ...

    def matching(self, query: Query) -> list[Document]:
        """Every document the query's filter matches (paging ignored), in creation order,
        locked against other writers until the transaction ends."""

    def remove_matching(self, query: Query) -> int: ...

    def add_events(self, events: Sequence[Event]) -> None:
        """Number and keep events with the service's one counter (the store's own event code)."""

    def stored_ids(self, keys: Collection[tuple[str, str, str]]) -> Collection[tuple[str, str, str]]:
        """Those (kind, project, id) of `keys` that are stored."""

    def clear(self) -> None:
        """Remove every document."""


def _check_events(rows: DocumentRows, events: Sequence[Event]) -> None:
    checked: set[tuple[str, str]] = set()
    for event in events:
        if event.agent_id is None or (event.project_id, event.agent_id) in checked:
            continue
        if not rows.has_agent(event.project_id, event.agent_id):
            raise agent_not_found(event.project_id, event.agent_id)
        checked.add((event.project_id, event.agent_id))


def _check_parent(rows: DocumentRows, kind: Kind, document: Document) -> None:
    if kind.parent is None or document.parent is None:
        return
    if kind.parent == AGENT:
        found = rows.has_agent(document.project_id, document.parent)
    else:
        found = rows.has_document(kind.parent, document.project_id, document.parent)
    if not found:
        raise parent_not_found(kind, document.parent)


def create(rows: DocumentRows, kind: Kind, document: Document, events: Sequence[Event]) -> Document:
    """Checks first, events next (memory cannot take back what it wrote), the document last."""
    check_document(kind, document)
    _check_parent(rows, kind, document)
    _check_events(rows, events)
    stored = dataclasses.replace(document, version=1)
    if rows.find(kind.name, document.project_id, document.id) is not None:
        raise id_taken(kind, document.id)
    rows.add_events(events)
    if not rows.insert(kind, stored):  # taken meanwhile by a writer the find could not see
        raise id_taken(kind, document.id)
    return stored


def put(
    rows: DocumentRows, kind: Kind, document: Document, expected: int, events: Sequence[Event]
) -> Written:
    check_document(kind, document)
    current = rows.find(kind.name, document.project_id, document.id)
    if current is None:
        raise not_found(kind, document.id)
    if current.version != expected:
        return Written(False, current)
    if document.parent != current.parent:
        _check_parent(rows, kind, document)
    _check_events(rows, events)
    stored = dataclasses.replace(document, version=expected + 1)
    rows.add_events(events)
    rows.update(kind, stored)
    return Written(True, stored)


def delete(
    rows: DocumentRows,
    kind: Kind,
    project_id: str,
    document_id: str,
    expected: int | None,
    events: Sequence[Event],
) -> Written:
    current = rows.find(kind.name, project_id, document_id)
    if current is None:
        raise not_found(kind, document_id)
    if expected is not None and current.version != expected:
        return Written(False, current)
    _check_events(rows, events)
    rows.add_events(events)
    rows.remove(kind.name, project_id, document_id)
    return Written(True, current)


def delete_matching(rows: DocumentRows, queries: Sequence[Query], events: Sequence[Event]) -> int:
    for query in queries:  # undeclared fields are the caller's bug: raise before any write
        query.slots()
    _check_events(rows, events)
    rows.add_events(events)
    return sum(rows.remove_matching(query) for query in queries)


def import_documents(
    rows: DocumentRows, kinds: Collection[Kind], documents: Sequence[Document], replace: bool
) -> None:
    declared = check_documents_import(kinds, documents, replace, rows)
    write_documents_import(rows, declared, documents, replace)


def check_documents_import(
    kinds: Collection[Kind],
    documents: Sequence[Document],
    replace: bool,
    rows: DocumentRows | None,
    agents: Mapping[str, str] | None = None,
) -> dict[str, Kind]:
    """Every check of an import, before anything is written (memory cannot take a write
    back): declared kinds, the documents' fit, taken ids and, given `agents` (the imported
    agents' projects, by id: a state document's import), parents in the import or, when
    adding, in the store. `rows` None: an empty store (a reset's check before it resets).
    The kinds by name."""
    declared = {kind.name: kind for kind in kinds}
    for document in documents:
        kind = declared.get(document.kind)
        if kind is None:
            raise Invalid("The state document is not valid.", [f"documents: no kind '{document.kind}'"])
        try:
            check_document(kind, document)
        except ValueError as exc:
            raise Invalid("The state document is not valid.", [f"documents: {exc}"]) from None
    keys = [(d.kind, d.project_id, d.id) for d in documents]
    stored = rows if rows is not None and not replace else None
    check_import(documents, () if stored is None else stored.stored_ids(set(keys)))
    if agents is not None:
        imported = set(keys)
        for document in documents:
            _check_imported_parent(declared[document.kind], document, agents, imported, stored)
    return declared


def _check_imported_parent(
    kind: Kind,
    document: Document,
    agents: Mapping[str, str],
    imported: Collection[tuple[str, str, str]],
    stored: DocumentRows | None,
) -> None:
    parent = document.parent
    if kind.parent is None or parent is None:
        return
    if kind.parent == AGENT:
        found = agents.get(parent) == document.project_id
        found = found or (stored is not None and stored.has_agent(document.project_id, parent))
    else:
        found = (kind.parent, document.project_id, parent) in imported
        found = found or (
            stored is not None and stored.has_document(kind.parent, document.project_id, parent)
        )
    if not found:
        raise Invalid(
            "The state document is not valid.",
            [
                f"documents: {kind.label} '{document.id}' names {kind.parent.replace('_', ' ')} "
                f"'{parent}', which project '{document.project_id}' has not in the state"
            ],
        )


def write_documents_import(
    rows: DocumentRows, declared: Mapping[str, Kind], documents: Sequence[Document], replace: bool
) -> None:
    """The writes of a checked import (check_documents_import)."""
    if replace:
        rows.clear()
    for document in documents:
        if not rows.insert(declared[document.kind], document):  # pragma: no cover (checked above)
            raise id_taken(document.kind, document.id)


def checked_state_documents(rows: DocumentRows, request: Import) -> Callable[[], None]:
    """Check a state import's documents (every kind of kinds.ALL_KINDS) now, before the store
    writes anything; the call returned writes them, in the same transaction (or under the
    same lock) after the agents, so that the whole import is all or nothing."""
    agents = {agent.id: agent.project_id for agent in request.agents}
    declared = check_documents_import(ALL_KINDS, request.documents, request.replace, rows, agents)
    return lambda: write_documents_import(rows, declared, request.documents, request.replace)


def agent_queries(project_id: str, agent_id: str) -> list[Query]:
    """An agent's documents, of every kind that goes with it (kinds.AGENT_KINDS)."""
    return [Query(kind, project_id, parent=agent_id) for kind in AGENT_KINDS]


def remove_agent_documents(rows: DocumentRows, project_id: str, agent_id: str) -> int:
    """Inside the store's delete_agent, in its transaction (or under its lock): so an agent
    and its documents go at once, or neither does."""
    return delete_matching(rows, agent_queries(project_id, agent_id), ())


def update(
    store: DocumentStore,
    kind: Kind,
    project_id: str,
    document_id: str,
    change: DocumentChange,
    events: DocumentEvents | None = None,
) -> Document:
    """Read, change, compare-and-set; on a lost race re-apply `change` to what won (it must be
    pure). A change that returns its argument writes nothing (a same-value retry)."""
    current = store.get(kind, project_id, document_id)
    for _ in range(UPDATE_ATTEMPTS):
        updated = change(current)
        if updated is current:
            return current
        emitted = events(current, updated) if events is not None else ()
        written = store.put(kind, updated, current.version, emitted)
        if written.ok:
            return written.document
        current = written.document
    raise Unavailable(
        "The service's storage is busy; try again later.",
        [f"store: the {kind.label} changed under {UPDATE_ATTEMPTS} attempts in a row"],
        retry_after=1,
    )
