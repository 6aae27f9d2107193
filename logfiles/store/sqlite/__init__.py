"""The SQLite store: one file every worker process and thread shares (stdlib sqlite3 only).

One file per job: `connection.py` (connections, fork, the writer lock, retries; its docstring
is the one place that states the concurrency model), `schema.py` (the migrations),
`rows.py` (objects to rows and back), `store.py` (agents and log files) and `control.py`
(the control plane's state: import and export, journal, faults, clock).
"""

from __future__ import annotations

from .schema import MIGRATIONS, SCHEMA_VERSION
from .store import SqliteStore

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteStore"]
