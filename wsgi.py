"""gunicorn entry: `gunicorn wsgi:app`. A bad LOGFILES_* value stops the start with one line."""

from __future__ import annotations

import sys

from logfiles import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    print(f"logfiles: configuration error: {exc}", file=sys.stderr, flush=True)
    # 4 is gunicorn's APP_LOAD_ERROR: the arbiter halts instead of restarting the worker.
    sys.exit(4)
