from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.blackbox.conftest import LiveServer


def test_plain(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    env = {"LOGFILES_STORE": f"sqlite:///{tmp_path / 'stub.db'}", "LOGFILES_WORKERS": "2"}
    server = launch(env, args=("--max-requests", "2"))
    deadline = time.monotonic() + 30
    while server.output().count("Booting worker") < 4:
        assert time.monotonic() < deadline
        assert (
            requests.get(server.url + "/healthz", timeout=10, headers={"Connection": "close"}).status_code
            == 200
        )
        time.sleep(0.05)
    for _ in range(4):
        assert (
            requests.get(server.url + "/healthz", timeout=10, headers={"Connection": "close"}).status_code
            == 200
        )
    status = server.stop()
    assert status == 0, (status, server.output())
