"""The SQL both database stores run for documents, their placeholders and text encoding aside (stdlib only).

One table, `documents` (each store's schema.py, migration "documents"): a row per document,
the kind's indexed fields in the slots k1..k4, each slot indexed with (kind, project_id, ..,
seq) so that a filter on it or an order by it walks an index, and `seq` the creation order.
"""

# ruff: noqa: S608  (as in sqlite/ and postgres/: only column names and placeholders are formatted in)

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any, Generic, Protocol, TypeVar

from ..documents import MAX_INDEXED, Document, DocumentPage, Kind, Query, marker_not_found
from ..events import Event
from .documents import DocumentStore

COLUMNS = "kind, project_id, id, parent, version, keys, body"
_SLOTS = [f"k{n + 1}" for n in range(MAX_INDEXED)]
_Statement = tuple[str, list[Any]]
_T = TypeVar("_T")
_Db = TypeVar("_Db")  # the store's connections (sqlite/connection.py, postgres/connection.py)


class Cursor(Protocol):
    """What both drivers' cursors give the shared code below."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """A connection inside one transaction (sqlite3's or psycopg's)."""

    def execute(self, sql: Any, parameters: Any = ..., /) -> Cursor: ...


def _same(value: str) -> str:
    return value


class DocumentSql:
    """Statements for one database: `mark` its placeholder, `text`/`untext` how it keeps a
    string (PostgreSQL text cannot hold NUL), `lock`/`share` what a read adds to hold a row."""

    def __init__(
        self,
        mark: str,
        text: Callable[[str], str] = _same,
        untext: Callable[[str], str] = _same,
        lock: str = "",
        share: str = "",
    ) -> None:
        self.mark = mark
        self.text = text
        self.untext = untext
        self.lock = lock
        self.share = share

    def _opt(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def document(self, row: Sequence[Any]) -> Document:
        return Document(
            kind=row[0],
            project_id=self.untext(row[1]),
            id=self.untext(row[2]),
            parent=None if row[3] is None else self.untext(row[3]),
            version=int(row[4]),
            keys=json.loads(row[5]),
            body=json.loads(row[6]),
        )

    def _key(self, kind: str, project_id: str, document_id: str) -> _Statement:
        """The WHERE clause that names one document, and its parameters."""
        m = self.mark
        return f"kind = {m} AND project_id = {m} AND id = {m}", [
            kind,
            self.text(project_id),
            self.text(document_id),
        ]

    def find(self, kind: str, project_id: str, document_id: str, locked: bool = False) -> _Statement:
        where, parameters = self._key(kind, project_id, document_id)
        return f"SELECT {COLUMNS} FROM documents WHERE {where}{self.lock if locked else ''}", parameters

    def has_document(self, kind: str, project_id: str, document_id: str) -> _Statement:
        where, parameters = self._key(kind, project_id, document_id)
        return f"SELECT 1 FROM documents WHERE {where}{self.share}", parameters

    def agent_project(self, agent_id: str) -> _Statement:
        return f"SELECT project_id FROM agents WHERE id = {self.mark}{self.share}", [self.text(agent_id)]

    def _values(self, kind: Kind, document: Document) -> list[Any]:
        return [
            self._opt(document.parent),
            document.version,
            *(self._opt(value) for value in document.slots(kind)),
            json.dumps(dict(document.keys)),
            json.dumps(dict(document.body)),
        ]

    def insert(self, kind: Kind, document: Document) -> _Statement:
        columns = ", ".join(["kind, project_id, id, parent, version", *_SLOTS, "keys, body"])
        marks = ", ".join([self.mark] * (5 + MAX_INDEXED + 2))
        return (
            f"INSERT INTO documents ({columns}) VALUES ({marks})"
            " ON CONFLICT (kind, project_id, id) DO NOTHING",
            [
                kind.name,
                self.text(document.project_id),
                self.text(document.id),
                *self._values(kind, document),
            ],
        )

    def update(self, kind: Kind, document: Document) -> _Statement:
        assignments = ", ".join(
            f"{column} = {self.mark}" for column in ["parent", "version", *_SLOTS, "keys", "body"]
        )
        where, key = self._key(kind.name, document.project_id, document.id)
        return f"UPDATE documents SET {assignments} WHERE {where}", [*self._values(kind, document), *key]

    def remove(self, kind: str, project_id: str, document_id: str) -> _Statement:
        where, parameters = self._key(kind, project_id, document_id)
        return f"DELETE FROM documents WHERE {where}", parameters

    def _filter(self, query: Query) -> _Statement:
        m = self.mark
        sql = f"kind = {m} AND project_id = {m}"
        parameters: list[Any] = [query.kind.name, self.text(query.project_id)]
        if query.parent is not None:
            sql += f" AND parent = {m}"
            parameters.append(self.text(query.parent))
        for slot, value in query.slots():
            sql += f" AND {_SLOTS[slot]} = {m}"
            parameters.append(self.text(value))
        return sql, parameters

    def matching(self, query: Query) -> _Statement:
        where, parameters = self._filter(query)
        return f"SELECT {COLUMNS} FROM documents WHERE {where} ORDER BY seq{self.lock}", parameters

    def remove_matching(self, query: Query) -> _Statement:
        where, parameters = self._filter(query)
        return f"DELETE FROM documents WHERE {where}", parameters

    def marker(self, query: Query, marker: str) -> _Statement:
        """The marker's place: (seq, its sort field's value) or no row."""
        slot = query.sort_slot()
        column = "NULL" if slot is None else _SLOTS[slot]
        where, parameters = self._key(query.kind.name, query.project_id, marker)
        return f"SELECT seq, {column} FROM documents WHERE {where}", parameters

    def page(self, query: Query, place: Sequence[Any] | None) -> _Statement:
        """One page past `place` (the marker's row), one row more than the limit to tell `more`."""
        if query.limit < 0:
            raise ValueError(f"limit must be 0 or more, not {query.limit}")
        m = self.mark
        where, parameters = self._filter(query)
        slot = query.sort_slot()
        after, order = ("<", "DESC") if query.descending else (">", "ASC")
        if slot is None:
            if place is not None:
                where += f" AND seq {after} {m}"
                parameters.append(place[0])
            ordering = f"seq {order}"
        else:
            column = _SLOTS[slot]
            if place is not None:
                where += f" AND ({column}, seq) {after} ({m}, {m})"
                parameters.extend([place[1], place[0]])
            ordering = f"{column} {order}, seq {order}"
            if query.start is not None:
                bound = (after + "=") if query.start_inclusive else after
                where += f" AND {column} {bound} {m}"
                parameters.append(self.text(query.start))
        parameters.append(query.limit + 1)
        return f"SELECT {COLUMNS} FROM documents WHERE {where} ORDER BY {ordering} LIMIT {m}", parameters

    def export(self) -> str:
        return f"SELECT {COLUMNS} FROM documents ORDER BY seq"


class SqlDocumentRows:
    """One write transaction's connection as store/documents.py's rules see it, for either database."""

    def __init__(
        self, db: Connection, sql: DocumentSql, add_events: Callable[[Any, Sequence[Event]], None]
    ) -> None:
        self.db = db
        self.sql = sql
        self._add_events = add_events  # the store's rows.insert_events

    def find(self, kind: str, project_id: str, document_id: str) -> Document | None:
        row = self.db.execute(*self.sql.find(kind, project_id, document_id, locked=True)).fetchone()
        return None if row is None else self.sql.document(row)

    def has_agent(self, project_id: str, agent_id: str) -> bool:
        row = self.db.execute(*self.sql.agent_project(agent_id)).fetchone()
        return row is not None and self.sql.untext(row[0]) == project_id

    def has_document(self, kind: str, project_id: str, document_id: str) -> bool:
        return self.db.execute(*self.sql.has_document(kind, project_id, document_id)).fetchone() is not None

    def insert(self, kind: Kind, document: Document) -> bool:
        return self.db.execute(*self.sql.insert(kind, document)).rowcount == 1

    def update(self, kind: Kind, document: Document) -> None:
        self.db.execute(*self.sql.update(kind, document))

    def remove(self, kind: str, project_id: str, document_id: str) -> None:
        self.db.execute(*self.sql.remove(kind, project_id, document_id))

    def matching(self, query: Query) -> list[Document]:
        return [self.sql.document(row) for row in self.db.execute(*self.sql.matching(query)).fetchall()]

    def remove_matching(self, query: Query) -> int:
        return self.db.execute(*self.sql.remove_matching(query)).rowcount

    def add_events(self, events: Sequence[Event]) -> None:
        self._add_events(self.db, events)

    def stored_ids(self, keys: Collection[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        return {key for key in keys if self.has_document(*key)}

    def clear(self) -> None:
        self.db.execute("DELETE FROM documents")


class SqlDocuments(DocumentStore, Generic[_Db]):
    """The reads both database stores run alike; each supplies `_read` (and `_write`)."""

    SQL: DocumentSql

    def __init__(self, db: _Db) -> None:
        self._db = db

    def _read(self, step: Callable[[Connection], _T]) -> _T:
        """`step` inside one read-only snapshot."""
        raise NotImplementedError

    def query(self, query: Query) -> DocumentPage:
        def run(db: Connection) -> list[Any]:
            place = None
            if query.marker is not None:
                place = db.execute(*self.SQL.marker(query, query.marker)).fetchone()
                if place is None:
                    raise marker_not_found(query.kind, query.marker)
            return db.execute(*self.SQL.page(query, place)).fetchall()

        items = [self.SQL.document(row) for row in self._read(run)]
        return DocumentPage(items[: query.limit], len(items) > query.limit)
