"""PostgresDocuments: the document store on the PostgreSQL store's pool (psycopg 3).

A write locks only its rows: the document (`FOR UPDATE`), the parent and the agents its
events name (`FOR SHARE`, so neither goes before it commits), and the event counter row,
which numbers events in commit order (rows.insert_events). Writes to different documents
go side by side; two to one document queue on its row, and the second then reads the
first's version, so a compare-and-set never loses an update (connection.py: the retries).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import psycopg

from ...documents import Document, DocumentPage, Kind, Query, Written, marker_not_found, not_found
from ...events import Event
from .. import documents as rules
from ..base import guarded
from ..sql_documents import DocumentSql
from . import rows
from .connection import Database

SQL = DocumentSql("%s", rows.enc, rows.dec, lock=" FOR UPDATE", share=" FOR SHARE")

_Db = psycopg.Connection[Any]


@guarded
class PostgresDocuments:
    """Documents in the store's schema, beside its agents and events."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, kind: Kind, document: Document, events: Sequence[Event] = ()) -> Document:
        return self._db.write(lambda db: rules.create(_Rows(db), kind, document, events), locked=False)

    def get(self, kind: Kind, project_id: str, document_id: str) -> Document:
        found = self._db.statement(*SQL.find(kind.name, project_id, document_id))
        if not found:
            raise not_found(kind, document_id)
        return SQL.document(found[0])

    def query(self, query: Query) -> DocumentPage:
        def run(db: _Db) -> list[tuple[Any, ...]]:
            place = None
            if query.marker is not None:
                place = db.execute(*SQL.marker(query, query.marker)).fetchone()
                if place is None:
                    raise marker_not_found(query.kind, query.marker)
            return db.execute(*SQL.page(query, place)).fetchall()

        items = [SQL.document(row) for row in self._db.read(run)]
        return DocumentPage(items[: query.limit], len(items) > query.limit)

    def put(self, kind: Kind, document: Document, expected: int, events: Sequence[Event] = ()) -> Written:
        return self._db.write(lambda db: rules.put(_Rows(db), kind, document, expected, events), locked=False)

    def delete(
        self,
        kind: Kind,
        project_id: str,
        document_id: str,
        expected: int | None = None,
        events: Sequence[Event] = (),
    ) -> Written:
        return self._db.write(
            lambda db: rules.delete(_Rows(db), kind, project_id, document_id, expected, events), locked=False
        )

    def delete_matching(self, queries: Sequence[Query], events: Sequence[Event] = ()) -> int:
        return self._db.write(lambda db: rules.delete_matching(_Rows(db), queries, events), locked=False)

    def export_documents(self) -> list[Document]:
        return [SQL.document(row) for row in self._db.statement(SQL.export())]

    def import_documents(self, kinds: Collection[Kind], documents: Sequence[Document], replace: bool) -> None:
        """Serial with the other structural writes (the store's advisory lock), as import_state."""
        self._db.write(lambda db: rules.import_documents(_Rows(db), kinds, documents, replace))


class _Rows:
    """One write transaction's connection as store/documents.py's rules see it."""

    def __init__(self, db: _Db) -> None:
        self.db = db

    def find(self, kind: str, project_id: str, document_id: str) -> Document | None:
        row = self.db.execute(*SQL.find(kind, project_id, document_id, locked=True)).fetchone()
        return None if row is None else SQL.document(row)

    def has_agent(self, project_id: str, agent_id: str) -> bool:
        row = self.db.execute(*SQL.agent_project(agent_id)).fetchone()
        return row is not None and rows.dec(row[0]) == project_id

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
