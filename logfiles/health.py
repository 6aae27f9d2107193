"""The health pages' report: which dependent systems are online, under the pages' keys (no Flask).

The pages report Cloud Backup's own parts: `storage.cassandra` (its database) and
`transport.pecan` (its web layer). The stub reports its own parts under those keys, so a client
written from the pages finds them where it looks:

- `storage.cassandra`: the store (memory, SQLite or PostgreSQL), online when its `health()`
  passes, which is what /healthz asks;
- `storage.swift`: the object store (a Cloud Files subset, kept with the store), online when the
  store is and a listing of the project's `CloudBackupLogs` container can be read;
- `transport.pecan`: this web process, online while it answers, `node` its host name.

A system is offline when its probe raises `Unavailable` (how every store reports a failure of
its storage); any other exception is a bug and stays one. The pages' `event.rse` (an event
system apart from the database) has no counterpart: the stub keeps its events in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import NotFound, Unavailable

STORE = "cassandra"
OBJECT_STORE = "swift"
TRANSPORT = "pecan"
# Each dependent system's group in the report, in the report's order.
GROUPS: Mapping[str, str] = {STORE: "storage", OBJECT_STORE: "storage", TRANSPORT: "transport"}
SYSTEMS: tuple[str, ...] = tuple(GROUPS)
# An unknown `dependent_system` is echoed in the 404 at most this long.
MAX_SHOWN_NAME = 64


@dataclass(frozen=True, slots=True)
class Status:
    """One system's state: online or not, why not (for the log), and its extra members."""

    name: str
    online: bool
    problems: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


Probe = Callable[[], object]


def probe(name: str, check: Probe, **extra: Any) -> Status:
    """Run `check`; the system is offline if it raises Unavailable (its errors say why)."""
    try:
        check()
    except Unavailable as exc:
        return Status(name, False, tuple(exc.errors), extra)
    return Status(name, True, (), extra)


def after(first: Status, name: str, check: Probe) -> Status:
    """A system that stands on `first` (the object store on the store): offline with it, else probed."""
    if not first.online:
        return Status(name, False, first.problems)
    return probe(name, check)


def entry(status: Status, self_url: str) -> dict[str, Any]:
    """A system as the pages show it: `online`, its extra members (`node`), `links` (`self`)."""
    return {"online": status.online, **status.extra, "links": [{"href": self_url, "rel": "self"}]}


def report(statuses: list[Status], url_of: Callable[[str], str]) -> dict[str, Any]:
    """The whole report, grouped as the page's example: `{"storage": {"cassandra": {...}}, ...}`."""
    body: dict[str, dict[str, Any]] = {}
    for status in statuses:
        body.setdefault(GROUPS[status.name], {})[status.name] = entry(status, url_of(status.name))
    return body


def http_status(statuses: list[Status]) -> int:
    """The pages: 200, or 503 if *any* dependent system has an issue."""
    return 200 if all(s.online for s in statuses) else 503


def require_known(name: str) -> None:
    """NotFound, naming the known ones, unless `name` is a dependent system's id."""
    if name in GROUPS:
        return
    shown = name if len(name) <= MAX_SHOWN_NAME else name[:MAX_SHOWN_NAME] + "..."
    raise NotFound(
        "Dependent system not found.",
        [f"dependent_system: {shown!r} is none of {', '.join(SYSTEMS)}"],
    )


def problems(statuses: list[Status]) -> list[str]:
    """Why each offline system is offline, one line each (the log's, not the answer's)."""
    return [f"{s.name}: {'; '.join(s.problems) or 'offline'}" for s in statuses if not s.online]
