"""Serve the stub from a thread of the calling process, for any test suite; no pytest here.

import unittest
from logfiles.testing import running_stub

class UploadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stub = cls.enterClassContext(running_stub())

    def setUp(self):
        self.stub.reset()

    def test_upload(self):
        my_agent.run(base_url=self.stub.url)

HTTPS: `running_stub(Settings(tls=True))` serves https with a certificate made for
localhost, 127.0.0.1 and ::1 by a throw-away CA; `stub.url` says https and `stub.ca_file`
is the CA certificate to trust (`requests.get(url, verify=stub.ca_file)`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from .client import StubClient
from .config import Settings

LOOPBACK = "127.0.0.1"


@contextmanager
def running_stub(settings: Settings | None = None) -> Iterator[StubClient]:
    """Serve the app on a free 127.0.0.1 port until the block ends; yield a client for it.

    The default is `Settings()` (memory store, open mode, control plane on), not the
    LOGFILES_* environment, so a suite gets the same stub on every machine. The client's
    `url` is the base URL, and it carries `settings.control_token`. The socket listens
    before this yields, so the stub is ready at once.

    With `settings.serves_tls` it serves https: with the given certificate, or one made by a
    throw-away CA whose certificate is written to `settings.tls_ca_file`, by default into a
    temporary directory of this stub's (removed when the block ends, so suites side by side
    never share one); the client's `ca_file` is that CA.
    """
    # Imported here so that importing this module (or the pytest plugin) stays cheap.
    from werkzeug.serving import WSGIRequestHandler, make_server

    from . import create_app

    class QuietHandler(WSGIRequestHandler):
        """No line per request on stderr, which unittest does not capture; the journal has them."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    settings = settings or Settings()
    with ExitStack() as cleanup:
        certificate = None
        if settings.serves_tls:
            from .tls import server_certificate

            directory = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="logfiles-tls-"))
            if settings.tls_cert is None and settings.tls_ca_file is None:
                settings = dataclasses.replace(settings, tls_ca_file=os.path.join(directory, "ca.pem"))
            certificate = server_certificate(settings, directory)
        app = create_app(settings)
        server = make_server(LOOPBACK, 0, app, threaded=True, request_handler=QuietHandler)
        if certificate is not None:
            # As werkzeug does with its `ssl_context`, except that the handshake happens in the
            # connection's thread, on its first read: in accept(), a client that never
            # completes one would stop the stub from taking any other connection.
            context = certificate.server_context()
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
            server.ssl_context = context  # werkzeug's sign of https (wsgi.url_scheme)
        thread = threading.Thread(target=server.serve_forever, name="logfiles-stub", daemon=True)
        thread.start()
        scheme = "http" if certificate is None else "https"
        try:
            yield StubClient(
                f"{scheme}://{LOOPBACK}:{server.server_port}",
                settings.control_token,
                ca_file=None if certificate is None else certificate.ca_file,
            )
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
