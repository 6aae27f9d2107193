"""The whole loop, as a user runs it: the reference agent against gunicorn over HTTPS, with the
SQLite store and several workers, a tokens file with an Identity user, and a control panel.

The agent (examples/reference_agent.py, standard library only) authenticates through Identity,
registers, gets its own token, polls its feed until the panel's request shows, gzips and
uploads its log, and reports `started` then `completed`. The panel then reads the log file and
follows its `logfile_temp_url` to the same bytes; a tampered or expired temp URL is 401.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import requests

from tests.blackbox.conftest import ROOT, LiveServer
from tests.conftest import configuration_body

AGENT = ROOT / "examples" / "reference_agent.py"
PROJECT = "110011"
PANEL = {"X-Auth-Token": "panel-token"}
CONTROL = {"X-Control-Token": "control-secret"}
DEADLINE = 60.0  # seconds for the agent's whole loop: any machine, short of a hang


def strict_env(tmp_path: Path) -> dict[str, str]:
    tokens = {
        "panel-token": {
            "project_id": PROJECT,
            "roles": ["cloudbackup:admin"],
            "username": "alice",
            "password": "s3cret",
        }
    }
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(tokens))
    return {
        "LOGFILES_STORE": f"sqlite:///{tmp_path / 'stub.db'}",
        "LOGFILES_WORKERS": "3",
        "LOGFILES_TOKENS_FILE": str(path),
        "LOGFILES_CONTROL_TOKEN": "control-secret",
    }


def configuration(agent_id: str) -> dict[str, Any]:
    """The create-a-configuration page's example body, for this agent."""
    return configuration_body(agent_id)


def read_line(stream: IO[str] | None) -> str:
    assert stream is not None
    return stream.readline().strip()


def start_agent(server: LiveServer, log: Path, password: str = "s3cret") -> subprocess.Popen[str]:  # noqa: S107
    return subprocess.Popen(
        [
            sys.executable,
            str(AGENT),
            "--url",
            server.url,
            "--cafile",
            str(server.ca_file),
            "--username",
            "alice",
            "--password",
            password,
            "--log",
            str(log),
            "--timeout",
            str(DEADLINE),
            "--poll",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_reference_agent_delivers_its_log_over_https(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=strict_env(tmp_path), tls=True)
    assert server.url.startswith("https://")
    ca = str(server.ca_file)
    log = tmp_path / "agent.log"
    log.write_bytes(b"2026-12-01 backup finished: 1,024 files\n" * 2000)
    agent = start_agent(server, log)
    try:
        registered = read_line(agent.stdout)
        assert registered.startswith("registered "), (registered, agent.stderr)
        agent_id = registered.split()[1]
        # The control panel gives the agent a backup configuration: the agent reads its own.
        configured = requests.post(
            f"{server.url}/v2/{PROJECT}/configurations",
            json=configuration(agent_id),
            headers=PANEL,
            verify=ca,
            timeout=10,
        )
        assert configured.status_code == 201, configured.text
        assert read_line(agent.stdout) == f"configuration warn {configured.json()['id']}"
        # The control panel asks for the agent's log.
        requested = requests.post(
            f"{server.url}/v2/{PROJECT}/agents/{agent_id}/logfiles", headers=PANEL, verify=ca, timeout=10
        )
        assert requested.status_code == 202, requested.text
        logfile_id = requested.json()["id"]
        assert read_line(agent.stdout) == f"uploading {logfile_id}"
        completed = read_line(agent.stdout).split()
        assert agent.wait(timeout=DEADLINE) == 0
    finally:
        agent.kill()
        agent.wait()
        for stream in (agent.stdout, agent.stderr):
            if stream is not None:
                stream.close()
    assert completed[:2] == ["completed", logfile_id]
    # The panel reads the log file and follows its temp URL, with no token.
    details = requests.get(
        f"{server.url}/v2/{PROJECT}/agents/{agent_id}/logfiles/{logfile_id}",
        headers=PANEL,
        verify=ca,
        timeout=10,
    ).json()
    assert details["state"] == "completed"
    links = {link["rel"]: link["href"] for link in details["links"]}
    assert links["logfile_temp_url"].startswith("https://")
    download = requests.get(links["logfile_temp_url"], verify=ca, timeout=10)
    assert download.status_code == 200
    assert hashlib.md5(download.content, usedforsecurity=False).hexdigest() == completed[2]
    assert gzip.decompress(download.content) == log.read_bytes()
    # The feed shows the whole story, in order, to the panel too.
    feed = requests.get(
        f"{server.url}/v2/{PROJECT}/agents/{agent_id}/events", headers=PANEL, verify=ca, timeout=10
    ).json()["events"]
    names = [event["event"] for event in feed]
    assert names[-4:] == ["configuration_changed", "logfile_upload", "logfile_started", "logfile_completed"]
    # A tampered temp URL is 401; the real one, once the service clock passes its expiry, too.
    url = links["logfile_temp_url"]
    tampered = url.replace("temp_url_sig=", "temp_url_sig=0", 1)
    assert _status(tampered, ca) == 401
    assert _status(url.replace(".gz?", ".gz.old?", 1), ca) == 401  # signed for another path
    advanced = requests.post(
        f"{server.url}/_control/clock", json={"advance": 2 * 86400}, headers=CONTROL, verify=ca, timeout=10
    )
    assert advanced.status_code == 200, advanced.text
    expired = requests.get(url, verify=ca, timeout=10)
    assert expired.status_code == 401
    assert "expired" in expired.json()["errors"][0]


def _status(url: str, ca: str) -> int:
    answer: Any = requests.get(url, verify=ca, timeout=10)
    return int(answer.status_code)


def test_the_reference_agent_stops_on_bad_credentials(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch(env=strict_env(tmp_path), tls=True)
    log = tmp_path / "agent.log"
    log.write_bytes(b"x")
    agent = start_agent(server, log, password="wrong")
    out, err = agent.communicate(timeout=DEADLINE)
    assert agent.returncode == 1
    assert "401" in err and "unauthorized" in err
    assert out == ""
