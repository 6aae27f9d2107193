"""The PostgreSQL store: one database that any number of instances on any number of hosts share.

One file per job, as the SQLite store: `connection.py` (the pool per process, transactions,
failures; its docstring states the concurrency model), `schema.py` (the migrations),
`rows.py` (objects to rows and back), `store.py` (agents and log files), `control.py` (the
control plane's state) and `objects.py` (the object store's metadata and bytes).
"""

from __future__ import annotations

from .schema import MIGRATIONS, SCHEMA_VERSION
from .store import PostgresStore

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore"]
