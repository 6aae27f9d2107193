"""`logfiles-stub` through its entry point, against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from tests.blackbox.conftest import LiveServer
from tests.blackbox.test_entry_config_errors import CONFIG_ERROR_STATUS

# The console script that `pip install` made from setup.cfg's entry point, beside this python.
CLI = (str(Path(sys.executable).parent / "logfiles-stub"),)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=30)


def test_cli_serve_seed_export_requests_reset(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = launch(command=(*CLI, "serve"))
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "agents": [{"id": "a1", "project_id": "p"}],
                "logfiles": [{"id": "l1", "agent_id": "a1", "state": "started"}],
            }
        )
    )
    seeded = cli("seed", str(seed), "--url", server.url)
    assert seeded.returncode == 0 and "1 agents, 1 log files" in seeded.stdout, seeded.stderr

    got = requests.get(f"{server.url}/v2/p/agents/a1/logfiles/l1", headers={"X-Auth-Token": "t"})
    assert got.json()["state"] == "started"

    exported = json.loads(cli("export", "--url", server.url).stdout)
    assert [lf["id"] for lf in exported["logfiles"]] == ["l1"]

    journal = cli("requests", "--url", server.url)
    lines = journal.stdout.splitlines()
    assert lines[0].split() == ["SEQ", "TIME", "METHOD", "PATH", "STATUS", "FAULT"]
    assert "GET" in lines[1] and "/v2/p/agents/a1/logfiles/l1" in lines[1] and " 200" in lines[1]

    assert cli("reset", "--url", server.url).returncode == 0
    assert json.loads(cli("export", "--url", server.url).stdout) == {"agents": [], "logfiles": []}


def test_cli_reports_an_unreachable_server() -> None:
    result = cli("reset", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1 and "cannot reach" in result.stderr


def test_cli_serve_refuses_several_workers_with_memory() -> None:
    result = cli("serve", "--workers", "3", "--bind", "127.0.0.1:9")
    assert result.returncode == CONFIG_ERROR_STATUS
    assert result.stderr.count("\n") == 1 and "LOGFILES_WORKERS" in result.stderr


def test_cli_fault_faults_and_clock(launch: Callable[..., LiveServer]) -> None:
    server = launch()
    added = cli(
        "fault", '{"method": "GET", "status": 503, "headers": {"Retry-After": "1"}}', "--url", server.url
    )
    assert added.returncode == 0, added.stderr
    rule_id = json.loads(added.stdout)["id"]
    got = requests.get(f"{server.url}/v2/p/agents/a", headers={"X-Auth-Token": "t"})
    assert got.status_code == 503 and got.headers["Retry-After"] == "1"
    listed = cli("faults", "--url", server.url).stdout.splitlines()
    assert listed[0].split()[:2] == ["ID", "METHOD"] and rule_id in listed[1]
    assert cli("faults", "--clear", "--url", server.url).returncode == 0
    assert len(cli("faults", "--url", server.url).stdout.splitlines()) == 1

    frozen = json.loads(cli("clock", "freeze", "2014-09-23T12:22:40.606703Z", "--url", server.url).stdout)
    assert frozen == {"now": "2014-09-23T12:22:40.606703Z", "frozen": True, "offset_seconds": 0.0}
    moved = json.loads(cli("clock", "advance", "60", "--url", server.url).stdout)
    assert moved["now"] == "2014-09-23T12:23:40.606703Z"
    assert json.loads(cli("clock", "real", "--url", server.url).stdout)["frozen"] is False

    bad = cli("fault", '{"status": 200}', "--url", server.url)
    assert bad.returncode == 1 and '"errors"' in bad.stderr
    assert cli("fault", "not json", "--url", server.url).returncode == 2
