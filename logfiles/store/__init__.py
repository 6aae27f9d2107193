"""Choose and open the store named by LOGFILES_STORE."""

from __future__ import annotations

from ..config import POSTGRES_SCHEMES, check_store_url
from .base import FullStore, Page, Store
from .memory import MemoryStore


def open_store(url: str) -> FullStore:
    """`memory`, `sqlite:///<path>` or `postgresql://...`; a bad URL is a ConfigError (LOGFILES_STORE)."""
    check_store_url(url)
    if url == "memory":
        return MemoryStore()
    if url.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        return PostgresStore.open(url)
    from .sqlite import SqliteStore

    return SqliteStore.open(url.removeprefix("sqlite:///"))


__all__ = ["FullStore", "MemoryStore", "Page", "Store", "open_store"]
