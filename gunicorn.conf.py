"""gunicorn settings, read by default from the repository root by `gunicorn wsgi:app`.

Everything comes from LOGFILES_* (see logfiles/serving.py); a bad value stops the start
with one line, before any worker is forked.
"""

from __future__ import annotations

from typing import Any

from logfiles.config import Settings
from logfiles.errors import ConfigError
from logfiles.serving import (
    check_startup,
    check_worker_count,
    exit_on_config_error,
    gunicorn_options,
    tls_options,
)

# gunicorn lets SystemExit out of a configuration file (any other exception is a traceback),
# so the status is CONFIG_ERROR_STATUS, the same as every other entry point's.
try:
    _settings = Settings.from_env()
    globals().update(gunicorn_options(_settings))
    check_startup(_settings)
    # TLS: the certificate is made (or the given one checked) here, in the master, once.
    globals().update(tls_options(_settings))
except ConfigError as exc:
    exit_on_config_error(exc)


def on_starting(server: Any) -> None:
    """Also catch `-w N` or WEB_CONCURRENCY given on the command line."""
    try:
        check_worker_count(_settings, server.cfg.workers)
    except ConfigError as exc:
        exit_on_config_error(exc)
