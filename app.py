"""Developer entry: `python app.py` serves with Flask's dev server on LOGFILES_BIND (127.0.0.1:8080)."""

from __future__ import annotations

from wsgi import app

if __name__ == "__main__":
    host, _, port = app.extensions["logfiles"].settings.bind.rpartition(":")
    app.run(host=host or "127.0.0.1", port=int(port), threaded=True)
