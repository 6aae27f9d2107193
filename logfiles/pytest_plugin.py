"""pytest plugin (entry point `pytest11`): a running stub per session, reset before each test.

def test_upload(logfiles_stub):
    logfiles_stub.seed(agents=[{"id": "a1", "project_id": "110011"}],
                       logfiles=[{"id": "l1", "agent_id": "a1"}])
    my_agent.run(base_url=logfiles_stub.url)
    assert logfiles_stub.requests(method="PATCH")[-1]["status"] == 204
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from .client import StubClient


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("logfiles-stub")
    group.addoption(
        "--logfiles-url",
        default=None,
        help="use an already running logfiles-stub at this base URL instead of starting one",
    )
    group.addoption(
        "--logfiles-control-token",
        default=None,
        help="the X-Control-Token of that server, if it requires one",
    )


@pytest.fixture(scope="session")
def logfiles_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Base URL of a stub for the whole session: given by --logfiles-url, or started here.

    The one started here serves the app (memory store, open mode) from a thread of this
    process on a free 127.0.0.1 port: no subprocess, ready in milliseconds.
    """
    given = request.config.getoption("--logfiles-url")
    if given:
        yield str(given).rstrip("/")
        return
    from werkzeug.serving import make_server

    from . import Settings, create_app

    server = make_server("127.0.0.1", 0, create_app(Settings()), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="logfiles-stub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def logfiles_stub(logfiles_server: str, request: pytest.FixtureRequest) -> StubClient:
    """A control-plane client for the session's stub, with every state reset for this test."""
    client = StubClient(logfiles_server, request.config.getoption("--logfiles-control-token"))
    client.reset()
    return client
