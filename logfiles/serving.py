"""gunicorn settings derived from LOGFILES_*, and how every entry point stops on a bad one."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from .config import MEMORY_ONE_WORKER, Settings
from .errors import ConfigError

if TYPE_CHECKING:
    from .tls import ServerCertificate

# The exit status of every entry point (gunicorn.conf.py, wsgi.py, app.py, `logfiles-stub
# serve`) when a LOGFILES_* value is bad. It is 4, gunicorn's APP_LOAD_ERROR, because that is
# the one status that works from a worker too: when wsgi.py fails inside a gunicorn worker
# (gunicorn run without our gunicorn.conf.py), the arbiter halts and exits with the worker's
# status only for 3 (WORKER_BOOT_ERROR) and 4; any other status makes it fork the worker
# again, forever. 4 also differs from 1 (a crash) and 2 (a command-line usage error), so a
# script can tell a bad configuration from either.
CONFIG_ERROR_STATUS = 4

# logfiles/worker.py: gunicorn's gevent worker plus a read timeout and JSON error answers.
WORKER_CLASS = "logfiles.worker.Worker"
# Connections one worker holds at once (idle, stalled or being answered). The memory store
# has one worker: 5,000 stalled clients must leave room for everyone else, and past the cap
# the worker closes the slow holders that made least progress (logfiles/worker.py). Each is
# a file descriptor; the worker raises its soft limit to fit, and takes fewer connections
# where the hard limit is lower.
WORKER_CONNECTIONS = 10_000
LIMIT_REQUEST_LINE = 8190
# gunicorn's ssl_context hook (logfiles/worker.py), named so that this module imports no gevent.
TLS_CONTEXT_HOOK = "logfiles.worker.ssl_context"


def report_config_error(error: ConfigError) -> int:
    """Print the one line that names the variable; return the status to exit with."""
    print(f"logfiles: configuration error: {error}", file=sys.stderr, flush=True)
    return CONFIG_ERROR_STATUS


def exit_on_config_error(error: ConfigError) -> NoReturn:
    """For the entry scripts: the one line, then exit with CONFIG_ERROR_STATUS."""
    sys.exit(report_config_error(error))


def default_workers() -> int:
    """For a shared SQLite store: one worker per core, at least two."""
    return max(2, os.cpu_count() or 1)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings for this configuration (Settings has checked every value)."""
    memory = settings.store_url == "memory"
    return {
        "bind": [settings.bind],
        "workers": settings.workers or (1 if memory else default_workers()),
        # gevent: a connection is a greenlet, not a thread, so stalled or idle clients and
        # latency faults cannot take every worker's capacity (README "Reliability").
        "worker_class": WORKER_CLASS,
        "worker_connections": WORKER_CONNECTIONS,
        # SPEC: request lines up to 8 KiB reach the application. gunicorn counts the line
        # without its CRLF and caps this setting at 8190, so 8190 lets every 8 KiB line
        # (CRLF included) through and is the largest bound it offers; 0 would mean none.
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_field_size": 32768,
        # A person can read these: time, client, request line, status, bytes, milliseconds.
        # Off, it saves about a quarter of a worker's time under load (bench/README.md).
        "accesslog": "-" if settings.access_log else None,
        "access_log_format": '%(t)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms',
        "errorlog": "-",
        # gunicorn's control socket is one path per user: stubs started side by side would
        # fight over it, and nothing here uses it.
        "control_socket_disable": True,
    }


def check_startup(settings: Settings) -> None:
    """Open what the app will open (tokens file, store) once, so a bad value stops the master."""
    from .auth import load_tokens
    from .store import open_store

    load_tokens(settings.tokens_file)
    open_store(settings.store_url).close()


def tls_certificate(settings: Settings, directory: str | None = None) -> ServerCertificate | None:
    """The certificate to serve (made, or the given one checked), announced in one line; None: http.

    For the process that forks the workers (gunicorn.conf.py runs in gunicorn's master), so
    that every worker serves the same certificate; after check_startup, so a bad store
    leaves no CA behind. `directory`: where a certificate made goes (tls.server_certificate).
    """
    from .tls import server_certificate

    certificate = server_certificate(settings, directory)
    if certificate is not None:
        print(certificate.announcement(), file=sys.stderr, flush=True)
    return certificate


def tls_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's TLS settings for `tls_certificate`; empty for plain http."""
    certificate = tls_certificate(settings)
    if certificate is None:
        return {}
    return {
        "certfile": certificate.cert_file,
        "keyfile": certificate.key_file,
        # The worker finishes each handshake itself, bounded, so a client that never
        # completes one (or speaks plain http) costs one log line, not a greenlet for good.
        "ssl_context": TLS_CONTEXT_HOOK,
    }


def check_worker_count(settings: Settings, workers: int) -> None:
    """Refuse `gunicorn -w N` (N > 1) with the memory store: N processes, N different worlds."""
    if settings.store_url == "memory" and workers > 1:
        raise ConfigError("LOGFILES_STORE", MEMORY_ONE_WORKER)
