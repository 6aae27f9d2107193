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
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
    """
    # Imported here so that importing this module (or the pytest plugin) stays cheap.
    from werkzeug.serving import WSGIRequestHandler, make_server

    from . import create_app

    class QuietHandler(WSGIRequestHandler):
        """No line per request on stderr, which unittest does not capture; the journal has them."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    settings = settings or Settings()
    app = create_app(settings)
    server = make_server(LOOPBACK, 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="logfiles-stub", daemon=True)
    thread.start()
    try:
        yield StubClient(f"http://{LOOPBACK}:{server.server_port}", settings.control_token)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
