"""MemoryDocuments: the document store as dicts under the memory store's own lock (store/documents.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, TypeVar

from ..documents import Document, DocumentPage, Kind, Query, not_found, select
from ..events import Event
from .documents import DocumentRows, DocumentStore

_T = TypeVar("_T")
_Key = tuple[str, str]  # (kind, project_id): one group, in creation order


class EventLog(Protocol):
    """The memory store's events (memory._Events): numbered by the store's one counter."""

    def add(self, events: Sequence[Event]) -> None: ...


class MemoryDocuments(DocumentStore):
    """Documents grouped by kind and project, each with its creation number.

    Shares the store's lock and events, so a write and its events are one step for every
    reader, and the store's reset (under that lock) clears them with the rest.
    """

    def __init__(
        self, lock: Any, events: Callable[[], EventLog], has_agent: Callable[[str, str], bool]
    ) -> None:
        self._lock = lock
        self._rows = _Rows(events, has_agent)

    @property
    def rows(self) -> DocumentRows:
        """The rows, for a step of the store's own under its lock (delete_agent, import_state)."""
        return self._rows

    def swap(self) -> object:
        """Forget every document; the caller holds the store's lock (its reset) and frees what is
        returned outside it, as the store's other containers are (`dispose`)."""
        return self._rows.swap()

    def _write(self, step: Callable[[DocumentRows], _T], structural: bool = False) -> _T:
        with self._lock:
            return step(self._rows)

    def get(self, kind: Kind, project_id: str, document_id: str) -> Document:
        with self._lock:
            found = self._rows.find(kind.name, project_id, document_id)
        if found is None:
            raise not_found(kind, document_id)
        return found

    def query(self, query: Query) -> DocumentPage:
        """A walk of the kind's documents in the project: the memory store is for a test's handful."""
        with self._lock:
            group = list(self._rows.groups.get((query.kind.name, query.project_id), {}).values())
        return select(query, group)

    def export_documents(self) -> list[Document]:
        with self._lock:
            return self.exported()

    def exported(self) -> list[Document]:
        """Every document in creation order; the caller holds the store's lock."""
        numbered = [pair for group in self._rows.groups.values() for pair in group.values()]
        return [document for _, document in sorted(numbered, key=lambda pair: pair[0])]


class _Rows:
    """The dicts as store/documents.py's rules see them; used under the store's lock."""

    def __init__(self, events: Callable[[], EventLog], has_agent: Callable[[str, str], bool]) -> None:
        self.events = events  # looked up at each use: the store's reset swaps its events in
        self.has_agent = has_agent
        self.groups: dict[_Key, dict[str, tuple[int, Document]]] = {}
        self.seq = itertools.count(1)

    def clear(self) -> None:
        self.swap()

    def swap(self) -> object:
        old, self.groups = self.groups, {}
        return old

    def find(self, kind: str, project_id: str, document_id: str) -> Document | None:
        found = self.groups.get((kind, project_id), {}).get(document_id)
        return None if found is None else found[1]

    def has_document(self, kind: str, project_id: str, document_id: str) -> bool:
        return self.find(kind, project_id, document_id) is not None

    def insert(self, kind: Kind, document: Document) -> bool:
        group = self.groups.setdefault((kind.name, document.project_id), {})
        if document.id in group:
            return False
        group[document.id] = (next(self.seq), document)
        return True

    def update(self, kind: Kind, document: Document) -> None:
        group = self.groups[(kind.name, document.project_id)]
        group[document.id] = (group[document.id][0], document)

    def remove(self, kind: str, project_id: str, document_id: str) -> None:
        del self.groups[(kind, project_id)][document_id]

    def matching(self, query: Query) -> list[Document]:
        group = self.groups.get((query.kind.name, query.project_id), {})
        numbered = sorted(group.values(), key=lambda pair: pair[0])
        return [document for _, document in numbered if query.matches(document)]

    def remove_matching(self, query: Query) -> int:
        group = self.groups.get((query.kind.name, query.project_id), {})
        gone = [key for key, (_, document) in group.items() if query.matches(document)]
        for key in gone:
            del group[key]
        return len(gone)

    def add_events(self, events: Sequence[Event]) -> None:
        self.events().add(events)

    def stored_ids(self, keys: Collection[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        return {(kind, project, id_) for kind, project, id_ in keys if self.has_document(kind, project, id_)}
