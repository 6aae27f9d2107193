"""The PostgreSQL store's object store: metadata and bytes both in the database.

Every host must serve every object, so the bytes live in the database too, as 1 MiB chunks
of a blob. An upload is first read whole into a local spooled file (a slow client holds
no database connection), then one transaction writes the chunks, takes the store's lock,
points the object's row at the new blob and deletes the old one: a reader sees one whole
object or the other, a refused or cut-off upload leaves nothing, and no stray bytes need
sweeping. A download copies the chunks to a local spooled file within one snapshot, then
streams from it with the connection already given back.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, Any, BinaryIO, cast

import psycopg

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
from . import rows
from .connection import LOCK_CLASS, RETRY_AFTER_SECONDS, Database
from .rows import enc

CHUNK_BYTES = 1 << 20
SPOOL_BYTES = 1 << 20  # in memory up to this, then a temporary file
_COLUMNS = "project_id, container, name, bytes, hash, content_type, last_modified"
_Db = psycopg.Connection[Any]
_UPSERT = (
    f"INSERT INTO objects ({_COLUMNS}, blob_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (project_id, container, name) DO UPDATE SET bytes = excluded.bytes,"
    " hash = excluded.hash, content_type = excluded.content_type,"
    " last_modified = excluded.last_modified, blob_id = excluded.blob_id"
)


def _info(row: Sequence[Any]) -> ObjectInfo:
    project_id, container, name, size, digest, content_type, modified = row
    return ObjectInfo(
        rows.dec(project_id),
        str(container),
        str(name),
        int(size),
        str(digest),
        rows.dec(str(content_type)),
        time_value(str(modified)),
    )


def _spool() -> IO[bytes]:
    return cast(IO[bytes], tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))


@contextlib.contextmanager
def _disk() -> Iterator[None]:
    """A spool past 1 MiB is a local temporary file: a full or read-only temp dir is a 503 the
    client may retry, as the database's own failures are, never a 500."""
    try:
        yield
    except OSError as exc:
        raise Unavailable(
            "The storage is not available.",
            [f"storage: the local spool file cannot be written or read ({exc.strerror or exc})"],
            RETRY_AFTER_SECONDS,
        ) from exc


def _pieces(source: IO[bytes]) -> Iterator[bytes]:
    with _disk():
        source.seek(0)
    while True:
        with _disk():
            piece = source.read(CHUNK_BYTES)
        if not piece:
            return
        yield piece


class PostgresObjects:
    """Mixed into PostgresStore, whose guard turns driver failures into 503s here too."""

    _db: Database

    def _has_container(self, db: _Db, project_id: str, container: str) -> bool:
        if always_exists(container):
            return True
        found = db.execute(
            "SELECT 1 FROM containers WHERE project_id = %s AND name = %s", (enc(project_id), container)
        ).fetchone()
        return found is not None

    def _lock(self, db: _Db) -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, self._db.schema_key))

    def create_container(self, project_id: str, container: str) -> bool:
        if always_exists(container):
            return False
        found = self._db.statement(
            "INSERT INTO containers (project_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (enc(project_id), container),
        )
        return bool(found)

    def container_exists(self, project_id: str, container: str) -> bool:
        return self._db.read(lambda db: self._has_container(db, project_id, container))

    def container_usage(self, project_id: str, container: str) -> tuple[int, int]:
        def run(db: _Db) -> tuple[int, int]:
            if not self._has_container(db, project_id, container):
                raise container_not_found(container)
            row = db.execute(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM objects"
                " WHERE project_id = %s AND container = %s",
                (enc(project_id), container),
            ).fetchone()
            return (0, 0) if row is None else (int(row[0]), int(row[1]))

        return self._db.read(run)

    def put_object(
        self, project_id: str, container: str, name: str, content_type: str, upload: Upload, now: datetime
    ) -> ObjectInfo:
        if not self.container_exists(project_id, container):
            raise container_not_found(container)  # before reading a byte, as Swift
        with _spool() as spool:
            # Only the writes are the disk's: an error from the upload is the upload's own.
            for chunk in upload.chunks():
                with _disk():
                    spool.write(chunk)
            upload.finish()
            info = ObjectInfo(project_id, container, name, upload.size, upload.digest, content_type, now)
            self._db.write(lambda db: self._publish(db, [(info, spool)]), locked=False)
        return info

    def _publish(self, db: _Db, objects: Sequence[tuple[ObjectInfo, IO[bytes]]]) -> None:
        """Write each object's chunks, then (under the store's lock) point its row at them."""
        blobs = []
        for _, source in objects:
            blob_id = int(db.execute("SELECT nextval('blob_ids')").fetchall()[0][0])
            with db.cursor() as cursor:
                # A generator: one chunk in memory at a time, not the whole object.
                cursor.executemany(
                    "INSERT INTO blob_chunks (blob_id, n, data) VALUES (%s, %s, %s)",
                    ((blob_id, n, piece) for n, piece in enumerate(_pieces(source))),
                )
            blobs.append(blob_id)
        self._lock(db)
        for (info, _), blob_id in zip(objects, blobs, strict=True):
            if not self._has_container(db, info.project_id, info.container):  # a reset meanwhile
                raise container_not_found(info.container)
            old = db.execute(
                "SELECT blob_id FROM objects WHERE project_id = %s AND container = %s AND name = %s",
                (enc(info.project_id), info.container, info.name),
            ).fetchone()
            db.execute(
                _UPSERT,
                (
                    enc(info.project_id),
                    info.container,
                    info.name,
                    info.bytes,
                    info.hash,
                    enc(info.content_type),
                    time_text(info.last_modified),
                    blob_id,
                ),
            )
            if old is not None:
                db.execute("DELETE FROM blob_chunks WHERE blob_id = %s", (old[0],))

    def _row(self, db: _Db, project_id: str, container: str, name: str) -> tuple[ObjectInfo, int]:
        if not self._has_container(db, project_id, container):
            raise container_not_found(container)
        row = db.execute(
            f"SELECT {_COLUMNS}, blob_id FROM objects WHERE project_id = %s AND container = %s AND name = %s",
            (enc(project_id), container, name),
        ).fetchone()
        if row is None:
            raise object_not_found(container, name)
        return _info(row[:7]), int(row[7])

    def get_object(self, project_id: str, container: str, name: str) -> ObjectInfo:
        return self._db.read(lambda db: self._row(db, project_id, container, name)[0])

    def open_object(self, project_id: str, container: str, name: str) -> tuple[ObjectInfo, BinaryIO]:
        spool = _spool()

        def run(db: _Db) -> ObjectInfo:
            info, blob_id = self._row(db, project_id, container, name)
            with db.cursor() as cursor:
                # Row by row (libpq's single-row mode): one chunk in memory at a time.
                for (piece,) in cursor.stream(
                    "SELECT data FROM blob_chunks WHERE blob_id = %s ORDER BY n", (blob_id,)
                ):
                    with _disk():
                        spool.write(piece)
            return info

        try:
            info = self._db.read(run)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return info, cast(BinaryIO, spool)

    def delete_object(self, project_id: str, container: str, name: str) -> None:
        def run(db: _Db) -> None:
            self._lock(db)
            _, blob_id = self._row(db, project_id, container, name)
            db.execute(
                "DELETE FROM objects WHERE project_id = %s AND container = %s AND name = %s",
                (enc(project_id), container, name),
            )
            db.execute("DELETE FROM blob_chunks WHERE blob_id = %s", (blob_id,))

        self._db.write(run, locked=False)

    def list_objects(self, project_id: str, container: str, query: ListingQuery) -> list[ObjectInfo]:
        def run(db: _Db) -> list[tuple[Any, ...]]:
            if not self._has_container(db, project_id, container):
                raise container_not_found(container)
            # Names compare by code point (COLLATE "C", the schema's); starts_with, not LIKE,
            # which would treat % and _ specially.
            return db.execute(
                f"SELECT {_COLUMNS} FROM objects WHERE project_id = %s AND container = %s AND name > %s"
                " AND starts_with(name, %s) ORDER BY name LIMIT %s",
                (enc(project_id), container, query.marker, query.prefix, query.limit),
            ).fetchall()

        return [_info(row) for row in self._db.read(run)]

    def export_objects(self) -> list[ObjectInfo]:
        found = self._db.statement(f"SELECT {_COLUMNS} FROM objects ORDER BY project_id, container, name")
        return [_info(row) for row in found]

    def check_seed_room(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        """No quota of its own: the bytes are on disk, whose end is a 503 (LOGFILES_MAX_STORED_BYTES
        is the memory store's)."""

    def seed_objects(self, objects: Sequence[tuple[ObjectInfo, bytes]]) -> None:
        spools = []
        try:
            for info, data in objects:
                spool = _spool()
                spools.append((info, spool))
                with _disk():
                    spool.write(data)

            def run(db: _Db) -> None:
                self._lock(db)
                for project_id, container in containers_to_record(info for info, _ in spools):
                    db.execute(
                        "INSERT INTO containers (project_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        (enc(project_id), container),
                    )
                self._publish(db, spools)

            self._db.write(run, locked=False)
        finally:
            for _, spool in spools:
                spool.close()
