"""The pytest plugin page's example of waiting for an agent's background PATCH, run as a user's
suite runs it. docs/pytest-plugin.md must show this text word for word (the docs' own example
test runs that copy too).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WAIT_EXAMPLE = '''import json
import threading
import urllib.request


def report_completed(base_url, agent_id, logfile_id):
    """The agent under test: it reports from a thread of its own, when it gets to it."""
    request = urllib.request.Request(
        f"{base_url}/v2/110011/agents/{agent_id}/logfiles/{logfile_id}",
        data=json.dumps([{"op": "replace", "path": "/state", "value": "completed"}]).encode(),
        method="PATCH",
        headers={"X-Auth-Token": "agent-token", "Content-Type": "application/json-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def test_agent_reports_in_the_background(logfiles_stub):
    logfiles_stub.seed(
        agents=[{"id": "agent-1", "project_id": "110011"}],
        logfiles=[{"id": "log-1", "agent_id": "agent-1"}],
    )
    agent = threading.Timer(0.2, report_completed, args=(logfiles_stub.url, "agent-1", "log-1"))
    agent.start()

    patch = logfiles_stub.wait_for_request(method="PATCH", path="/v2/*/logfiles/log-1", timeout=10)

    assert patch["status"] == 204
    logfiles_stub.assert_requested(method="PATCH", path="/v2/*/logfiles/log-1", times=1)
    assert logfiles_stub.state()["logfiles"][0]["state"] == "completed"
    agent.join()
'''


@pytest.mark.slow  # a user's pytest in a subprocess
def test_wait_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_wait_example=WAIT_EXAMPLE)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow  # a user's pytest in a subprocess
def test_wait_example_fails_readably_when_the_agent_never_reports(pytester: pytest.Pytester) -> None:
    silent = WAIT_EXAMPLE.replace("    agent.start()\n", "").replace("timeout=10", "timeout=0.1")
    silent = silent.replace("    agent.join()\n", "")
    pytester.makepyfile(test_silent_agent=silent)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*TimeoutError: No request matched PATCH /v2/*/logfiles/log-1 within 0.1 s.", "*Received: nothing*"]
    )


def test_docs_wait_example_is_this_one() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md").read_text()
    found = [b for b in re.findall(r"```python\n(.*?)```", page, re.S) if "wait_for_request" in b]
    assert found == [WAIT_EXAMPLE], "docs/pytest-plugin.md must show the wait example as this module runs it"
