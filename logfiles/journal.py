"""Request-journal entries and how to filter them (stdlib only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

# Headers worth keeping: what a client chose to send that a test may assert on.
RECORDED_HEADERS = ("X-Auth-Token", "Content-Type", "Content-Length", "Accept", "User-Agent")
# Where a WSGI server puts each of them in the environ.
_ENVIRON_KEYS = {
    name: name.upper().replace("-", "_")
    if name in ("Content-Type", "Content-Length")
    else "HTTP_" + name.upper().replace("-", "_")
    for name in RECORDED_HEADERS
}
MAX_RECORDED_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One /v2 request as received, and the status it got."""

    time: datetime
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: str
    status: int
    fault: str | None = None  # id of the fault rule that answered, if one did
    seq: int = 0  # order of arrival, given by the store


@dataclass(frozen=True, slots=True)
class JournalFilter:
    method: str | None = None
    path: str | None = None  # fnmatch glob
    status: int | None = None
    since: datetime | None = None

    def accepts(self, entry: JournalEntry) -> bool:
        return (
            (self.method is None or entry.method == self.method.upper())
            and (self.path is None or fnmatchcase(entry.path, self.path))
            and (self.status is None or entry.status == self.status)
            and (self.since is None or entry.time >= self.since)
        )

    def apply(self, entries: Iterable[JournalEntry]) -> list[JournalEntry]:
        return [entry for entry in entries if self.accepts(entry)]


def recorded_headers(environ: Mapping[str, object]) -> dict[str, str]:
    """The recorded headers under their usual names, read straight from the WSGI environ."""
    return {name: str(environ[key]) for name, key in _ENVIRON_KEYS.items() if key in environ}


def body_text(data: bytes) -> str:
    """The body as text for the journal: UTF-8 with replacement, cut at 64 KiB."""
    text = data[:MAX_RECORDED_BODY].decode("utf-8", errors="replace")
    return text + ("…" if len(data) > MAX_RECORDED_BODY else "")
