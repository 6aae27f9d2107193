"""The plugin's https stub (`logfiles_stub_https`), run by pytester as a user's suite would use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from logfiles.config import Settings
from logfiles.testing import running_stub

# Slow: each test runs a user's pytest or a server in a subprocess (`-m "not slow"` leaves it out).
pytestmark = pytest.mark.slow

EXAMPLE = """
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests

TOKEN = {"X-Auth-Token": "agent-token"}


def test_an_agent_talks_https_trusting_the_stubs_ca(logfiles_stub_https):
    stub = logfiles_stub_https
    assert stub.url.startswith("https://127.0.0.1:")
    Path("ca_file.txt").write_text(stub.ca_file)  # for the outer test: gone after the session?
    stub.seed(agents=[{"id": "a", "project_id": "p"}])
    context = ssl.create_default_context(cafile=stub.ca_file)
    request = urllib.request.Request(stub.url + "/v2/p/agents/a/logfiles", method="POST", headers=TOKEN)
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        location = response.headers["Location"]
        body = json.load(response)
    assert location.startswith(stub.url + "/v2/p/agents/a/logfiles/")
    assert body["links"] == [{"href": location, "rel": "self"}]
    assert [entry["status"] for entry in stub.requests()] == [202]


def test_state_is_reset_between_tests(logfiles_stub_https):
    empty = {"agents": [], "documents": [], "logfiles": [], "events": [], "objects": []}
    assert logfiles_stub_https.state() == empty


def test_requests_verifies_with_the_ca_file(logfiles_stub_https):
    url = logfiles_stub_https.url + "/healthz"
    assert requests.get(url, verify=logfiles_stub_https.ca_file, timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=5)


def test_a_client_without_the_ca_refuses_the_stub(logfiles_stub_https):
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(logfiles_stub_https.url + "/healthz", timeout=5)


def test_http_and_https_stubs_side_by_side(logfiles_stub, logfiles_stub_https):
    assert logfiles_stub.url.startswith("http://") and logfiles_stub.ca_file is None
    logfiles_stub.seed(agents=[{"id": "only-on-http", "project_id": "p"}])
    assert logfiles_stub_https.state()["agents"] == []
"""


def test_https_fixture_serves_trusts_and_resets(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent_https=EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    ca_file = Path(pytester.path / "ca_file.txt").read_text()
    assert ca_file.endswith("ca.pem")
    assert not Path(ca_file).exists()  # the session's CA went with its stub


def test_https_fixture_uses_a_running_stub_given_on_the_command_line(pytester: pytest.Pytester) -> None:
    with running_stub(Settings(tls=True)) as stub:
        assert stub.ca_file is not None
        pytester.makepyfile(
            test_given=f"""
def test_the_given_stub_and_ca(logfiles_stub_https):
    assert logfiles_stub_https.url == {stub.url!r}
    assert logfiles_stub_https.ca_file == {stub.ca_file!r}
    logfiles_stub_https.seed(agents=[{{"id": "seen-outside", "project_id": "p"}}])
"""
        )
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            f"--logfiles-https-url={stub.url}/",
            f"--logfiles-ca-file={stub.ca_file}",
        )
        result.assert_outcomes(passed=1)
        assert [agent["id"] for agent in stub.state()["agents"]] == ["seen-outside"]
