"""`logfiles.testing.running_stub()`: the stub for a unittest suite, and the plugin's session server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from logfiles import Settings
from logfiles.client import ControlError, StubClient
from logfiles.testing import running_stub

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"


def get(url: str) -> tuple[int, object]:
    request = urllib.request.Request(url, headers={"X-Auth-Token": "t"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


class RunningStubTest(unittest.TestCase):
    """The way a unittest user holds one stub for a class of tests."""

    stub: StubClient

    @classmethod
    def setUpClass(cls) -> None:
        cls.stub = cls.enterClassContext(running_stub())

    def setUp(self) -> None:
        self.stub.reset()

    def test_url_is_a_free_loopback_port_serving_the_api(self) -> None:
        self.assertRegex(self.stub.url, r"^http://127\.0\.0\.1:\d+$")
        self.stub.seed(agents=[{"id": "a1", "project_id": "p"}])
        status, body = get(f"{self.stub.url}/v2/p/agents/a1")
        self.assertEqual(status, 200)
        self.assertEqual(body["id"], "a1")  # type: ignore[index]

    def test_reset_in_set_up_gives_each_test_an_empty_stub(self) -> None:
        self.assertEqual(
            self.stub.state(), {"agents": [], "documents": [], "logfiles": [], "events": [], "objects": []}
        )
        self.stub.seed(agents=[{"id": "a2", "project_id": "p"}])


def test_running_stub_stops_the_server_when_the_block_ends() -> None:
    with running_stub() as stub:
        assert stub.clock()["frozen"] is False
    with pytest.raises(OSError, match="refused"):  # nothing listens any more
        StubClient(stub.url, timeout=2).clock()


def test_running_stub_takes_settings_and_its_client_carries_the_control_token() -> None:
    with running_stub(Settings(control_token="s3cret")) as stub:
        assert stub.control_token == "s3cret"
        stub.reset()
        with pytest.raises(ControlError) as info:
            StubClient(stub.url).reset()
        assert info.value.status in (401, 403)


def test_running_stub_default_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFILES_CONTROL", "off")
    with running_stub() as stub:
        assert stub.state() == {"agents": [], "documents": [], "logfiles": [], "events": [], "objects": []}


@pytest.mark.slow  # `python -m unittest` in a subprocess
def test_unittest_suite_runs_without_pytest(tmp_path: Path) -> None:
    """The docs' unittest example, run by `python -m unittest` as a user without pytest would."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    (example,) = [b for b in blocks if "running_stub" in b]
    (tmp_path / "test_readme_unittest.py").write_text(example)
    result = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "test_readme_unittest"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"Ran [1-9]\d* tests?", result.stderr) and "OK" in result.stderr
    assert "HTTP/1.1" not in result.stderr, "a request line was printed"


@pytest.mark.slow  # a user's pytest in a subprocess
def test_plugin_session_server_is_started_by_running_stub(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import logfiles.testing

STARTED = []
_running_stub = logfiles.testing.running_stub


def spy(*args, **kwargs):
    STARTED.append((args, kwargs))
    return _running_stub(*args, **kwargs)


logfiles.testing.running_stub = spy
"""
    )
    pytester.makepyfile(
        test_user="""
from conftest import STARTED


def test_uses_the_stub(logfiles_server, logfiles_stub):
    assert STARTED == [((), {})]
    assert logfiles_server == logfiles_stub.url
    assert logfiles_server.startswith("http://127.0.0.1:")
    logfiles_stub.seed(agents=[{"id": "a", "project_id": "p"}])
    assert logfiles_stub.state()["agents"][0]["id"] == "a"


def test_one_stub_per_session(logfiles_stub):
    assert len(STARTED) == 1
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
