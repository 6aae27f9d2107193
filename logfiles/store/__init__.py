"""Choose and open the store named by LOGFILES_STORE."""

from __future__ import annotations

from ..config import DEFAULT_MAX_STORED_BYTES, POSTGRES_SCHEMES, check_store_url
from .base import FullStore, Page, Store
from .memory import MemoryStore


def open_store(url: str, max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES) -> FullStore:
    """`memory`, `sqlite:///<path>` or `postgresql://...`; a bad URL is a ConfigError (LOGFILES_STORE).

    `max_stored_bytes` (LOGFILES_MAX_STORED_BYTES) is the memory store's quota on object bytes;
    the database stores keep bytes on disk, bounded by the disk (full: a 503).
    """
    check_store_url(url)
    if url == "memory":
        return MemoryStore(max_stored_bytes)
    if url.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        return PostgresStore.open(url)
    from .sqlite import SqliteStore

    return SqliteStore.open(url.removeprefix("sqlite:///"))


__all__ = ["FullStore", "MemoryStore", "Page", "Store", "open_store"]
