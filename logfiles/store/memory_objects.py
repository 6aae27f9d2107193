"""The memory store's object store: bytes in dicts, published under a lock once whole."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import BinaryIO

from ..objects import (
    LOG_CONTAINER,
    ListingQuery,
    ObjectInfo,
    Upload,
    container_not_found,
    listing,
    object_not_found,
)

# project -> container -> object name -> (metadata, bytes)
_Containers = dict[str, dict[str, dict[str, tuple[ObjectInfo, bytes]]]]


class MemoryObjects:
    """Mixed into MemoryStore; its own lock, so that a long upload never waits on the other's."""

    def __init__(self) -> None:
        self._objects_lock = threading.Lock()
        self._containers: _Containers = {}

    def _container(
        self, project_id: str, container: str, create: bool = False
    ) -> dict[str, tuple[ObjectInfo, bytes]]:
        """Under the lock: the container's objects; the log container springs up on first use."""
        projects = self._containers.setdefault(project_id, {})
        found = projects.get(container)
        if found is None:
            if not create and container != LOG_CONTAINER:
                raise container_not_found(container)
            found = projects[container] = {}
        return found

    def create_container(self, project_id: str, container: str) -> bool:
        with self._objects_lock:
            if container == LOG_CONTAINER or container in self._containers.get(project_id, {}):
                self._container(project_id, container)
                return False
            self._container(project_id, container, create=True)
            return True

    def container_exists(self, project_id: str, container: str) -> bool:
        with self._objects_lock:
            return container == LOG_CONTAINER or container in self._containers.get(project_id, {})

    def container_usage(self, project_id: str, container: str) -> tuple[int, int]:
        with self._objects_lock:
            objects = self._container(project_id, container)
            return len(objects), sum(info.bytes for info, _ in objects.values())

    def put_object(
        self, project_id: str, container: str, name: str, content_type: str, upload: Upload, now: datetime
    ) -> ObjectInfo:
        if not self.container_exists(project_id, container):
            raise container_not_found(container)  # before reading a byte, as Swift
        buffer = io.BytesIO()
        for chunk in upload.chunks():
            buffer.write(chunk)
        digest = upload.finish()
        # getvalue() hands over BytesIO's own buffer when nothing else holds it: one copy.
        data = buffer.getvalue()
        del buffer
        info = ObjectInfo(project_id, container, name, len(data), digest, content_type, now)
        with self._objects_lock:
            self._container(project_id, container)[name] = (info, data)
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
            self._find(project_id, container, name)
            del self._containers[project_id][container][name]

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

    def seed_objects(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        with self._objects_lock:
            for info, data in objects:
                self._container(info.project_id, info.container, create=True)[info.name] = (info, data)

    def clear_objects(self) -> None:
        with self._objects_lock:
            self._containers.clear()

    def swap_objects(self) -> _Containers:
        """Forget every object at once; the caller frees what is returned, where it likes."""
        with self._objects_lock:
            old, self._containers = self._containers, {}
        return old
