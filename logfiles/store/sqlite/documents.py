"""SqliteDocuments: the document store on the SQLite store's connections (stdlib only).

Every write is one `BEGIN IMMEDIATE` transaction (connection.py), so a compare-and-set and
its events cannot interleave with any other write, in this process or another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ...documents import Document, Kind, not_found
from ..base import guarded
from ..documents import DocumentRows
from ..sql_documents import Connection, DocumentSql, SqlDocumentRows, SqlDocuments
from . import rows
from .connection import Connections

_T = TypeVar("_T")


def document_rows(db: Connection) -> SqlDocumentRows:
    """The rows inside a write transaction of the store's own (delete_agent, import_state)."""
    return SqlDocumentRows(db, SqliteDocuments.SQL, rows.insert_events)


@guarded
class SqliteDocuments(SqlDocuments[Connections]):
    """Documents in the store's file, beside its agents and events."""

    SQL = DocumentSql("?")

    def _write(self, step: Callable[[DocumentRows], _T], structural: bool = False) -> _T:
        with self._db.write() as db:
            return step(document_rows(db))

    def _read(self, step: Callable[[Connection], _T]) -> _T:
        with self._db.read() as db:
            return step(db)

    def get(self, kind: Kind, project_id: str, document_id: str) -> Document:
        row = self._db.statement().execute(*self.SQL.find(kind.name, project_id, document_id)).fetchone()
        if row is None:
            raise not_found(kind, document_id)
        return self.SQL.document(row)

    def export_documents(self) -> list[Document]:
        return [self.SQL.document(row) for row in self._db.statement().execute(self.SQL.export())]
