"""The one parametrised `store` fixture: every contract test runs on memory and on sqlite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from logfiles.store import FullStore, MemoryStore
from logfiles.store.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullStore]:
    store: FullStore = (
        MemoryStore() if request.param == "memory" else SqliteStore.open(tmp_path / "logfiles.db")
    )
    yield store
    store.close()
