"""What the object store does at the end of its room: the memory store's quota
(LOGFILES_MAX_STORED_BYTES, 413 past it), out of memory (503), a full disk under SQLite and
PostgreSQL (503), never a 500 and never an acknowledged object lost."""

from __future__ import annotations

import base64
import errno
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from logfiles.api.body import DRAIN_BYTES
from logfiles.errors import PayloadTooLarge
from logfiles.objects import Upload
from logfiles.store.memory import MemoryStore
from tests.conftest import PROJECT, TOKEN, Api, assert_fault

CAP = 1000
BASE = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}"
LOGS = f"{BASE}/CloudBackupLogs"
AUTH = {"X-Auth-Token": TOKEN}


class BufferedClient(FlaskClient):
    """Reads every answer whole and closes it, as a server does once it has sent it."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def settings() -> Settings:
    return Settings(store_url="memory", max_stored_bytes=CAP)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = BufferedClient
    return app.test_client()


def put(client: FlaskClient, name: str, data: bytes) -> Any:
    length = {"CONTENT_LENGTH": str(len(data))}
    return client.put(f"{LOGS}/{name}", data=data, headers=AUTH, environ_overrides=length)


def chunked(client: FlaskClient, name: str, stream: Any) -> Any:
    return client.put(
        f"{LOGS}/{name}",
        input_stream=stream,
        headers={**AUTH, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def assert_quota(answer: Any) -> None:
    body = assert_fault(answer, 413)
    assert "LOGFILES_MAX_STORED_BYTES" in body["errors"][0]


def names(client: FlaskClient) -> list[str]:
    answer = client.get(LOGS, headers=AUTH)
    return answer.get_data(as_text=True).split()


class CountingStream(io.RawIOBase):
    """A body of `size` bytes made as it is read, counting what was read."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        self.read_bytes += n
        return n


# The memory store's quota, through the API.


def test_put_object_past_the_quota_is_413_and_stores_nothing(client: FlaskClient) -> None:
    assert put(client, "a", b"a" * 600).status_code == 201
    assert put(client, "b", b"b" * 400).status_code == 201  # exactly the quota: kept
    assert_quota(put(client, "c", b"c"))
    assert names(client) == ["a", "b"]


def test_put_object_declared_past_the_quota_is_refused_before_a_byte_is_read(client: FlaskClient) -> None:
    body = io.BytesIO(b"x" * (CAP + 1))
    answer = client.put(
        f"{LOGS}/big", input_stream=body, headers=AUTH, environ_overrides={"CONTENT_LENGTH": str(CAP + 1)}
    )
    assert_quota(answer)
    assert body.tell() == 0
    assert names(client) == []


def test_put_object_chunked_is_stopped_when_it_crosses_the_quota(client: FlaskClient) -> None:
    """Not buffered whole: the store refuses the chunk that crosses, and of the rest at most
    DRAIN_BYTES are read before the connection is closed (README: a refused upload's rest)."""
    stream = CountingStream(48 * 1024 * 1024)  # under LOGFILES_MAX_OBJECT_BYTES' 64 MiB
    answer = client.put(
        f"{LOGS}/endless",
        headers={**AUTH, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "wsgi.input": io.BufferedReader(stream)},
    )
    assert_quota(answer)
    assert answer.headers["Connection"] == "close"
    assert stream.read_bytes < DRAIN_BYTES + 1024 * 1024
    assert names(client) == []


def test_put_object_chunked_within_the_quota_is_kept(client: FlaskClient) -> None:
    assert chunked(client, "small", io.BytesIO(b"s" * CAP)).status_code == 201
    assert_quota(chunked(client, "more", io.BytesIO(b"m")))


def test_a_refused_replacing_upload_leaves_the_old_object_intact(client: FlaskClient) -> None:
    """As Swift's quotas count, an upload needs room beside the object it replaces (the old
    bytes are held until the new ones are whole); once published, the old bytes are freed."""
    assert put(client, "n", b"1" * 600).status_code == 201
    assert_quota(put(client, "n", b"2" * 500))
    assert_quota(chunked(client, "n", io.BytesIO(b"3" * 500)))
    kept = client.get(f"{LOGS}/n", headers=AUTH)
    assert (kept.status_code, kept.data) == (200, b"1" * 600)
    assert put(client, "n", b"4" * 400).status_code == 201  # 600 + 400 fit while both are held
    assert put(client, "m", b"5" * 600).status_code == 201  # the 600 replaced were freed


def test_deleting_an_object_frees_its_room(client: FlaskClient) -> None:
    assert put(client, "a", b"a" * CAP).status_code == 201
    assert_quota(put(client, "b", b"b"))
    assert client.delete(f"{LOGS}/a", headers=AUTH).status_code == 204
    assert put(client, "b", b"b" * CAP).status_code == 201


def test_reset_frees_every_objects_room(api: Api, client: FlaskClient) -> None:
    assert put(client, "a", b"a" * CAP).status_code == 201
    api.reset()
    assert put(client, "a", b"a" * CAP).status_code == 201


def seeded(name: str, data: bytes) -> dict[str, str]:
    return {"project_id": PROJECT, "name": name, "content_base64": base64.b64encode(data).decode()}


def test_seeded_objects_count_against_the_quota(api: Api, client: FlaskClient) -> None:
    assert api.control("post", "state", {"objects": [seeded("s", b"s" * 800)]}).status_code == 200
    assert_quota(put(client, "u", b"u" * 201))
    # Seeding the same name again replaces it: counted once, not twice.
    assert api.control("post", "state", {"objects": [seeded("s", b"t" * 900)]}).status_code == 200
    assert put(client, "u", b"u" * 100).status_code == 201
    assert_quota(put(client, "v", b"v"))


def test_a_seed_past_the_quota_is_413_and_seeds_nothing(api: Api, client: FlaskClient) -> None:
    assert put(client, "u", b"u" * 600).status_code == 201
    document = {"agents": [{"project_id": PROJECT}], "objects": [seeded("s", b"s" * 401)]}
    assert_quota(api.control("post", "state", document))
    state = api.control("get", "state").get_json()
    assert state["agents"] == []
    assert [item["name"] for item in state["objects"]] == ["u"]


# The quota's counting, on the store itself: uploads in progress hold their room.


def _upload(parts: list[bytes], length: int | None, paused: threading.Event | None = None) -> Upload:
    def source() -> Iterator[bytes]:
        yield parts[0]
        if paused is not None:
            paused.set()
            release.wait(30)
        yield from parts[1:]

    release = threading.Event()
    upload = Upload(source(), 1 << 30, None, length)
    upload.release = release  # type: ignore[attr-defined]
    return upload


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_concurrent_uploads_never_pass_the_quota_together(declared: bool) -> None:
    """A first upload, paused halfway, holds its room: a second that would not fit beside it is
    refused, though nothing is stored yet; the first then completes."""
    store = MemoryStore(CAP)
    now = datetime.now(UTC)
    paused = threading.Event()
    first = _upload([b"a" * 600, b"a" * 300], 900 if declared else None, paused)
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(store.put_object(PROJECT, "CloudBackupLogs", "first", "t", first, now))
    )
    worker.start()
    try:
        assert paused.wait(30)
        second = _upload([b"b" * 300, b"b" * 300], 600 if declared else None)
        with pytest.raises(PayloadTooLarge):
            store.put_object(PROJECT, "CloudBackupLogs", "second", "t", second, now)
    finally:
        first.release.set()  # type: ignore[attr-defined]
        worker.join(30)
    assert [info.bytes for info in done] == [900]
    assert store.stored_bytes() == 900
    store.delete_object(PROJECT, "CloudBackupLogs", "first")
    assert store.stored_bytes() == 0


def test_a_refused_upload_gives_back_its_reservation() -> None:
    store = MemoryStore(CAP)
    now = datetime.now(UTC)
    wrong = Upload(iter([b"x" * 600]), 1 << 30, "0" * 32, 600)  # the ETag does not match: 422
    with pytest.raises(Exception, match="ETag"):
        store.put_object(PROJECT, "CloudBackupLogs", "n", "t", wrong, now)
    assert store.stored_bytes() == 0
    store.put_object(
        PROJECT, "CloudBackupLogs", "n", "t", Upload(iter([b"x" * CAP]), 1 << 30, None, CAP), now
    )
    assert store.stored_bytes() == CAP


# Out of memory is a 503, never a 500.


@pytest.mark.parametrize(
    ("method", "path", "patched"),
    [
        ("get", f"{LOGS}/n", "open_object"),
        ("get", f"/v2/{PROJECT}/agents", "list_agents"),
        ("get", "/_control/state", "export_state"),
    ],
)
def test_out_of_memory_anywhere_in_a_request_is_503_with_retry_after(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, method: str, path: str, patched: str
) -> None:
    assert put(client, "n", b"x").status_code == 201

    def no_memory(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(app.extensions["logfiles"].store, patched, no_memory)
    answer = getattr(client, method)(path, headers=AUTH)
    assert_fault(answer, 503)
    assert answer.headers["Retry-After"].isdigit()


# A full disk under the database stores is a 503, never a 500.


class _FullDisk(io.RawIOBase):
    """A file on a disk with no room: every write that reaches it fails with ENOSPC."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


class _FailsOnClose(io.BytesIO):
    """Writes and flushes that succeed, and a close that reports ENOSPC (as NFS can)."""

    def close(self) -> None:
        super().close()
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failure", ["flush", "close"])
def test_sqlite_upload_on_a_full_disk_is_503_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """The bytes stay in the file's buffer until it is flushed or closed: a full disk is seen
    there, and a second failure while the file closes must not turn the 503 into a 500."""
    import builtins

    from logfiles.store.sqlite import objects as sqlite_objects

    real_open = builtins.open

    def full_disk_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode != "wb":
            return real_open(path, mode, *args, **kwargs)
        real_open(path, mode).close()  # the part file exists, as on a real disk
        if failure == "flush":
            return io.BufferedWriter(_FullDisk())
        return _FailsOnClose()

    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'store.db'}"))
    app.test_client_class = BufferedClient
    client = app.test_client()
    try:
        monkeypatch.setattr(sqlite_objects, "open", full_disk_open, raising=False)
        answer = put(client, "n", b"x" * 100)
        assert_fault(answer, 503)
        assert answer.headers["Retry-After"].isdigit()
        monkeypatch.undo()
        assert_fault(client.get(f"{LOGS}/n", headers=AUTH), 404)
        assert list((tmp_path / "store.db.objects").iterdir()) == []
        assert put(client, "n", b"y" * 100).status_code == 201  # room again: stored
    finally:
        app.extensions["logfiles"].store.close()


def test_postgres_upload_with_a_full_temp_dir_is_503(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upload is spooled locally first; a spool that cannot grow is the storage's failure."""
    from logfiles.store.postgres import objects as pg_objects

    class FullSpool(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    app = create_app(Settings(store_url=pg_url))
    app.test_client_class = BufferedClient
    client = app.test_client()
    try:
        monkeypatch.setattr(pg_objects, "_spool", FullSpool)
        answer = put(client, "n", b"x" * 100)
        assert_fault(answer, 503)
        assert answer.headers["Retry-After"].isdigit()
        monkeypatch.undo()
        assert_fault(client.get(f"{LOGS}/n", headers=AUTH), 404)
    finally:
        app.extensions["logfiles"].store.close()
