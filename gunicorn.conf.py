"""gunicorn settings, read by default from the repository root by `gunicorn wsgi:app`."""

from __future__ import annotations

import os
import sys

from logfiles.config import Settings
from logfiles.errors import ConfigError

# Check every LOGFILES_* value before any worker starts: one clear line, no traceback.
try:
    _settings = Settings.from_env()
except ConfigError as exc:
    print(f"logfiles: configuration error: {exc}", file=sys.stderr, flush=True)
    sys.exit(1)

bind = [os.environ.get("LOGFILES_BIND", "127.0.0.1:8080")]

# The memory store lives in one process: one worker, threads for concurrency.
workers = 1
worker_class = "gthread"
threads = 8

# SPEC: request lines up to 8 KiB and header fields up to 16 KiB reach the application,
# which answers them in JSON (0 lifts gunicorn's request-line cap).
limit_request_line = 0
limit_request_field_size = 32768

# A person can read these: client, request line, status, milliseconds.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
