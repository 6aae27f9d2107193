"""Developer entry: `python app.py` serves with Flask's dev server on LOGFILES_BIND (127.0.0.1:8080)."""

from __future__ import annotations

import tempfile

from logfiles.config import bind_address
from logfiles.errors import ConfigError
from logfiles.serving import exit_on_config_error, tls_certificate
from wsgi import app

if __name__ == "__main__":
    settings = app.extensions["logfiles"].settings
    # Settings has checked the value, so this is the address gunicorn would listen on too.
    host, port = bind_address(settings.bind)
    # LOGFILES_TLS*: https here too, as under gunicorn. One process: the key is read once, into
    # the context, so a certificate made here leaves no file behind, however this one ends.
    with tempfile.TemporaryDirectory(prefix="logfiles-tls-") as directory:
        try:
            certificate = tls_certificate(settings, directory)
        except ConfigError as exc:
            exit_on_config_error(exc)
        context = None if certificate is None else certificate.server_context()
    app.run(host=host, port=port, threaded=True, ssl_context=context)
