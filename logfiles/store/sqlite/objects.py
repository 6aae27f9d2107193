"""The SQLite store's object store: metadata in the database, bytes in files beside it.

Each upload is written to a file of its own (`<uuid>.part`, renamed `<uuid>` once whole) in
`<database>.objects/`, and published by the one transaction that points the object's row at
it; the row's former file is removed after the commit. So every worker and every restart sees
the same objects, a reader sees one whole file or another, and a worker killed mid-upload
leaves a stray file, never a partial object: stray files are swept once they are an hour
old (a younger one may be an upload in progress in another worker).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import BinaryIO

from ...errors import Unavailable
from ...objects import (
    ListingQuery,
    ObjectInfo,
    Upload,
    container_not_found,
    object_not_found,
)
from ..rules import always_exists, containers_to_record
from ..sqlrows import time_text, time_value
from .connection import RETRY_AFTER_SECONDS, Connections

STRAY_AGE_SECONDS = 3600.0
_COLUMNS = "project_id, container, name, bytes, hash, content_type, last_modified"
_OPEN_ATTEMPTS = 5  # a file replaced between reading its row and opening it: read the row again


def _info(row: Sequence[object]) -> ObjectInfo:
    project_id, container, name, size, digest, content_type, modified = row
    return ObjectInfo(
        str(project_id),
        str(container),
        str(name),
        int(str(size)),
        str(digest),
        str(content_type),
        time_value(str(modified)),
    )


def _disk_failure(exc: OSError) -> Unavailable:
    return Unavailable(
        "The storage is not available.",
        [f"storage: the object files cannot be written or read ({exc.strerror or exc})"],
        RETRY_AFTER_SECONDS,
    )


@contextlib.contextmanager
def _disk() -> Iterator[None]:
    """A failing disk (full, read-only, removed) is a 503 the client may retry, as SQLite's are."""
    try:
        yield
    except OSError as exc:
        raise _disk_failure(exc) from exc


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


class SqliteObjects:
    """Mixed into SqliteStore, whose guard turns SQLite failures into 503s here too."""

    _db: Connections
    path: str

    @property
    def objects_dir(self) -> str:
        return f"{self.path}.objects"

    def _blob(self, blob: str) -> str:
        return os.path.join(self.objects_dir, blob)

    def _has_container(self, db: sqlite3.Connection, project_id: str, container: str) -> bool:
        if always_exists(container):
            return True
        found = db.execute(
            "SELECT 1 FROM containers WHERE project_id = ? AND name = ?", (project_id, container)
        ).fetchone()
        return found is not None

    def create_container(self, project_id: str, container: str) -> bool:
        if always_exists(container):
            return False
        with self._db.write() as db:
            if self._has_container(db, project_id, container):
                return False
            db.execute("INSERT INTO containers (project_id, name) VALUES (?, ?)", (project_id, container))
        return True

    def container_exists(self, project_id: str, container: str) -> bool:
        with self._db.read() as db:
            return self._has_container(db, project_id, container)

    def container_usage(self, project_id: str, container: str) -> tuple[int, int]:
        with self._db.read() as db:
            if not self._has_container(db, project_id, container):
                raise container_not_found(container)
            count, used = db.execute(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM objects"
                " WHERE project_id = ? AND container = ?",
                (project_id, container),
            ).fetchone()
        return int(count), int(used)

    def put_object(
        self, project_id: str, container: str, name: str, content_type: str, upload: Upload, now: datetime
    ) -> ObjectInfo:
        if not self.container_exists(project_id, container):
            raise container_not_found(container)  # before reading a byte, as Swift
        blob = self._write_aside(upload)
        info = ObjectInfo(project_id, container, name, upload.size, upload.digest, content_type, now)
        try:
            with self._db.write() as db:
                if not self._has_container(db, project_id, container):  # a reset meanwhile
                    raise container_not_found(container)
                old = db.execute(
                    "SELECT blob FROM objects WHERE project_id = ? AND container = ? AND name = ?",
                    (project_id, container, name),
                ).fetchone()
                db.execute(
                    f"INSERT OR REPLACE INTO objects ({_COLUMNS}, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        project_id,
                        container,
                        name,
                        info.bytes,
                        info.hash,
                        content_type,
                        time_text(now),
                        blob,
                    ),
                )
        except BaseException:
            _remove(self._blob(blob))
            raise
        if old is not None:
            _remove(self._blob(old[0]))
        return info

    def _write_aside(self, upload: Upload) -> str:
        """Write the upload to a file of its own; its name once whole and checked, else nothing."""
        blob = uuid.uuid4().hex
        part = self._blob(blob + ".part")
        try:
            with _disk():
                os.makedirs(self.objects_dir, exist_ok=True)
                handle = open(part, "wb")  # noqa: SIM115 - closed below, reads and writes told apart
            try:
                # Only the writes are the disk's: an error from the upload (a client gone, too
                # large) is the upload's own, not a 503.
                for chunk in upload.chunks():
                    with _disk():
                        handle.write(chunk)
                # close() flushes what the buffer still holds: on a full disk it fails too.
                with _disk():
                    handle.close()
            finally:
                # After a failure the buffer may still hold bytes a full disk refuses again:
                # that second failure must not replace the first (a 503, or the upload's own).
                with contextlib.suppress(OSError):
                    handle.close()
            upload.finish()
            with _disk():
                os.rename(part, self._blob(blob))
        except BaseException:
            _remove(part)
            raise
        return blob

    def _row(
        self, db: sqlite3.Connection, project_id: str, container: str, name: str
    ) -> tuple[ObjectInfo, str]:
        if not self._has_container(db, project_id, container):
            raise container_not_found(container)
        row = db.execute(
            f"SELECT {_COLUMNS}, blob FROM objects WHERE project_id = ? AND container = ? AND name = ?",
            (project_id, container, name),
        ).fetchone()
        if row is None:
            raise object_not_found(container, name)
        return _info(row[:7]), str(row[7])

    def get_object(self, project_id: str, container: str, name: str) -> ObjectInfo:
        with self._db.read() as db:
            return self._row(db, project_id, container, name)[0]

    def open_object(self, project_id: str, container: str, name: str) -> tuple[ObjectInfo, BinaryIO]:
        for _ in range(_OPEN_ATTEMPTS):
            with self._db.read() as db:
                info, blob = self._row(db, project_id, container, name)
            try:
                # Once open, the file stays readable even if a newer upload removes its name.
                return info, open(self._blob(blob), "rb")
            except FileNotFoundError:
                continue  # replaced between the read and the open: read the row again
            except OSError as exc:
                raise _disk_failure(exc) from exc
        raise Unavailable(
            "The object is being replaced too often to be read.",
            ["object: replaced while it was opened, several times over"],
            RETRY_AFTER_SECONDS,
        )

    def delete_object(self, project_id: str, container: str, name: str) -> None:
        with self._db.write() as db:
            _, blob = self._row(db, project_id, container, name)
            db.execute(
                "DELETE FROM objects WHERE project_id = ? AND container = ? AND name = ?",
                (project_id, container, name),
            )
        _remove(self._blob(blob))

    def list_objects(self, project_id: str, container: str, query: ListingQuery) -> list[ObjectInfo]:
        with self._db.read() as db:
            if not self._has_container(db, project_id, container):
                raise container_not_found(container)
            # Names compare by code point in Python and by UTF-8 bytes in SQLite (BINARY):
            # the same order. The prefix is matched in Python: LIKE would treat % and _ specially.
            found = db.execute(
                f"SELECT {_COLUMNS} FROM objects WHERE project_id = ? AND container = ? AND name > ?"
                " AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?",
                (project_id, container, query.marker, len(query.prefix), query.prefix, query.limit),
            ).fetchall()
        return [_info(row) for row in found]

    def export_objects(self) -> list[ObjectInfo]:
        with self._db.read() as db:
            found = db.execute(
                f"SELECT {_COLUMNS} FROM objects ORDER BY project_id, container, name"
            ).fetchall()
        return [_info(row) for row in found]

    def check_seed_room(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        """No quota of its own: the bytes are on disk, whose end is a 503 (LOGFILES_MAX_STORED_BYTES
        is the memory store's)."""

    def seed_objects(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        written: list[str] = []
        try:
            for _, data in objects:
                upload = Upload([data], len(data), None)
                written.append(self._write_aside(upload))
            with self._db.write() as db:
                db.executemany(
                    "INSERT OR IGNORE INTO containers (project_id, name) VALUES (?, ?)",
                    containers_to_record(info for info, _ in objects),
                )
                old = []
                for (info, _), blob in zip(objects, written, strict=True):
                    old += db.execute(
                        "SELECT blob FROM objects WHERE project_id = ? AND container = ? AND name = ?",
                        (info.project_id, info.container, info.name),
                    ).fetchall()
                    db.execute(
                        f"INSERT OR REPLACE INTO objects ({_COLUMNS}, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            info.project_id,
                            info.container,
                            info.name,
                            info.bytes,
                            info.hash,
                            info.content_type,
                            time_text(info.last_modified),
                            blob,
                        ),
                    )
        except BaseException:
            for blob in written:
                _remove(self._blob(blob))
            raise
        for (blob,) in old:
            _remove(self._blob(blob))

    def _remove_blobs(self, blobs: Sequence[str]) -> None:
        """Remove the files of rows a committed reset deleted."""
        for blob in blobs:
            _remove(self._blob(blob))

    def sweep_objects(self, now: float | None = None) -> int:
        """Remove stray files an hour old: parts of uploads cut off, files no row names."""
        moment = time.time() if now is None else now
        try:
            names = os.listdir(self.objects_dir)
        except OSError:
            return 0
        with self._db.read() as db:
            named = {row[0] for row in db.execute("SELECT blob FROM objects")}
        removed = 0
        for entry in names:
            if entry in named:
                continue
            path = self._blob(entry)
            with contextlib.suppress(OSError):
                if moment - os.stat(path).st_mtime >= STRAY_AGE_SECONDS:
                    os.remove(path)
                    removed += 1
        return removed
