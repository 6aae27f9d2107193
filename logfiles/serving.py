"""gunicorn settings derived from LOGFILES_* (one source for gunicorn.conf.py and the CLI)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .config import Settings
from .errors import ConfigError

DEFAULT_BIND = "127.0.0.1:8080"
MEMORY_REFUSAL = (
    "LOGFILES_STORE: the memory store lives in one process, so it runs exactly one worker "
    "(threads serve requests concurrently); for several workers use sqlite:///<path>"
)


def default_workers() -> int:
    """For a shared SQLite store: one worker per core, at least two."""
    return max(2, os.cpu_count() or 1)


def gunicorn_options(settings: Settings, environ: Mapping[str, str]) -> dict[str, Any]:
    """The gunicorn settings for this configuration; ConfigError for a bad LOGFILES_* value."""
    workers_raw = environ.get("LOGFILES_WORKERS", "").strip()
    if workers_raw and not workers_raw.isdecimal():
        raise ConfigError("LOGFILES_WORKERS", f"{workers_raw!r} is not a positive integer")
    memory = settings.store_url == "memory"
    workers = int(workers_raw) if workers_raw else (1 if memory else default_workers())
    if workers < 1:
        raise ConfigError("LOGFILES_WORKERS", "must be at least 1")
    if memory and workers > 1:
        raise ConfigError("LOGFILES_WORKERS", MEMORY_REFUSAL.removeprefix("LOGFILES_STORE: "))
    return {
        "bind": [environ.get("LOGFILES_BIND", "").strip() or DEFAULT_BIND],
        "workers": workers,
        "worker_class": "gthread",
        "threads": 8 if memory else 4,
        # SPEC: request lines up to 8 KiB and header fields up to 16 KiB must reach the
        # application, which answers them in JSON (0 lifts gunicorn's request-line cap).
        "limit_request_line": 0,
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


def check_worker_count(settings: Settings, workers: int) -> None:
    """Refuse `gunicorn -w N` (N > 1) with the memory store: N processes, N different worlds."""
    if settings.store_url == "memory" and workers > 1:
        raise ConfigError("LOGFILES_STORE", MEMORY_REFUSAL.removeprefix("LOGFILES_STORE: "))
