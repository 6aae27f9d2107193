"""Documents: how every resource after agents and log files is kept, and how it is found (stdlib only).

A kind (configurations, backups, browse requests...) declares its name, what it belongs to and
the few fields it is found by; the store keeps its documents generically, so a new kind adds
no SQL to any store. The store's side is store/documents.py; the design is docs/storage.md.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import Conflict, Invalid, NotFound

# A kind whose parent is AGENT belongs to an agent of the project (a configuration); one whose
# parent is another kind's name belongs to a document of that kind; None: to the project.
AGENT = "agent"
# Every store keeps this many indexed fields per document (columns k1..k4 in the SQL stores).
MAX_INDEXED = 4
_RESERVED = frozenset({"kind", "project_id", "id", "parent", "version", "body", "seq"})


@dataclass(frozen=True, slots=True)
class Kind:
    """What a kind declares: its name, its parent's kind, and the fields it is found by, in slot order.

    Each indexed field is a string the store can match and sort (an id, a state, a `time_key`).
    """

    name: str
    parent: str | None = None
    indexed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or self.name == AGENT:
            raise ValueError(f"a kind needs a name other than {AGENT!r}")
        if len(self.indexed) > MAX_INDEXED:
            raise ValueError(
                f"kind {self.name}: at most {MAX_INDEXED} indexed fields, not {len(self.indexed)}"
            )
        if len(set(self.indexed)) != len(self.indexed) or _RESERVED & set(self.indexed):
            raise ValueError(f"kind {self.name}: indexed fields must be distinct and not {sorted(_RESERVED)}")

    @property
    def label(self) -> str:
        """The kind in messages: `browse_request` -> "browse request"."""
        return self.name.replace("_", " ")

    def slot(self, name: str) -> int:
        """The 0-based slot of an indexed field; ValueError (a bug in the caller) for another field."""
        try:
            return self.indexed.index(name)
        except ValueError:
            raise ValueError(
                f"kind {self.name} does not index {name!r} (it indexes {self.indexed})"
            ) from None


@dataclass(frozen=True, slots=True)
class Document:
    """One stored resource. `version` is 0 until stored, 1 once created, and one more per write."""

    kind: str
    project_id: str
    id: str
    body: Mapping[str, Any]
    parent: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)
    version: int = 0

    def slots(self, kind: Kind) -> tuple[str | None, ...]:
        """The indexed values in slot order, padded to MAX_INDEXED with None (the SQL columns)."""
        values = tuple(self.keys[name] for name in kind.indexed)
        return values + (None,) * (MAX_INDEXED - len(values))


@dataclass(frozen=True, slots=True)
class Query:
    """Documents of one kind in one project, filtered by parent and indexed fields, one page.

    `sort`: an indexed field, else creation order; ties go by creation order, so a page is
    stable. `marker`: a document id of the kind and project; the page starts past it in the
    chosen order (with `descending`, before it), as the log-file and event lists do.
    `start` (with `sort` only): the page holds only documents whose sort value is past it in
    the chosen order, or equal to it with `start_inclusive`: a merge of several kinds' pages
    by time (activities.py) places the kinds that do not hold the marker by its time.
    """

    kind: Kind
    project_id: str
    parent: str | None = None
    where: Mapping[str, str] = field(default_factory=dict)
    sort: str | None = None
    descending: bool = False
    marker: str | None = None
    limit: int = 100
    start: str | None = None
    start_inclusive: bool = False

    def __post_init__(self) -> None:
        if self.start is not None and self.sort is None:
            raise ValueError("a query's `start` bounds its sort field: give `sort` too")

    def past_start(self, value: str) -> bool:
        """Whether a sort value is within the page's `start` bound (always, without one)."""
        if self.start is None:
            return True
        if value == self.start:
            return self.start_inclusive
        return value < self.start if self.descending else value > self.start

    def slots(self) -> list[tuple[int, str]]:
        """(slot, value) of every `where` field; ValueError for a field the kind does not index."""
        return [(self.kind.slot(name), value) for name, value in self.where.items()]

    def sort_slot(self) -> int | None:
        return None if self.sort is None else self.kind.slot(self.sort)

    def matches(self, document: Document) -> bool:
        """Whether the document passes the filter (paging aside)."""
        if document.kind != self.kind.name or document.project_id != self.project_id:
            return False
        if self.parent is not None and document.parent != self.parent:
            return False
        return all(document.keys.get(name) == value for name, value in self.where.items())


@dataclass(frozen=True, slots=True)
class DocumentPage:
    """One page of documents, and whether more follow it."""

    items: list[Document]
    more: bool


@dataclass(frozen=True, slots=True)
class Written:
    """What a compare-and-set gave: `ok` and the document written (or deleted), else the
    current one, which the caller may change again and retry against its version."""

    ok: bool
    document: Document


def time_key(moment: datetime) -> str:
    """An indexed time: UTC ISO text with every microsecond, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("an indexed time must be aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_document(kind: Kind, document: Document) -> None:
    """ValueError (a bug in the kind's code, not the client's) unless the document fits its kind."""
    if document.kind != kind.name:
        raise ValueError(f"a {document.kind} document given as kind {kind.name}")
    if set(document.keys) != set(kind.indexed):
        raise ValueError(
            f"kind {kind.name} indexes {kind.indexed}, the document gives {sorted(document.keys)}"
        )
    if not all(isinstance(value, str) for value in document.keys.values()):
        raise ValueError(f"kind {kind.name}: indexed values are strings")
    if (kind.parent is None) != (document.parent is None):
        raise ValueError(f"kind {kind.name}: parent {document.parent!r} for a parent kind {kind.parent!r}")


def not_found(kind: Kind | str, document_id: str) -> NotFound:
    label = kind.label if isinstance(kind, Kind) else kind.replace("_", " ")
    return NotFound(
        f"The {label} does not exist.", [f"{label.replace(' ', '_')}_id: no {label} '{document_id}'"]
    )


def parent_not_found(kind: Kind, parent: str) -> NotFound:
    """The parent a document names is gone (or never was): as add_logfile's agent."""
    return not_found(kind.parent or "parent", parent)


def marker_not_found(kind: Kind, marker: str) -> Invalid:
    # (ours) As the other lists: an unknown marker is a bad request, not a missing resource.
    return Invalid(
        f"The marker does not name a {kind.label} of this project.",
        [f"marker: no {kind.label} '{marker}' in this project"],
    )


def id_taken(kind: Kind | str, document_id: str) -> Conflict:
    label = kind.label if isinstance(kind, Kind) else kind.replace("_", " ")
    return Conflict(f"The {label} already exists.", [f"id: {label} '{document_id}' is taken"])


def order_key(query: Query, document: Document, seq: int) -> tuple[str, int]:
    """Where a document sits in the query's order: (its sort field or "", creation number)."""
    return (document.keys[query.sort] if query.sort is not None else "", seq)


def select(query: Query, numbered: Iterable[tuple[int, Document]]) -> DocumentPage:
    """The page `query` selects from (creation number, document) pairs: the memory store's
    list, and the reference the SQL stores are tested against."""
    if query.limit < 0:
        raise ValueError(f"limit must be 0 or more, not {query.limit}")
    query.slots()
    query.sort_slot()  # undeclared fields are the caller's bug, whatever the documents
    ours = [(seq, d) for seq, d in numbered if d.kind == query.kind.name and d.project_id == query.project_id]
    keyed = sorted(
        (order_key(query, d, seq), d)
        for seq, d in ours
        if query.matches(d) and query.past_start(order_key(query, d, seq)[0])
    )
    keys = [key for key, _ in keyed]
    if query.marker is None:
        start, end = 0, len(keyed)
    else:
        found = next(((seq, d) for seq, d in ours if d.id == query.marker), None)
        if found is None:
            raise marker_not_found(query.kind, query.marker)
        mark = order_key(query, found[1], found[0])
        start, end = bisect.bisect_right(keys, mark), bisect.bisect_left(keys, mark)
    chosen = [d for _, d in reversed(keyed[:end])] if query.descending else [d for _, d in keyed[start:]]
    return DocumentPage(chosen[: query.limit], len(chosen) > query.limit)


def check_import(documents: Sequence[Document], stored: Iterable[tuple[str, str, str]]) -> None:
    """Conflict on a (kind, project, id) taken twice in the import or already stored; Invalid
    for a document that was never stored (version 0). Nothing is written before this passes."""
    seen = set(stored)
    for document in documents:
        if document.version < 1:
            raise Invalid(
                "The state document is not valid.",
                [f"documents: {document.kind} '{document.id}' has no version (at least 1)"],
            )
        key = (document.kind, document.project_id, document.id)
        if key in seen:
            raise id_taken(document.kind, document.id)
        seen.add(key)
