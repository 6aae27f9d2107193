"""Developer entry: `python app.py` serves with Flask's dev server on 127.0.0.1:8080."""

from __future__ import annotations

import os

from wsgi import app

if __name__ == "__main__":
    host, _, port = os.environ.get("LOGFILES_BIND", "127.0.0.1:8080").rpartition(":")
    app.run(host=host or "127.0.0.1", port=int(port), threaded=True)
