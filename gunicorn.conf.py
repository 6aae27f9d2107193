"""gunicorn settings, read by default from the repository root by `gunicorn wsgi:app`.

Everything comes from LOGFILES_* (see logfiles/serving.py); a bad value stops the start
with one line, before any worker is forked.
"""

from __future__ import annotations

import sys
from typing import Any

from logfiles.config import Settings
from logfiles.errors import ConfigError
from logfiles.serving import check_startup, check_worker_count, gunicorn_options


def _fail(exc: ConfigError) -> None:
    print(f"logfiles: configuration error: {exc}", file=sys.stderr, flush=True)
    sys.exit(1)


try:
    _settings = Settings.from_env()
    globals().update(gunicorn_options(_settings))
    check_startup(_settings)
except ConfigError as exc:
    _fail(exc)


def on_starting(server: Any) -> None:
    """Also catch `-w N` or WEB_CONCURRENCY given on the command line."""
    try:
        check_worker_count(_settings, server.cfg.workers)
    except ConfigError as exc:
        _fail(exc)
