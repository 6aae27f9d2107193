"""The pytest plugin page's example of an agent that retries after a truncated answer, run as a
user's suite runs it (pytester, the `logfiles_stub` fixture, the in-process server).

`test_documented_example_tests_pass` (test_pytest_plugin.py) runs every example of the docs that
uses `logfiles_stub`, this one included; the test here keeps the two copies the same, so
docs/pytest-plugin.md shows exactly what this file runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"

EXAMPLE = '''
import requests

# A body cut short is a ChunkedEncodingError to requests, not a ConnectionError.
BROKEN = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def logfile_state(url, attempts=3):
    """The agent under test: read a log file's state, retrying an answer that broke off."""
    for attempt in range(1, attempts + 1):
        try:
            response = requests.get(url, headers={"X-Auth-Token": "agent-token"}, timeout=5)
        except BROKEN:
            if attempt == attempts:
                raise
            continue
        response.raise_for_status()
        return response.json()["state"]


def test_agent_retries_a_truncated_answer(logfiles_stub):
    logfiles_stub.seed(
        agents=[{"id": "agent-1", "project_id": "110011"}],
        logfiles=[{"id": "log-1", "agent_id": "agent-1"}],
    )
    # The first GET of the log file gets its headers and half its JSON, then the connection closes.
    rule = logfiles_stub.fault(action="truncate", method="GET", path="/v2/*/logfiles/log-1", times=1)
    url = f"{logfiles_stub.url}/v2/110011/agents/agent-1/logfiles/log-1"

    assert logfile_state(url) == "requested"

    gets = logfiles_stub.requests(method="GET")
    assert [(get["status"], get["fault"]) for get in gets] == [(200, rule["id"]), (200, None)]
'''


@pytest.mark.slow  # a user's pytest in a subprocess
def test_truncated_answer_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=EXAMPLE)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_docs_show_the_example_as_it_is_run() -> None:
    blocks = [b for b in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S) if "truncate" in b]
    assert blocks, f"{PAGE.name} has lost its broken-answers example"
    assert EXAMPLE.strip() in [block.strip() for block in blocks]
