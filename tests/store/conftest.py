"""The one parametrised `store` fixture: every contract test runs on every store.

PostgreSQL: a migrated schema from the session's pool, emptied between tests (`pg_migrated_url`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from logfiles.store import FullStore, MemoryStore
from logfiles.store.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullStore]:
    store: FullStore
    if request.param == "memory":
        store = MemoryStore()
    elif request.param == "sqlite":
        store = SqliteStore.open(tmp_path / "logfiles.db")
    else:
        from logfiles.store.postgres import PostgresStore

        store = PostgresStore.open(request.getfixturevalue("pg_migrated_url"))
    yield store
    store.close()
