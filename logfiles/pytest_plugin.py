"""pytest plugin (entry point `pytest11`): a running stub per session, reset before each test.

def test_upload(logfiles_stub):
    logfiles_stub.seed(agents=[{"id": "a1", "project_id": "110011"}],
                       logfiles=[{"id": "l1", "agent_id": "a1"}])
    my_agent.run(base_url=logfiles_stub.url)
    assert logfiles_stub.requests(method="PATCH")[-1]["status"] == 204
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import testing
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
    """Base URL of the session's stub, e.g. http://127.0.0.1:41234: --logfiles-url, or started here.

    The one started here is `logfiles.testing.running_stub()`, the same stub a unittest
    suite gets: the app (memory store, open mode) served from a thread of this process on
    a free 127.0.0.1 port, with no subprocess, ready at once.
    """
    given = request.config.getoption("--logfiles-url")
    if given:
        yield str(given).rstrip("/")
        return
    # The one way to start a stub, looked up through the module when called so a suite can wrap it.
    with testing.running_stub() as stub:
        yield stub.url


@pytest.fixture
def logfiles_stub(logfiles_server: str, request: pytest.FixtureRequest) -> StubClient:
    """A control-plane client for the session's stub, with every state reset for this test."""
    client = StubClient(logfiles_server, request.config.getoption("--logfiles-control-token"))
    client.reset()
    return client
