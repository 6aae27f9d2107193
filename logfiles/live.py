"""A real stub server as a subprocess, for black-box tests and benchmarks. Standard library only.

Start the stub as its users run it, on a free 127.0.0.1 port, wait until `/healthz` answers
200 (with a deadline), and stop it and every process it forked:

    from logfiles import live

    with live.start(log_dir=tmp_path) as server:      # `logfiles-stub serve`, in memory
        urllib.request.urlopen(server.url + "/healthz")

    server = live.start(live.gunicorn_command(), cwd=repo_root, log_dir=tmp_path,
                        env={"LOGFILES_STORE": "sqlite:///" + str(tmp_path / "stub.db")})
    ...
    server.stop()

    with live.start(log_dir=tmp_path, tls=True) as server:   # https, a CA made at start
        urllib.request.urlopen(server.url + "/healthz", context=server.ssl_context())

- Configuration is LOGFILES_* only: `env` is added to this process's environment with every
  LOGFILES_* variable (and gunicorn's GUNICORN_CMD_ARGS and WEB_CONCURRENCY) removed, so the
  caller's shell cannot change what is tested; LOGFILES_BIND is set to the chosen port.
- The server's standard output and error go to a file in `log_dir`; a start that fails
  (the process exits, or no 200 before the deadline) raises `StartError` with the log's tail.
- HTTPS: `tls=True` sets LOGFILES_TLS=on and LOGFILES_TLS_CA_FILE to `ca_file` (default: a
  file in `log_dir`), so the server makes a CA and writes its certificate there; `url` says
  https and the readiness probe trusts that CA (and nothing else). A caller that configures
  TLS itself in `env` (LOGFILES_TLS_CERT/KEY) passes the CA that signed it as `ca_file`.
- The server runs in its own session, so its process group is the master and its workers:
  `stop()` sends SIGTERM to the group (gunicorn stops gracefully), then SIGKILL to whatever
  of the group is left after the timeout.

No pytest and no `requests` here: any test runner (or none) can use it. It imports nothing
from the rest of the package.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

__all__ = [
    "LiveServer",
    "StartError",
    "free_port",
    "gunicorn_command",
    "server_env",
    "start",
    "stub_command",
]

HOST = "127.0.0.1"
READY_PATH = "/healthz"
# Variables that would change what gunicorn runs behind the caller's back.
FOREIGN_ENV = ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")
LOG_TAIL_LINES = 40
# Readiness goes straight to the loopback port: an http_proxy in the environment must not see it.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartError(RuntimeError):
    """The server exited, or did not answer 200 on its ready path, before the deadline."""

    def __init__(self, reason: str, log: Path, tail: str) -> None:
        super().__init__(f"{reason}; log {log}:\n{tail}")
        self.reason = reason
        self.log = log
        self.tail = tail


def free_port(host: str = HOST) -> int:
    """A port nothing listens on now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def stub_command() -> tuple[str, ...]:
    """`logfiles-stub serve` with this interpreter: works from any installation and directory."""
    return (sys.executable, "-m", "logfiles.cli", "serve")


def gunicorn_command(app: str = "wsgi:app", *options: str) -> tuple[str, ...]:
    """`python -m gunicorn OPTIONS APP`; run it from a directory that has `app` (and gunicorn.conf.py)."""
    return (sys.executable, "-m", "gunicorn", *options, app)


def server_env(env: Mapping[str, str] | None, host: str, port: int) -> dict[str, str]:
    """This process's environment without LOGFILES_* and FOREIGN_ENV, plus `env`, bound to `host:port`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOGFILES_") and k not in FOREIGN_ENV}
    environ.update(env or {})
    # The helper owns the address: `url` must be where the server listens.
    environ["LOGFILES_BIND"] = f"{host}:{port}"
    return environ


@dataclass
class LiveServer:
    """One server process and its process group; `url` is its base URL, `log` its output."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    name: str = "stub"
    ready_path: str = READY_PATH
    ca_file: Path | None = None  # the CA an https server's certificate is trusted through
    _stopped: bool = field(default=False, init=False, repr=False)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def output(self) -> str:
        """Everything the server wrote so far."""
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.output().strip().splitlines()[-lines:]) or "(empty log)"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts `ca_file` only (OSError while the server has not written it)."""
        return ssl.create_default_context(cafile=None if self.ca_file is None else str(self.ca_file))

    def answers(self, timeout: float = 1.0) -> bool:
        """Whether the ready path answers 200 now (over TLS, trusting `ca_file`, for https)."""
        try:
            opener = _DIRECT
            if self.url.startswith("https:"):
                # Made per probe: the server writes its CA file as it starts.
                opener = urllib.request.build_opener(
                    urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ssl_context())
                )
            with opener.open(self.url + self.ready_path, timeout=timeout) as response:
                return bool(response.status == 200)
        # Not listening yet, a 503 while booting, or too busy to answer within `timeout`; for
        # https also the CA file not written yet, or a stale one from an earlier run.
        except (OSError, http.client.HTTPException):
            return False

    def wait_ready(self, timeout: float = 20.0, poll: float = 0.01) -> None:
        """Return on the first 200 on the ready path; StartError if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise StartError(
                    f"{self.name} exited with status {code} before answering", self.log, self.log_tail()
                )
            if self.answers():
                return
            if time.monotonic() >= deadline:
                raise StartError(
                    f"{self.name}: no 200 on {self.ready_path} within {timeout:g} s",
                    self.log,
                    self.log_tail(),
                )
            time.sleep(poll)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send `sig` to the process group, wait up to `timeout`, SIGKILL what is left; the exit status.

        SIGTERM, not SIGINT or SIGQUIT: gunicorn's gthread worker shuts its thread pool down in
        its SIGQUIT handler, which deadlocks when the signal lands inside submit() (CPython issue
        121649), and the master then waits its graceful timeout before killing it.
        """
        if self._stopped:  # the group is gone; its id may belong to someone else by now
            return self.process.wait()
        pid = self.process.pid
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            _wait_exited(pid, timeout)
        # Workers that outlived their master (or a master stuck in its shutdown) go too. The
        # master is still unreaped here, so its pid, the group's id, cannot have been reused.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        code = self.process.wait(timeout)
        self._stopped = True
        return code

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_exited(pid: int, timeout: float) -> None:
    """Wait until child `pid` has exited, without reaping it (WNOWAIT), or until `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return
        except ChildProcessError:  # already reaped elsewhere
            return
        time.sleep(0.01)


def start(
    command: Sequence[str] | None = None,
    *,
    log_dir: Path | str,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    host: str = HOST,
    port: int | None = None,
    name: str = "stub",
    wait: bool = True,
    timeout: float = 20.0,
    ready_path: str = READY_PATH,
    tls: bool = False,
    ca_file: Path | str | None = None,
) -> LiveServer:
    """Start `command` (default: `stub_command()`) on host:port (default: a free port).

    With `wait`, return once it answers 200 on `ready_path`; if it does not, it is stopped
    and StartError raised. Without, the caller calls `wait_ready()` or watches it fail.
    `tls` and `ca_file`: see the module's docstring.
    """
    port = free_port(host) if port is None else port
    log = Path(log_dir) / f"{name}-{port}.log"
    env = dict(env or {})
    if tls:
        # The helper owns where the CA goes, as it owns the address: the probe must trust it.
        ca_file = Path(ca_file or Path(log_dir) / f"{name}-{port}-ca.pem").absolute()
        env.update({"LOGFILES_TLS": "on", "LOGFILES_TLS_CA_FILE": str(ca_file)})
    ca_path = None if ca_file is None else Path(ca_file).absolute()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            list(stub_command() if command is None else command),
            cwd=cwd,
            env=server_env(env, host, port),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    scheme = "http" if ca_path is None else "https"
    server = LiveServer(process, f"{scheme}://{host}:{port}", log, name, ready_path, ca_path)
    if wait:
        try:
            server.wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
    return server
