"""gunicorn entry: `gunicorn wsgi:app`. A bad LOGFILES_* value stops the start with one line."""

from __future__ import annotations

from logfiles import ConfigError, create_app
from logfiles.serving import exit_on_config_error

try:
    app = create_app()
except ConfigError as exc:
    # Status 4 (serving.CONFIG_ERROR_STATUS) also makes gunicorn's arbiter halt, not respawn.
    exit_on_config_error(exc)
