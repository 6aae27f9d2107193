"""A real `gunicorn wsgi:app` on a free 127.0.0.1 port, stopped by PID when the test ends."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """One gunicorn process group; `url` is its base URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the whole process group, wait, and make sure nothing of it is left."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Workers that outlived their master (or a master stuck in shutdown) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout)
        return self.process.returncode


GUNICORN = (sys.executable, "-m", "gunicorn")


def start_server(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    wait: bool = True,
    command: tuple[str, ...] | None = None,
) -> LiveServer:
    """Start gunicorn from the repository root (so it reads gunicorn.conf.py)."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOGFILES_")}
    environ.update({"LOGFILES_BIND": f"127.0.0.1:{port}", **(env or {})})
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [*GUNICORN, *args, "wsgi:app"] if command is None else [*command, *args],
            cwd=ROOT,
            env=environ,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", log)
    if wait:
        wait_ready(server)
    return server


def wait_ready(server: LiveServer) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited early:\n{server.output()}")
        try:
            if requests.get(server.url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or too busy to answer in time
            pass
        time.sleep(0.05)
    server.stop()
    raise AssertionError(f"gunicorn not ready in {START_DEADLINE}s:\n{server.output()}")


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers on demand; every one is stopped when the test ends."""
    servers: list[LiveServer] = []

    def _launch(
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        wait: bool = True,
        command: tuple[str, ...] | None = None,
    ) -> LiveServer:
        server = start_server(tmp_path, env, args, False, command)
        servers.append(server)  # registered before waiting, so a failed start is stopped too
        if wait:
            wait_ready(server)
        return server

    yield _launch
    for server in servers:
        server.stop()
