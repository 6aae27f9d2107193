"""A store that cannot serve: 503 with the fault body and Retry-After, /healthz unhealthy, then recovery."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from logfiles import create_app
from logfiles.config import Settings
from logfiles.store.sqlite import SqliteStore
from tests.conftest import registration

TOKEN = {"X-Auth-Token": "t"}
REGISTRATION = registration()


def sqlite_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'sick.db'}"))
    store: SqliteStore = app.extensions["logfiles"].store
    return app, store


def test_register_agent_when_the_database_is_read_only_is_503_then_recovers(tmp_path: Path) -> None:
    app, store = sqlite_app(tmp_path)
    client = app.test_client()
    # This thread's connection behaves as one opened while the file was read-only.
    store._db.connection().execute("PRAGMA query_only = ON")
    answer = client.post("/v2/p/agents", json=REGISTRATION, headers=TOKEN)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    body = answer.get_json()
    assert body["message"] and body["errors"][0].startswith("store: ")
    assert client.post("/v2/p/agents", json=REGISTRATION, headers=TOKEN).status_code == 201


def test_healthz_is_503_when_the_database_file_is_removed(tmp_path: Path) -> None:
    app, store = sqlite_app(tmp_path)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    os.remove(store.path)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert "removed" in answer.get_json()["errors"][0]
    assert client.post("/v2/p/agents", json=REGISTRATION, headers=TOKEN).status_code == 503


def test_healthz_with_memory_store_is_ok() -> None:
    assert create_app(Settings()).test_client().get("/healthz").get_json() == {"status": "ok"}


def test_a_store_down_logs_one_line_per_lost_journal_entry_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While the store is down every request fails its journal entry too: one line each, no trace."""
    app, store = sqlite_app(tmp_path)
    client = app.test_client()
    os.remove(store.path)
    with caplog.at_level(logging.WARNING, logger="logfiles"):
        assert client.get("/v2/p/agents", headers=TOKEN).status_code == 503
    lost = [r for r in caplog.records if r.getMessage().startswith("journal entry lost for GET /v2/p/agents")]
    assert len(lost) == 1 and not lost[0].exc_info
    assert "removed" in lost[0].getMessage()
