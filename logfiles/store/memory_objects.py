"""The memory store's object store: bytes in dicts, published under a lock once whole.

Every byte kept is the worker's memory, so the bytes stored plus those of uploads in progress
never pass a quota (LOGFILES_MAX_STORED_BYTES): an upload reserves its declared length before
reading a byte, a chunked one reserves each chunk before keeping it, and one that would pass
the quota is refused (413) with whatever it replaces left as it was.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import BinaryIO

from ..config import DEFAULT_MAX_STORED_BYTES
from ..objects import (
    ListingQuery,
    ObjectInfo,
    Upload,
    container_not_found,
    listing,
    object_not_found,
    store_full,
)
from .rules import always_exists

# project -> container -> object name -> (metadata, bytes)
_Containers = dict[str, dict[str, dict[str, tuple[ObjectInfo, bytes]]]]


class MemoryObjects:
    """Mixed into MemoryStore; its own lock, so that a long upload never waits on the other's."""

    def __init__(self, max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES) -> None:
        self._objects_lock = threading.Lock()
        self._containers: _Containers = {}
        self.max_stored_bytes = max_stored_bytes
        self._stored = 0  # the bytes of every object kept
        self._reserved = 0  # the bytes of uploads in progress; a reset leaves them counted

    def stored_bytes(self) -> int:
        """The bytes counted against the quota: objects kept plus uploads in progress."""
        with self._objects_lock:
            return self._stored + self._reserved

    def _reserve(self, size: int) -> None:
        """Count `size` more bytes of an upload in progress; 413 when they would pass the quota."""
        with self._objects_lock:
            if self._stored + self._reserved + size > self.max_stored_bytes:
                raise store_full(self.max_stored_bytes)
            self._reserved += size

    def _container(
        self, project_id: str, container: str, create: bool = False
    ) -> dict[str, tuple[ObjectInfo, bytes]]:
        """Under the lock: the container's objects; the log container springs up on first use."""
        projects = self._containers.setdefault(project_id, {})
        found = projects.get(container)
        if found is None:
            if not create and not self._exists(project_id, container):
                raise container_not_found(container)
            found = projects[container] = {}
        return found

    def _exists(self, project_id: str, container: str) -> bool:
        """Under the lock: whether the container exists (made, or the one that always does)."""
        return always_exists(container) or container in self._containers.get(project_id, {})

    def create_container(self, project_id: str, container: str) -> bool:
        with self._objects_lock:
            existed = self._exists(project_id, container)
            self._container(project_id, container, create=True)
            return not existed

    def container_exists(self, project_id: str, container: str) -> bool:
        with self._objects_lock:
            return self._exists(project_id, container)

    def container_usage(self, project_id: str, container: str) -> tuple[int, int]:
        with self._objects_lock:
            objects = self._container(project_id, container)
            return len(objects), sum(info.bytes for info, _ in objects.values())

    def put_object(
        self, project_id: str, container: str, name: str, content_type: str, upload: Upload, now: datetime
    ) -> ObjectInfo:
        if not self.container_exists(project_id, container):
            raise container_not_found(container)  # before reading a byte, as Swift
        reserved = 0
        try:
            if upload.length is not None:
                self._reserve(upload.length)  # before reading a byte: refused at once
                reserved = upload.length
            buffer = io.BytesIO()
            for chunk in upload.chunks():
                if upload.size > reserved:  # chunked: each chunk is counted before it is kept
                    self._reserve(upload.size - reserved)
                    reserved = upload.size
                buffer.write(chunk)
            digest = upload.finish()
            # getvalue() hands over BytesIO's own buffer when nothing else holds it: one copy.
            data = buffer.getvalue()
            del buffer
            info = ObjectInfo(project_id, container, name, len(data), digest, content_type, now)
            with self._objects_lock:
                objects = self._container(project_id, container)
                old = objects.get(name)
                objects[name] = (info, data)
                # The reservation becomes the object; the one it replaces is freed.
                self._reserved -= reserved
                reserved = 0
                self._stored += len(data) - (0 if old is None else old[0].bytes)
        finally:
            if reserved:
                with self._objects_lock:
                    self._reserved -= reserved
        return info

    def _find(self, project_id: str, container: str, name: str) -> tuple[ObjectInfo, bytes]:
        found = self._container(project_id, container).get(name)
        if found is None:
            raise object_not_found(container, name)
        return found

    def get_object(self, project_id: str, container: str, name: str) -> ObjectInfo:
        with self._objects_lock:
            return self._find(project_id, container, name)[0]

    def open_object(self, project_id: str, container: str, name: str) -> tuple[ObjectInfo, BinaryIO]:
        with self._objects_lock:
            info, data = self._find(project_id, container, name)
        return info, io.BytesIO(data)  # shares `data` until written to: no copy

    def delete_object(self, project_id: str, container: str, name: str) -> None:
        with self._objects_lock:
            info, _ = self._find(project_id, container, name)
            del self._containers[project_id][container][name]
            self._stored -= info.bytes

    def list_objects(self, project_id: str, container: str, query: ListingQuery) -> list[ObjectInfo]:
        with self._objects_lock:
            objects = [info for info, _ in self._container(project_id, container).values()]
        return listing(objects, query)

    def export_objects(self) -> list[ObjectInfo]:
        with self._objects_lock:
            return [
                info
                for containers in self._containers.values()
                for objects in containers.values()
                for info, _ in sorted(objects.values(), key=lambda item: item[0].name)
            ]

    def _seed_growth(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> int:
        """Under the lock: how many bytes the stored objects grow by once these replace theirs."""
        sizes: dict[tuple[str, str, str], int] = {}
        growth = 0
        for info, data in objects:
            key = (info.project_id, info.container, info.name)
            before = sizes.get(key)
            if before is None:
                found = self._containers.get(info.project_id, {}).get(info.container, {}).get(info.name)
                before = 0 if found is None else found[0].bytes
            growth += len(data) - before
            sizes[key] = len(data)
        return growth

    def check_seed_room(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        """413 when seeding these would pass the quota; asked before a seed changes anything."""
        with self._objects_lock:
            if self._stored + self._reserved + self._seed_growth(objects) > self.max_stored_bytes:
                raise store_full(self.max_stored_bytes)

    def seed_objects(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        with self._objects_lock:
            growth = self._seed_growth(objects)
            if self._stored + self._reserved + growth > self.max_stored_bytes:
                raise store_full(self.max_stored_bytes)
            for info, data in objects:
                self._container(info.project_id, info.container, create=True)[info.name] = (info, data)
            self._stored += growth

    def clear_objects(self) -> None:
        with self._objects_lock:
            self._containers.clear()
            self._stored = 0

    def swap_objects(self) -> _Containers:
        """Forget every object at once; the caller frees what is returned, where it likes."""
        with self._objects_lock:
            old, self._containers = self._containers, {}
            self._stored = 0
        return old
