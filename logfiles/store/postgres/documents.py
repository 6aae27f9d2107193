"""PostgresDocuments: the document store on the PostgreSQL store's pool (psycopg 3).

A write locks only its rows: the document (`FOR UPDATE`), the parent and the agents its
events name (`FOR SHARE`, so neither goes before it commits), and the event counter row,
which numbers events in commit order (rows.insert_events). Writes to different documents
go side by side; two to one document queue on its row, and the second then reads the
first's version, so a compare-and-set never loses an update (connection.py: the retries).
An import is serial with the other structural writes (the store's advisory lock), as
import_state is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ...documents import Document, Kind, not_found
from ..base import guarded
from ..documents import DocumentRows
from ..sql_documents import Connection, DocumentSql, SqlDocumentRows, SqlDocuments
from . import rows
from .connection import Database

_T = TypeVar("_T")


def document_rows(db: Connection) -> SqlDocumentRows:
    """The rows inside a write transaction of the store's own (delete_agent, import_state)."""
    return SqlDocumentRows(db, PostgresDocuments.SQL, rows.insert_events)


@guarded
class PostgresDocuments(SqlDocuments[Database]):
    """Documents in the store's schema, beside its agents and events."""

    SQL = DocumentSql("%s", rows.enc, rows.dec, lock=" FOR UPDATE", share=" FOR SHARE")

    def _write(self, step: Callable[[DocumentRows], _T], structural: bool = False) -> _T:
        return self._db.write(lambda db: step(document_rows(db)), locked=structural)

    def _read(self, step: Callable[[Connection], _T]) -> _T:
        return self._db.read(step)

    def get(self, kind: Kind, project_id: str, document_id: str) -> Document:
        found = self._db.statement(*self.SQL.find(kind.name, project_id, document_id))
        if not found:
            raise not_found(kind, document_id)
        return self.SQL.document(found[0])

    def export_documents(self) -> list[Document]:
        return [self.SQL.document(row) for row in self._db.statement(self.SQL.export())]
