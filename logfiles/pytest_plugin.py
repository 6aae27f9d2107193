"""pytest plugin (entry point `pytest11`): a running stub per session, reset before each test.

def test_upload(logfiles_stub):
    logfiles_stub.seed(agents=[{"id": "a1", "project_id": "110011"}],
                       logfiles=[{"id": "l1", "agent_id": "a1"}])
    my_agent.run(base_url=logfiles_stub.url)
    assert logfiles_stub.requests(method="PATCH")[-1]["status"] == 204

def test_upload_over_https(logfiles_stub_https):       # the same, served over TLS
    my_agent.run(base_url=logfiles_stub_https.url,       # https://127.0.0.1:<port>
                 ca_file=logfiles_stub_https.ca_file)    # the CA that signed its certificate

def test_background_report(logfiles_stub):             # an agent on its own schedule
    my_agent.start_in_background(base_url=logfiles_stub.url)
    # The stub waits (no polling loop, no sleep here): the oldest PATCH the filters select,
    # as soon as there is one; TimeoutError after 10 s, listing every request received.
    patch = logfiles_stub.wait_for_request(method="PATCH", path="/v2/*/logfiles/*", timeout=10)
    assert patch["status"] == 204 and patch["response_body"] == ""
    # Exactly one (times=None: at least one); else AssertionError listing what was received.
    logfiles_stub.assert_requested(method="PATCH", times=1)
    assert logfiles_stub.count(status=409) == 0
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import testing
from .client import StubClient
from .config import Settings


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
    group.addoption(
        "--logfiles-https-url",
        default=None,
        help="for logfiles_stub_https: an already running https logfiles-stub at this base URL",
    )
    group.addoption(
        "--logfiles-ca-file",
        default=None,
        help="the CA certificate that server's certificate is trusted through (its LOGFILES_TLS_CA_FILE)",
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "logfiles_seed(agents=..., logfiles=..., generate=..., events=..., objects=...): "
        "what logfiles_stub seeds, in the same call as its reset",
    )


@pytest.fixture
def logfiles_stub(logfiles_server: str, request: pytest.FixtureRequest) -> StubClient:
    """A control-plane client for the session's stub, with every state reset for this test.

    A `@pytest.mark.logfiles_seed(agents=[...], logfiles=[...])` on the test seeds in the
    same call as the reset; its answer (ids made, counts) is the client's `seeded`.
    """
    client = StubClient(logfiles_server, request.config.getoption("--logfiles-control-token"))
    marker = request.node.get_closest_marker("logfiles_seed")
    client.seeded = client.reset(**marker.kwargs) if marker is not None else client.reset()
    return client


@pytest.fixture(scope="session")
def logfiles_https_server(request: pytest.FixtureRequest) -> Iterator[StubClient]:
    """The session's https stub, as a client whose `url` and `ca_file` say where and whom to trust.

    --logfiles-https-url (and --logfiles-ca-file), or started here on first use:
    `logfiles.testing.running_stub(Settings(tls=True))`, served from a thread of this process
    with a certificate made for localhost and 127.0.0.1 by a throw-away CA, whose
    certificate is in a temporary directory removed at the end of the session.
    """
    given = request.config.getoption("--logfiles-https-url")
    token = request.config.getoption("--logfiles-control-token")
    if given:
        yield StubClient(
            str(given).rstrip("/"), token, ca_file=request.config.getoption("--logfiles-ca-file")
        )
        return
    with testing.running_stub(Settings(tls=True)) as stub:
        yield stub


@pytest.fixture
def logfiles_stub_https(logfiles_https_server: StubClient, request: pytest.FixtureRequest) -> StubClient:
    """`logfiles_stub` over https: `url` is https://..., `ca_file` the CA to trust; reset for this test."""
    client = StubClient(
        logfiles_https_server.url,
        request.config.getoption("--logfiles-control-token"),
        ca_file=logfiles_https_server.ca_file,
    )
    client.reset()
    return client
