"""Several gunicorn instances of one app behind nginx, as examples/nginx/ runs them: one URL for wrk.

The nginx configuration is the example's own (examples/nginx/run.py renders it: round robin,
keep-alive to the instances, an access log line per request), written to a new prefix under
/tmp; nginx runs in the foreground in its own session, started and stopped by logfiles.live
as the instances are. The stub's stack and its baseline's are built alike, so the ratio of
the two is still the stub's share of one stack's capacity, nginx included on both sides.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import ModuleType

from bench.servers import READY_POLL, READY_TIMEOUT, BenchError, Server, http_request, tree_cpu_seconds
from logfiles import live

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "nginx" / "run.py"


def find_nginx() -> str | None:
    """nginx on PATH, else Debian's /usr/sbin/nginx (PATH may lack sbin); None if neither."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


@cache
def example() -> ModuleType:
    """examples/nginx/run.py, loaded by its path: examples/ is a folder of scripts, not a package."""
    name = "logfiles_nginx_example"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {EXAMPLE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class Stack:
    """`instances` gunicorn servers of `app` and nginx in front; the bench sees nginx's URL only."""

    def __init__(
        self, name: str, app: str, env: Mapping[str, str], log_dir: Path, instances: int, nginx: str
    ) -> None:
        self.name = name
        self.env = dict(env)
        self.log_dir = log_dir
        self.instances = [Server(f"{name}-{n + 1}", app, env, log_dir) for n in range(instances)]
        self.nginx = nginx
        self.port = live.free_port()
        self.front: live.LiveServer | None = None
        self.prefix: Path | None = None
        # Other processes whose CPU time its requests cost (the database server), by name.
        self.watch: dict[str, Callable[[], float]] = {}

    def launch(self) -> None:
        """The instances only: nginx comes once they answer (`wait_ready`), as run.py does it."""
        for server in self.instances:
            server.launch()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        for server in self.instances:
            server.wait_ready(timeout)
        module = example()
        self.prefix = module.make_prefix()  # under /tmp: as root, nginx's workers (nobody) enter it
        conf = module.write_config(self.prefix, self.port, [s.port for s in self.instances], self.env)
        self.front = live.start(
            module.nginx_command(self.nginx, self.prefix, conf),
            log_dir=self.log_dir,
            port=self.port,
            name=f"{self.name}-nginx",
            cwd=self.prefix,
            wait=False,
        )
        try:
            self.front.wait_ready(timeout, poll=READY_POLL)
        except live.StartError as exc:
            raise BenchError(f"{exc.reason}: {' | '.join(exc.tail.splitlines()[-5:])}") from exc

    def stop(self) -> None:
        """nginx first (no request then meets a stopped instance), then the instances; the prefix goes."""
        if self.front is not None:
            self.front.stop()
        for server in self.instances:
            server.stop()
        if self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 120.0,
    ) -> tuple[int, bytes]:
        return http_request(self.port, method, path, body, headers, timeout)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu_seconds(self) -> float:
        """The instances' CPU time (masters and workers): the app's, comparable with one Server's."""
        return sum(server.cpu_seconds() for server in self.instances)

    def other_cpu_seconds(self) -> dict[str, float]:
        """nginx's CPU time (master and workers), and what `watch` reads."""
        spent = {name: read() for name, read in self.watch.items()}
        if self.front is not None:
            spent["nginx"] = tree_cpu_seconds(self.front.process.pid)
        return spent
