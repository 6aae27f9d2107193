"""A real `gunicorn wsgi:app` on a free 127.0.0.1 port, stopped with its workers when the test ends.

The mechanics (port, environment, readiness, log, stop) are logfiles/live.py's, shared with
bench/; this file only says what our black-box tests start: gunicorn from the repository
root, so that it reads gunicorn.conf.py as a user's `gunicorn wsgi:app` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logfiles import live
from logfiles.live import LiveServer, free_port

# Other test files import these names from here.
__all__ = ["LiveServer", "free_port", "start_server", "wait_ready"]

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = live.gunicorn_command("")[:-1]  # `python -m gunicorn`, for tests that give every argument
START_DEADLINE = 20.0


def start_server(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    wait: bool = True,
    command: tuple[str, ...] | None = None,
    tls: bool = False,
    ca_file: Path | None = None,
) -> LiveServer:
    """Start gunicorn (or `command`, followed by `args`) from the repository root.

    `tls` and `ca_file`: https, as logfiles/live.py's `start` takes them.
    """
    argv = live.gunicorn_command("wsgi:app", *args) if command is None else (*command, *args)
    return live.start(
        argv,
        log_dir=tmp_path,
        env=env,
        cwd=ROOT,
        name="gunicorn",
        wait=wait,
        timeout=START_DEADLINE,
        tls=tls,
        ca_file=ca_file,
    )


def wait_ready(server: LiveServer) -> None:
    server.wait_ready(START_DEADLINE)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers on demand; every one is stopped when the test ends."""
    servers: list[LiveServer] = []

    def _launch(
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        wait: bool = True,
        command: tuple[str, ...] | None = None,
        tls: bool = False,
        ca_file: Path | None = None,
    ) -> LiveServer:
        server = start_server(tmp_path, env, args, False, command, tls, ca_file)
        servers.append(server)  # registered before waiting, so a failed start is stopped too
        if wait:
            wait_ready(server)
        return server

    yield _launch
    for server in servers:
        server.stop()
