#!/usr/bin/env python3
"""Two logfiles-stub instances behind nginx, on one shared store, in the foreground until Ctrl-C.

    LOGFILES_STORE=sqlite:////tmp/shared.db .venv/bin/python examples/nginx/run.py

starts `gunicorn wsgi:app` twice from the repository root (127.0.0.1:8081 and :8082, two
workers each, the same LOGFILES_STORE and every other LOGFILES_* variable of this shell), then
nginx on 127.0.0.1:8080 in front of them, with the configuration nginx.conf.template gives,
written to a new directory under /tmp that also holds nginx's pid, logs and temp files and each
instance's output. Ctrl-C (or SIGTERM) stops all three. Exit status 0 after Ctrl-C, 1 when one
of them fails to start or exits on its own, 2 on bad usage (the memory store is one: each
instance would have a world of its own).

Standard library only; nginx is Debian's (`apt-get install -y nginx`). Run it with the venv's
Python: the instances are `<this Python> -m gunicorn`.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import http.client
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository root: gunicorn reads wsgi.py and gunicorn.conf.py there
TEMPLATE = HERE / "nginx.conf.template"
HOST = "127.0.0.1"
READY_PATH = "/healthz"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MAX_OBJECT_BYTES = 64 * 1024 * 1024  # LOGFILES_MAX_OBJECT_BYTES' default
TEMP_ROOT = "/tmp"  # noqa: S108 - mkdtemp makes a private directory in it
# Variables that would change what gunicorn runs behind our back (as logfiles/live.py drops them).
FOREIGN_ENV = ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")
# Readiness goes straight to the loopback port, whatever http_proxy says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def nginx_user() -> str | None:
    """The `user` directive's value: only a master running as root switches its workers' user.

    `nobody` and its own group (`nogroup` on Debian): the workers need no rights beyond the
    prefix's temp directories, which nginx makes and hands to that user itself.
    """
    if os.geteuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody")
    return f"nobody {grp.getgrgid(nobody.pw_gid).gr_name}"


def render_config(
    prefix: Path,
    listen_port: int,
    upstream_ports: Sequence[int],
    user: str | None = None,
    max_body: int = MAX_OBJECT_BYTES,
    host: str = HOST,
) -> str:
    """nginx.conf.template with every placeholder filled in; `user` None leaves the directive out.

    `max_body` is the instances' LOGFILES_MAX_OBJECT_BYTES: nginx refuses larger uploads itself.
    """
    # max_fails=0: a drop fault must not take an instance out of the rotation (with every
    # instance out, nginx would answer every request 502 for a while).
    servers = "\n".join(f"        server {host}:{port} max_fails=0;" for port in upstream_ports)
    values = {
        "@USER@": f"user {user};" if user else "# (no `user`: the master does not run as root)",
        "@PREFIX@": str(prefix),
        "@LISTEN@": f"{host}:{listen_port}",
        "@SERVERS@": servers,
        "@MAX_BODY@": str(max_body),
        "@MAX_BODY_SHOWN@": f"{max_body:,}",
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(name, value)
    return text


def max_object_bytes(environ: Mapping[str, str]) -> int:
    """LOGFILES_MAX_OBJECT_BYTES as the instances read it; the default when unset or not digits
    (the instances then refuse to start, and say why)."""
    raw = environ.get("LOGFILES_MAX_OBJECT_BYTES", "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 12 else MAX_OBJECT_BYTES


def make_prefix(directory: Path | None = None) -> Path:
    """nginx's prefix: `directory`, or a new one under /tmp; enterable by the workers' user.

    mkdtemp makes it 0700; as root the workers (nobody) must still reach their temp files in
    it, so it becomes 0711: they can enter it, not list it. /tmp, not $TMPDIR, which may be a
    private directory they cannot enter (as may a `directory`'s parents: then a download too
    large for nginx's memory buffers fails, for want of a temp file).
    """
    if directory is None:
        return make_prefix(Path(tempfile.mkdtemp(prefix="logfiles-nginx-", dir=TEMP_ROOT)))
    prefix = directory
    prefix.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        prefix.chmod(0o711)
    return prefix


def write_config(
    prefix: Path, listen_port: int, upstream_ports: Sequence[int], environ: Mapping[str, str] | None = None
) -> Path:
    """Write `<prefix>/nginx.conf` for this user (root or not) and `environ`'s object limit; its path."""
    limit = max_object_bytes(os.environ if environ is None else environ)
    conf = prefix / "nginx.conf"
    conf.write_text(render_config(prefix, listen_port, upstream_ports, nginx_user(), limit))
    return conf


def nginx_command(nginx: str, prefix: Path, conf: Path) -> list[str]:
    """nginx in the foreground, its prefix and configuration ours.

    `-e` (nginx 1.19.5 and later) so that not even the error log it opens before reading the
    configuration is the compiled-in /var/log/nginx one, which a user other than root cannot
    open (an older nginx says so in one alert, and runs all the same).
    """
    early_log = ["-e", str(prefix / "error.log")] if nginx_version(nginx) >= (1, 19, 5) else []
    return [nginx, "-p", f"{prefix}/", "-c", str(conf), *early_log, "-g", "daemon off;"]


def nginx_version(nginx: str) -> tuple[int, ...]:
    """From `nginx -v` ("nginx version: nginx/1.22.1", on standard error); () if it says none."""
    shown = subprocess.run(  # noqa: S603 - the nginx binary the user chose
        [nginx, "-v"], capture_output=True, text=True, timeout=10, check=False
    )
    found = re.search(r"nginx/(\d+(?:\.\d+)*)", shown.stderr + shown.stdout)
    return tuple(int(part) for part in found.group(1).split(".")) if found else ()


def instance_env(store: str, port: int, workers: int, environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` (LOGFILES_* included: every instance configured alike) with this instance's bind."""
    env = {k: v for k, v in environ.items() if k not in FOREIGN_ENV}
    env.update({"LOGFILES_STORE": store, "LOGFILES_BIND": f"{HOST}:{port}", "LOGFILES_WORKERS": str(workers)})
    return env


@dataclass
class Child:
    """One process we started, in its own session: a signal to its group reaches its workers too."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str

    def answers(self) -> bool:
        try:
            with _DIRECT.open(self.url + READY_PATH, timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, http.client.HTTPException):
            return False

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def signal(self, sig: int) -> None:
        """Send `sig` to the group, unless the master is already gone (and reaped: its id is free)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def finish(self) -> int:
        """Wait up to STOP_TIMEOUT for the master, SIGKILL what is left of the group; the exit status."""
        if self.process.returncode is not None:  # reaped before: its group id may be reused
            return self.process.returncode
        deadline = time.monotonic() + STOP_TIMEOUT
        while not self._exited() and time.monotonic() < deadline:
            time.sleep(0.02)
        # Workers that outlived their master (or a master stuck stopping). It is not reaped
        # yet (WNOWAIT), so the group's id cannot belong to anyone else.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()

    def _exited(self) -> bool:
        try:
            flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
            return os.waitid(os.P_PID, self.process.pid, flags) is not None
        except ChildProcessError:
            return True


def spawn(name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path, url: str) -> Child:
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own commands, no shell
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us alone; we stop them in order
        )
    print(f"started {name} pid {process.pid} on {url}", flush=True)
    return Child(name, process, log, url)


class Stop:
    """Set by SIGINT/SIGTERM; the loops look at it (an exception from a handler could land
    between a start and its bookkeeping, and leave a process nobody stops)."""

    signal_name: str | None = None

    @classmethod
    def handler(cls, signum: int, frame: FrameType | None) -> None:
        cls.signal_name = signal.Signals(signum).name


def wait_ready(child: Child, deadline: float) -> str | None:
    """None once `child` answers 200 on READY_PATH; else why not (it exited, time ran out, Ctrl-C)."""
    while Stop.signal_name is None:
        code = child.process.poll()
        if code is not None:
            return f"{child.name} exited with status {code}"
        if child.answers():
            return None
        if time.monotonic() > deadline:
            return f"{child.name}: no 200 on {READY_PATH} within {START_TIMEOUT:g} s"
        time.sleep(0.05)
    return f"{Stop.signal_name} while starting"


def serve(args: argparse.Namespace, store: str, nginx: str, prefix: Path, children: list[Child]) -> int:
    """Start the instances, then nginx, appending each to `children`; wait for Ctrl-C or a death."""
    conf = write_config(prefix, args.port, args.instance_ports)
    print(f"nginx configuration: {conf}", flush=True)
    gunicorn = [sys.executable, "-m", "gunicorn", "wsgi:app"]
    for letter, port in zip("abcdefghijklmnopqrstuvwxyz", args.instance_ports, strict=False):
        env = instance_env(store, port, args.workers, os.environ)
        log = prefix / f"instance-{letter}.log"
        children.append(spawn(f"instance {letter}", gunicorn, env, ROOT, log, f"http://{HOST}:{port}"))
    deadline = time.monotonic() + START_TIMEOUT
    problems = [problem for problem in (wait_ready(child, deadline) for child in children) if problem]
    if not problems:
        front = f"http://{HOST}:{args.port}"
        command = nginx_command(nginx, prefix, conf)
        children.append(spawn("nginx", command, os.environ, prefix, prefix / "nginx.out", front))
        problem = wait_ready(children[-1], time.monotonic() + START_TIMEOUT)
        problems = [problem] if problem else []
    if problems:
        if Stop.signal_name is None:
            for child in children:
                print(f"--- {child.name} ({child.log}):\n{child.tail()}", file=sys.stderr)
        print("run.py: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"ready: {children[-1].url} -> " + ", ".join(c.url for c in children[:-1]), flush=True)
    print(f"logs in {prefix}; Ctrl-C stops all", flush=True)
    while Stop.signal_name is None:
        for child in children:
            code = child.process.poll()
            if code is not None:
                print(f"run.py: {child.name} exited with status {code}:\n{child.tail()}", file=sys.stderr)
                return 1
        time.sleep(0.2)
    print(f"{Stop.signal_name}: stopping", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    store = (args.store or os.environ.get("LOGFILES_STORE", "")).strip()
    if not store or store == "memory":
        print(
            "run.py: two instances need a store they share: set LOGFILES_STORE to "
            "sqlite:///<absolute path> or a postgresql:// URL (the memory store is one per process)",
            file=sys.stderr,
        )
        return 2
    nginx = args.nginx or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        print(f"run.py: nginx not found ({nginx}): apt-get install -y nginx (Debian)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, Stop.handler)
    signal.signal(signal.SIGTERM, Stop.handler)
    prefix = make_prefix(args.dir)
    children: list[Child] = []
    status = 1
    try:
        status = serve(args, store, nginx, prefix, children)
    finally:
        # nginx first (SIGQUIT: it finishes the requests under way), so that no request meets a
        # stopped instance; then the instances together (SIGTERM: gunicorn's graceful stop,
        # about a second each).
        front = [child for child in children if child.name == "nginx"]
        for group in (front, [child for child in children if child not in front]):
            for child in group:
                child.signal(signal.SIGQUIT if child in front else signal.SIGTERM)
            for child in group:
                child.finish()
                print(f"stopped {child.name}", flush=True)
        if status == 0 and args.dir is None:
            shutil.rmtree(prefix, ignore_errors=True)
        else:
            print(f"logs kept in {prefix}", flush=True)
    return status


def _ports(text: str) -> list[int]:
    ports = [int(part) for part in text.split(",") if part.strip()]
    if not ports or not all(0 < port < 65536 for port in ports):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of ports")
    return ports


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--store", help="the shared store's URL (default: $LOGFILES_STORE)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1 (8080)")
    parser.add_argument(
        "--instance-ports", type=_ports, default=[8081, 8082], help="the instances' ports (8081,8082)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance (2)")
    parser.add_argument("--nginx", help="the nginx binary (default: nginx on PATH, else /usr/sbin/nginx)")
    parser.add_argument(
        "--dir", type=Path, help="directory for the configuration and logs (default: a new one, then removed)"
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
