"""SqliteDocuments: the document store on the SQLite store's connections (stdlib only).

Every write is one `BEGIN IMMEDIATE` transaction (connection.py), so a compare-and-set and
its events cannot interleave with any other write, in this process or another.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence

from ...documents import Document, DocumentPage, Kind, Query, Written, marker_not_found, not_found
from ...events import Event
from .. import documents as rules
from ..base import guarded
from ..sql_documents import DocumentSql
from . import rows
from .connection import Connections

SQL = DocumentSql("?")


@guarded
class SqliteDocuments:
    """Documents in the store's file, beside its agents and events."""

    def __init__(self, db: Connections) -> None:
        self._db = db

    def create(self, kind: Kind, document: Document, events: Sequence[Event] = ()) -> Document:
        with self._db.write() as db:
            return rules.create(_Rows(db), kind, document, events)

    def get(self, kind: Kind, project_id: str, document_id: str) -> Document:
        row = self._db.statement().execute(*SQL.find(kind.name, project_id, document_id)).fetchone()
        if row is None:
            raise not_found(kind, document_id)
        return SQL.document(row)

    def query(self, query: Query) -> DocumentPage:
        with self._db.read() as db:
            place = None
            if query.marker is not None:
                place = db.execute(*SQL.marker(query, query.marker)).fetchone()
                if place is None:
                    raise marker_not_found(query.kind, query.marker)
            found = db.execute(*SQL.page(query, place)).fetchall()
        items = [SQL.document(row) for row in found]
        return DocumentPage(items[: query.limit], len(items) > query.limit)

    def put(self, kind: Kind, document: Document, expected: int, events: Sequence[Event] = ()) -> Written:
        with self._db.write() as db:
            return rules.put(_Rows(db), kind, document, expected, events)

    def delete(
        self,
        kind: Kind,
        project_id: str,
        document_id: str,
        expected: int | None = None,
        events: Sequence[Event] = (),
    ) -> Written:
        with self._db.write() as db:
            return rules.delete(_Rows(db), kind, project_id, document_id, expected, events)

    def delete_matching(self, queries: Sequence[Query], events: Sequence[Event] = ()) -> int:
        with self._db.write() as db:
            return rules.delete_matching(_Rows(db), queries, events)

    def export_documents(self) -> list[Document]:
        return [SQL.document(row) for row in self._db.statement().execute(SQL.export())]

    def import_documents(self, kinds: Collection[Kind], documents: Sequence[Document], replace: bool) -> None:
        with self._db.write() as db:
            rules.import_documents(_Rows(db), kinds, documents, replace)


class _Rows:
    """One write transaction's connection as store/documents.py's rules see it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def find(self, kind: str, project_id: str, document_id: str) -> Document | None:
        row = self.db.execute(*SQL.find(kind, project_id, document_id)).fetchone()
        return None if row is None else SQL.document(row)

    def has_agent(self, project_id: str, agent_id: str) -> bool:
        row = self.db.execute(*SQL.agent_project(agent_id)).fetchone()
        return row is not None and row[0] == project_id

    def has_document(self, kind: str, project_id: str, document_id: str) -> bool:
        return self.db.execute(*SQL.has_document(kind, project_id, document_id)).fetchone() is not None

    def insert(self, kind: Kind, document: Document) -> bool:
        return self.db.execute(*SQL.insert(kind, document)).rowcount == 1

    def update(self, kind: Kind, document: Document) -> None:
        self.db.execute(*SQL.update(kind, document))

    def remove(self, kind: str, project_id: str, document_id: str) -> None:
        self.db.execute(*SQL.remove(kind, project_id, document_id))

    def remove_matching(self, query: Query) -> int:
        return self.db.execute(*SQL.remove_matching(query)).rowcount

    def add_events(self, events: Sequence[Event]) -> None:
        rows.insert_events(self.db, events)

    def stored_ids(self, keys: Collection[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        return {key for key in keys if self.has_document(*key)}

    def clear(self) -> None:
        self.db.execute("DELETE FROM documents")
