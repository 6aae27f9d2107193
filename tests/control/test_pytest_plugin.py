"""The pytest plugin, run by pytest's own pytester as a user's test suite would use it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The pages whose pytest examples a user copies, and how many each holds at least.
EXAMPLE_PAGES = {"README.md": 1, "docs/pytest-plugin.md": 6, "docs/reference-agent.md": 1}

# Slow: each test runs a user's pytest in a subprocess (`-m "not slow"` leaves it out).
pytestmark = pytest.mark.slow

EXAMPLE = '''
import json
import urllib.error
import urllib.request

TOKEN = {"X-Auth-Token": "agent-token"}


def call(method, url, body=None, content_type=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(TOKEN))
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def upload_log(base_url, agent_id, logfile_id, attempts=3):
    """A toy agent: mark the log file started, then completed, retrying 503s."""
    url = f"{base_url}/v2/110011/agents/{agent_id}/logfiles/{logfile_id}"
    for state in ("started", "completed"):
        for _ in range(attempts):
            status, headers = call(
                "PATCH", url, [{"op": "replace", "path": "/state", "value": state}],
                "application/json-patch+json",
            )
            if status != 503:
                break
            assert headers["Retry-After"] == "0"
        assert status == 204, status


def test_agent_retries_a_503_and_completes(logfiles_stub):
    logfiles_stub.seed(
        agents=[{"id": "agent-1", "project_id": "110011"}],
        logfiles=[{"id": "log-1", "agent_id": "agent-1"}],
    )
    logfiles_stub.fault(method="PATCH", path="/v2/*/logfiles/log-1", status=503,
                        headers={"Retry-After": "0"}, times=1)
    upload_log(logfiles_stub.url, "agent-1", "log-1")
    patches = logfiles_stub.requests(method="PATCH")
    assert [p["status"] for p in patches] == [503, 204, 204]
    (logfile,) = logfiles_stub.state()["logfiles"]
    assert logfile["state"] == "completed"


def test_state_is_reset_between_tests(logfiles_stub):
    empty = {"agents": [], "documents": [], "logfiles": [], "events": [], "objects": []}
    assert logfiles_stub.state() == empty
    assert logfiles_stub.requests() == []


def test_frozen_clock_dates_new_logfiles(logfiles_stub):
    logfiles_stub.seed(agents=[{"id": "a", "project_id": "p"}])
    logfiles_stub.freeze("2014-09-23T12:22:40.606703Z")
    request = urllib.request.Request(
        logfiles_stub.url + "/v2/p/agents/a/logfiles", method="POST", headers=TOKEN
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["date"] == "2014-09-23T12:22:40.606703Z"
'''


def test_plugin_fixture_serves_resets_and_controls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_plugin_reports_a_failing_user_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fails="""
def test_expects_a_logfile(logfiles_stub):
    assert logfiles_stub.state()["logfiles"], "nothing seeded"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*nothing seeded*"])


def test_documented_example_tests_pass(pytester: pytest.Pytester) -> None:
    """The complete examples of README.md and docs/ are run as written, so the documentation stays true."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    found = {
        page.relative_to(REPO).as_posix(): [
            b for b in re.findall(r"```python\n(.*?)```", page.read_text(), re.S) if "logfiles_stub" in b
        ]
        for page in pages
    }
    # A retry, a truncated answer, an agent's loop, HTTPS, the seed marker, a wait; end to end.
    for page, least in EXAMPLE_PAGES.items():
        assert len(found.get(page, [])) >= least, f"{page}: its pytest examples are gone"
    examples = [example for blocks in found.values() for example in blocks]
    pytester.makepyfile(**{f"test_doc_{n}": example for n, example in enumerate(examples)})
    # "Testing an agent end to end" runs the reference agent, as a user's repository holds it.
    shutil.copytree(REPO / "examples", pytester.path / "examples")
    tests = sum(len(re.findall(r"^def test_", example, re.M)) for example in examples)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=tests)


def test_plugin_seed_marker_seeds_with_the_reset(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import pytest

@pytest.mark.logfiles_seed(agents=[{"id": "a1", "project_id": "110011"}],
                           logfiles=[{"id": "l1", "agent_id": "a1", "state": "started"}])
def test_seeded(logfiles_stub):
    assert logfiles_stub.seeded["counts"]["logfiles"] == 1
    assert [lf["state"] for lf in logfiles_stub.state()["logfiles"]] == ["started"]

def test_next_test_starts_empty(logfiles_stub):
    assert logfiles_stub.seeded is None
    assert logfiles_stub.state()["agents"] == []
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=2)
