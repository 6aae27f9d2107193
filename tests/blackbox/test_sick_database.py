"""A real gunicorn whose SQLite database is taken away or locked while it serves."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import requests

from tests.blackbox.conftest import LiveServer
from tests.conftest import registration

TOKEN = {"X-Auth-Token": "t"}
REGISTRATION = registration()


def test_database_file_removed_while_serving_is_503_and_unhealthy(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    database = tmp_path / "data" / "stub.db"
    database.parent.mkdir()
    server = launch(env={"LOGFILES_STORE": f"sqlite:///{database}", "LOGFILES_WORKERS": "2"})
    answer = requests.post(f"{server.url}/v2/p/agents", json=REGISTRATION, headers=TOKEN, timeout=10)
    assert answer.status_code == 201, answer.text
    for name in os.listdir(database.parent):
        os.remove(database.parent / name)
    os.rmdir(database.parent)
    # Every worker notices, whichever answers: each request checks the file before a write.
    for _ in range(4):
        answer = requests.post(f"{server.url}/v2/p/agents", json=REGISTRATION, headers=TOKEN, timeout=10)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["errors"]
        health = requests.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503, health.text
    # Lost journal entries are logged (with their cause), but no request got a 500.
    assert '" 500 ' not in server.output()


def test_lock_held_by_another_process_past_the_busy_timeout_is_503(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    database = tmp_path / "stub.db"
    server = launch(env={"LOGFILES_STORE": f"sqlite:///{database}", "LOGFILES_WORKERS": "1"})
    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        answer = requests.post(f"{server.url}/v2/p/agents", json=REGISTRATION, headers=TOKEN, timeout=60)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
    finally:
        other.execute("ROLLBACK")
        other.close()
    answer = requests.post(f"{server.url}/v2/p/agents", json=REGISTRATION, headers=TOKEN, timeout=60)
    assert answer.status_code == 201, answer.text
