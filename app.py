"""Developer entry: `python app.py` serves with Flask's dev server on LOGFILES_BIND (127.0.0.1:8080)."""

from __future__ import annotations

from logfiles.config import bind_address
from wsgi import app

if __name__ == "__main__":
    # Settings has checked the value, so this is the address gunicorn would listen on too.
    host, port = bind_address(app.extensions["logfiles"].settings.bind)
    app.run(host=host, port=port, threaded=True)
