"""Choose and open the store named by LOGFILES_STORE."""

from __future__ import annotations

from ..config import check_store_url
from .base import FullStore, Page, Store
from .memory import MemoryStore


def open_store(url: str) -> FullStore:
    """`memory` or `sqlite:///<path>`; a bad URL raises ConfigError naming LOGFILES_STORE."""
    check_store_url(url)
    if url == "memory":
        return MemoryStore()
    from .sqlite import SqliteStore

    return SqliteStore.open(url.removeprefix("sqlite:///"))


__all__ = ["FullStore", "MemoryStore", "Page", "Store", "open_store"]
