"""Two gunicorn instances behind nginx on one store (examples/nginx/run.py's set-up), for black-box tests.

Shared by the one-world tests (test_nginx_two_instances.py) and the PostgreSQL store's
load and failure tests (test_postgres_gunicorn.py).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from logfiles import live
from tests.blackbox.conftest import ROOT, LiveServer, free_port, start_server, wait_ready

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # PATH may lack sbin
# For the modules that use the stack: `pytestmark = needs_nginx`.
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx not found: apt-get install -y nginx (Debian) to run the nginx tests"
)

RUN_PY = ROOT / "examples" / "nginx" / "run.py"


def _load(path: Path, name: str) -> ModuleType:
    """The example by its path: examples/ is a folder of scripts, not a package."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


example = _load(RUN_PY, "logfiles_nginx_example")


@dataclass
class Stack:
    """The two instances and nginx in front of them; each `url` is a door into the same world."""

    a: LiveServer
    b: LiveServer
    nginx: LiveServer
    prefix: Path

    def upstreams_used(self) -> set[str]:
        """The instances nginx's access log says answered (`upstream=127.0.0.1:<port>`)."""
        return set(re.findall(r"upstream=(\S+)", (self.prefix / "access.log").read_text()))


@contextmanager
def open_stack(shared_store: str, tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Instances A and B (2 workers each) on `shared_store`, nginx in front; all stopped after.

    Set up after `shared_store`, so torn down before it: no instance is connected when a
    PostgreSQL schema is dropped.
    """
    assert NGINX is not None
    env = {"LOGFILES_STORE": shared_store, "LOGFILES_WORKERS": "2", **(extra_env or {})}
    servers: list[LiveServer] = []
    prefix = example.make_prefix()  # under /tmp: as root the workers (nobody) enter it
    try:
        # Both at once, as run.py starts them: each creates or migrates the store as it opens it.
        for _ in range(2):
            servers.append(start_server(tmp_path, env, wait=False))
        for server in servers:
            wait_ready(server)
        port = free_port()
        conf = example.write_config(prefix, port, [server.port for server in servers], env)
        command = example.nginx_command(NGINX, prefix, conf)
        servers.append(live.start(command, log_dir=tmp_path, port=port, name="nginx", cwd=prefix, wait=False))
        wait_ready(servers[-1])
        yield Stack(servers[0], servers[1], servers[2], prefix)
    finally:
        if len(servers) == 3:
            servers.pop().stop()  # nginx first: no request meets a stopped instance
        # The instances together: each takes about a second to stop gracefully.
        with ThreadPoolExecutor() as pool:
            for stopping in [pool.submit(server.stop) for server in servers]:
                stopping.result()
        shutil.rmtree(prefix, ignore_errors=True)
