"""Developer entry: `python app.py` serves with Flask's dev server on LOGFILES_BIND (127.0.0.1:8080)."""

from __future__ import annotations

from logfiles.config import bind_address
from logfiles.errors import ConfigError
from logfiles.serving import exit_on_config_error, tls_certificate
from wsgi import app

if __name__ == "__main__":
    settings = app.extensions["logfiles"].settings
    # Settings has checked the value, so this is the address gunicorn would listen on too.
    host, port = bind_address(settings.bind)
    try:
        certificate = tls_certificate(settings)  # LOGFILES_TLS*: https here too, as under gunicorn
    except ConfigError as exc:
        exit_on_config_error(exc)
    tls = None if certificate is None else (certificate.cert_file, certificate.key_file)
    app.run(host=host, port=port, threaded=True, ssl_context=tls)
