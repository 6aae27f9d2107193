"""The SQL both database stores run for documents, their placeholders and text encoding aside (stdlib only).

One table, `documents` (each store's schema.py, migration "documents"): a row per document,
the kind's indexed fields in the slots k1..k4, each slot indexed with (kind, project_id, ..,
seq) so that a filter on it or an order by it walks an index, and `seq` the creation order.
"""

# ruff: noqa: S608  (as in sqlite/ and postgres/: only column names and placeholders are formatted in)

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ..documents import MAX_INDEXED, Document, Kind, Query

COLUMNS = "kind, project_id, id, parent, version, keys, body"
_SLOTS = [f"k{n + 1}" for n in range(MAX_INDEXED)]
_Statement = tuple[str, list[Any]]


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

    def find(self, kind: str, project_id: str, document_id: str, locked: bool = False) -> _Statement:
        m = self.mark
        return (
            f"SELECT {COLUMNS} FROM documents WHERE kind = {m} AND project_id = {m} AND id = {m}"
            + (self.lock if locked else ""),
            [kind, self.text(project_id), self.text(document_id)],
        )

    def has_document(self, kind: str, project_id: str, document_id: str) -> _Statement:
        m = self.mark
        return (
            f"SELECT 1 FROM documents WHERE kind = {m} AND project_id = {m} AND id = {m}{self.share}",
            [kind, self.text(project_id), self.text(document_id)],
        )

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
        m = self.mark
        assignments = ", ".join(
            f"{column} = {m}" for column in ["parent", "version", *_SLOTS, "keys", "body"]
        )
        return (
            f"UPDATE documents SET {assignments} WHERE kind = {m} AND project_id = {m} AND id = {m}",
            [
                *self._values(kind, document),
                kind.name,
                self.text(document.project_id),
                self.text(document.id),
            ],
        )

    def remove(self, kind: str, project_id: str, document_id: str) -> _Statement:
        m = self.mark
        return (
            f"DELETE FROM documents WHERE kind = {m} AND project_id = {m} AND id = {m}",
            [kind, self.text(project_id), self.text(document_id)],
        )

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

    def remove_matching(self, query: Query) -> _Statement:
        where, parameters = self._filter(query)
        return f"DELETE FROM documents WHERE {where}", parameters

    def marker(self, query: Query, marker: str) -> _Statement:
        """The marker's place: (seq, its sort field's value) or no row."""
        m = self.mark
        slot = query.sort_slot()
        column = "NULL" if slot is None else _SLOTS[slot]
        return (
            f"SELECT seq, {column} FROM documents WHERE kind = {m} AND project_id = {m} AND id = {m}",
            [query.kind.name, self.text(query.project_id), self.text(marker)],
        )

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
        parameters.append(query.limit + 1)
        return f"SELECT {COLUMNS} FROM documents WHERE {where} ORDER BY {ordering} LIMIT {m}", parameters

    def export(self) -> str:
        return f"SELECT {COLUMNS} FROM documents ORDER BY seq"
