"""The object store's contract, on both stores: whole objects or none, listings, reset."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logfiles.errors import NotFound, PayloadTooLarge, Unprocessable
from logfiles.objects import LOG_CONTAINER, ListingQuery, ObjectInfo, Upload
from logfiles.store import FullStore
from logfiles.store.sqlite import SqliteStore
from logfiles.store.sqlite.objects import STRAY_AGE_SECONDS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TYPE = "application/octet-stream"


def put(
    store: FullStore, name: str, data: bytes, container: str = LOG_CONTAINER, project: str = "p"
) -> ObjectInfo:
    upload = Upload([data[i : i + 7] for i in range(0, len(data), 7)], limit=1 << 20, etag=None)
    return store.put_object(project, container, name, TYPE, upload, NOW)


def read(store: FullStore, name: str, container: str = LOG_CONTAINER, project: str = "p") -> bytes:
    info, stream = store.open_object(project, container, name)
    with stream:
        data = stream.read()
    assert len(data) == info.bytes
    return data


def names(store: FullStore, container: str = LOG_CONTAINER, **query: object) -> list[str]:
    return [info.name for info in store.list_objects("p", container, ListingQuery(**query))]  # type: ignore[arg-type]


def test_an_object_round_trips_with_its_metadata(store: FullStore) -> None:
    info = put(store, "v2/a/log.gz", b"hello world")
    assert info == ObjectInfo(
        "p",
        LOG_CONTAINER,
        "v2/a/log.gz",
        11,
        hashlib.md5(b"hello world", usedforsecurity=False).hexdigest(),
        TYPE,
        NOW,
    )
    assert store.get_object("p", LOG_CONTAINER, "v2/a/log.gz") == info
    assert read(store, "v2/a/log.gz") == b"hello world"


def test_the_log_container_exists_in_every_project_and_others_are_made(store: FullStore) -> None:
    assert store.container_exists("any", LOG_CONTAINER)
    assert not store.container_exists("p", "mine")
    assert store.create_container("p", "mine") is True
    assert store.create_container("p", "mine") is False
    assert store.create_container("p", LOG_CONTAINER) is False
    assert store.container_exists("p", "mine")
    assert not store.container_exists("q", "mine")  # per project


def test_an_upload_to_a_missing_container_is_not_found_and_reads_nothing(store: FullStore) -> None:
    read_any = []

    def source() -> Iterator[bytes]:
        read_any.append(True)
        yield b"x"

    with pytest.raises(NotFound):
        store.put_object("p", "nope", "n", TYPE, Upload(source(), 10, None), NOW)
    assert not read_any


def test_missing_objects_and_containers_are_not_found(store: FullStore) -> None:
    for call in (store.get_object, store.open_object, store.delete_object):
        with pytest.raises(NotFound):
            call("p", LOG_CONTAINER, "none")
        with pytest.raises(NotFound):
            call("p", "nope", "none")
    with pytest.raises(NotFound):
        store.list_objects("p", "nope", ListingQuery())
    with pytest.raises(NotFound):
        store.container_usage("p", "nope")


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (Upload([b"a" * 6, b"b" * 6], limit=10, etag=None), PayloadTooLarge),
        (Upload([b"abc"], limit=10, etag="0" * 32), Unprocessable),
    ],
)
def test_a_refused_upload_leaves_the_name_as_it_was(
    store: FullStore, upload: Upload, error: type[Exception]
) -> None:
    put(store, "n", b"old bytes")
    with pytest.raises(error):
        store.put_object("p", LOG_CONTAINER, "n", TYPE, upload, NOW)
    with pytest.raises(error):
        store.put_object("p", LOG_CONTAINER, "fresh", TYPE, _again(upload), NOW)
    assert read(store, "n") == b"old bytes"
    assert names(store) == ["n"]


def _again(upload: Upload) -> Upload:
    """The same kind of refused upload, unread."""
    if upload._etag is not None:
        return Upload([b"abc"], limit=10, etag="0" * 32)
    return Upload([b"a" * 6, b"b" * 6], limit=10, etag=None)


def test_a_client_gone_mid_upload_stores_nothing(store: FullStore) -> None:
    def source() -> Iterator[bytes]:
        yield b"part"
        raise ConnectionResetError("client gone")

    with pytest.raises(ConnectionResetError):
        store.put_object("p", LOG_CONTAINER, "n", TYPE, Upload(source(), 100, None), NOW)
    assert names(store) == []
    with pytest.raises(NotFound):
        store.get_object("p", LOG_CONTAINER, "n")


def test_a_new_upload_replaces_the_object_and_an_open_reader_keeps_the_old_bytes(store: FullStore) -> None:
    put(store, "n", b"first")
    _, stream = store.open_object("p", LOG_CONTAINER, "n")
    put(store, "n", b"second version")
    with stream:
        assert stream.read() == b"first"
    assert read(store, "n") == b"second version"
    assert store.container_usage("p", LOG_CONTAINER) == (1, len(b"second version"))


def test_delete_removes_the_object(store: FullStore) -> None:
    put(store, "n", b"x")
    store.delete_object("p", LOG_CONTAINER, "n")
    with pytest.raises(NotFound):
        store.get_object("p", LOG_CONTAINER, "n")
    assert store.container_usage("p", LOG_CONTAINER) == (0, 0)


def test_listing_orders_by_name_with_prefix_marker_and_limit(store: FullStore) -> None:
    for name in ("b", "a/2", "a/1", "c%", "a_", "é"):
        put(store, name, name.encode())
    assert names(store) == ["a/1", "a/2", "a_", "b", "c%", "é"]
    assert names(store, prefix="a/") == ["a/1", "a/2"]
    assert names(store, prefix="a_") == ["a_"]  # no LIKE wildcards
    assert names(store, prefix="c%") == ["c%"]
    assert names(store, marker="a_") == ["b", "c%", "é"]
    assert names(store, marker="a/1", limit=2) == ["a/2", "a_"]
    assert names(store, limit=0) == []
    assert store.list_objects("q", LOG_CONTAINER, ListingQuery()) == []  # projects apart


def test_reset_removes_every_object_and_container(store: FullStore) -> None:
    store.create_container("p", "mine")
    put(store, "n", b"x", container="mine")
    put(store, "m", b"y")
    store.reset()
    assert not store.container_exists("p", "mine")
    assert names(store) == []
    assert store.export_objects() == []


def test_seeded_objects_are_exported_without_bytes_and_read_back(store: FullStore) -> None:
    first = ObjectInfo(
        "p", "mine", "a", 3, hashlib.md5(b"abc", usedforsecurity=False).hexdigest(), "text/plain", NOW
    )
    second = ObjectInfo(
        "q",
        LOG_CONTAINER,
        "b",
        0,
        hashlib.md5(b"", usedforsecurity=False).hexdigest(),
        TYPE,
        NOW - timedelta(days=1),
    )
    store.seed_objects([(first, b"abc"), (second, b"")])
    assert store.container_exists("p", "mine")
    assert sorted(store.export_objects(), key=lambda i: i.project_id) == [first, second]
    assert read(store, "a", container="mine") == b"abc"
    store.seed_objects([(first, b"abc")])  # the same name again: replaced, not doubled
    assert store.container_usage("p", "mine") == (1, 3)


# SQLite only: files beside the database.


def _sqlite(tmp_path: Path) -> SqliteStore:
    return SqliteStore.open(tmp_path / "objects.db")


def test_sqlite_objects_survive_a_restart(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    put(store, "n", b"kept")
    store.close()
    again = _sqlite(tmp_path)
    assert read(again, "n") == b"kept"


def test_sqlite_keeps_one_file_per_object_and_removes_replaced_ones(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    for round_ in range(3):
        put(store, "n", f"version {round_}".encode())
    put(store, "m", b"other")
    assert len(os.listdir(store.objects_dir)) == 2
    store.delete_object("p", LOG_CONTAINER, "m")
    assert len(os.listdir(store.objects_dir)) == 1
    store.reset()
    assert os.listdir(store.objects_dir) == []


def test_sqlite_a_refused_upload_leaves_no_file(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    with pytest.raises(PayloadTooLarge):
        store.put_object("p", LOG_CONTAINER, "n", TYPE, Upload([b"x" * 20], 10, None), NOW)
    assert not os.path.exists(store.objects_dir) or os.listdir(store.objects_dir) == []


def test_sqlite_sweeps_stray_files_only_once_they_are_old(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    put(store, "n", b"kept")
    folder = Path(store.objects_dir)
    (folder / "cut-off.part").write_bytes(b"half")
    (folder / ("0" * 32)).write_bytes(b"orphan")
    assert store.sweep_objects() == 0  # young: maybe an upload in progress elsewhere
    assert store.sweep_objects(now=os.stat(folder / "cut-off.part").st_mtime + STRAY_AGE_SECONDS + 1) == 2
    assert [p.name for p in folder.iterdir() if p.name in {"cut-off.part", "0" * 32}] == []
    assert len(list(folder.iterdir())) == 1
    assert read(store, "n") == b"kept"


def _upload_many(path: str, name: str, fill: bytes, rounds: int) -> None:
    """One process writing the same name over and over (a gunicorn worker's part in a race)."""
    store = SqliteStore.open(path)
    for _ in range(rounds):
        put(store, name, fill * 50_000)
    store.close()


def test_sqlite_concurrent_uploads_from_processes_leave_one_whole_object(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    SqliteStore.open(path).close()
    context = multiprocessing.get_context("spawn")
    fills = [b"a", b"b", b"c", b"d"]
    workers = [context.Process(target=_upload_many, args=(path, "same", fill, 8)) for fill in fills]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    store = SqliteStore.open(path)
    data = read(store, "same")
    assert data in {fill * 50_000 for fill in fills}  # one writer's bytes, never a mix
    assert (
        store.get_object("p", LOG_CONTAINER, "same").hash
        == hashlib.md5(data, usedforsecurity=False).hexdigest()
    )
    assert len(os.listdir(store.objects_dir)) == 1  # every replaced file removed
