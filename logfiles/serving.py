"""gunicorn settings derived from LOGFILES_* (one source for gunicorn.conf.py and the CLI)."""

from __future__ import annotations

import os
from typing import Any

from .config import MEMORY_ONE_WORKER, Settings
from .errors import ConfigError


def default_workers() -> int:
    """For a shared SQLite store: one worker per core, at least two."""
    return max(2, os.cpu_count() or 1)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings for this configuration (Settings has checked every value)."""
    memory = settings.store_url == "memory"
    return {
        "bind": [settings.bind],
        "workers": settings.workers or (1 if memory else default_workers()),
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
        raise ConfigError("LOGFILES_STORE", MEMORY_ONE_WORKER)
