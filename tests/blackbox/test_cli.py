"""`logfiles-stub` through its entry point, against a real server."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
import requests

from logfiles.cli import parser
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
                "jobs": [{"type": "backup", "agent_id": "a1"}],
            }
        )
    )
    seeded = cli("seed", str(seed), "--url", server.url)
    assert seeded.returncode == 0, seeded.stderr
    assert "1 agents, 1 log files" in seeded.stdout and "1 documents" in seeded.stdout

    got = requests.get(f"{server.url}/v2/p/agents/a1/logfiles/l1", headers={"X-Auth-Token": "t"})
    assert got.json()["state"] == "started"

    exported = json.loads(cli("export", "--url", server.url).stdout)
    assert [lf["id"] for lf in exported["logfiles"]] == ["l1"]

    journal = cli("requests", "--url", server.url)
    lines = journal.stdout.splitlines()
    assert lines[0].split() == ["SEQ", "TIME", "METHOD", "PATH", "STATUS", "FAULT"]
    assert "GET" in lines[1] and "/v2/p/agents/a1/logfiles/l1" in lines[1] and " 200" in lines[1]

    assert cli("reset", "--url", server.url).returncode == 0
    assert json.loads(cli("export", "--url", server.url).stdout) == {
        "agents": [],
        "documents": [],
        "logfiles": [],
        "events": [],
        "objects": [],
    }


def test_cli_events_and_requests_by_agent(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = launch(command=(*CLI, "serve"))
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "agents": [{"id": "a1", "project_id": "p"}, {"id": "a2", "project_id": "p"}],
                "events": [
                    {"agent_id": "a1", "event": "startup"},
                    {"project_id": "p", "event": "agent_activate", "mode": "idle"},
                    {"agent_id": "a2", "event": "other"},
                ],
            }
        )
    )
    seeded = cli("seed", str(seed), "--url", server.url)
    assert seeded.returncode == 0 and "2 agents, 0 log files, 3 events" in seeded.stdout, seeded.stderr
    feed = cli("events", "p", "--agent", "a1", "--url", server.url)
    assert feed.returncode == 0, feed.stderr
    lines = feed.stdout.splitlines()
    assert lines[0].split() == ["ID", "TIME", "EVENT", "AGENT", "REQUEST_ID", "MODE"]
    assert [line.split()[2] for line in lines[1:]] == ["startup", "agent_activate"]
    assert lines[2].split()[-1] == "idle"
    project = cli("events", "p", "--marker", lines[1].split()[0], "--url", server.url)
    assert [line.split()[2] for line in project.stdout.splitlines()[1:]] == ["agent_activate", "other"]
    # The project's feed is newest first by default; the CLI reads oldest first unless told.
    newest_first = cli("events", "p", "--sort-dir", "desc", "--url", server.url)
    names = [line.split()[2] for line in newest_first.stdout.splitlines()[1:]]
    assert names == ["other", "agent_activate", "startup"]
    bad = cli("events", "p", "--limit", "0", "--url", server.url)
    assert bad.returncode != 0 and "limit" in bad.stderr

    requests.get(
        f"{server.url}/v2/p/agents/a1", headers={"X-Auth-Token": "t", "X-Agent-Id": "a1"}, timeout=10
    )
    requests.get(f"{server.url}/v2/p/agents/a2", headers={"X-Auth-Token": "t"}, timeout=10)
    journal = cli("requests", "--agent-id", "a1", "--url", server.url).stdout.splitlines()
    assert len(journal) == 2 and "/v2/p/agents/a1" in journal[1], journal


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

    shown = cli("clock", "--url", server.url)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["frozen"] is False
    frozen = json.loads(cli("clock", "freeze", "2014-09-23T12:22:40.606703Z", "--url", server.url).stdout)
    assert frozen == {"now": "2014-09-23T12:22:40.606703Z", "frozen": True, "offset_seconds": 0.0}
    assert json.loads(cli("clock", "--url", server.url).stdout) == frozen
    moved = json.loads(cli("clock", "advance", "60", "--url", server.url).stdout)
    assert moved["now"] == "2014-09-23T12:23:40.606703Z"
    assert json.loads(cli("clock", "real", "--url", server.url).stdout)["frozen"] is False

    bad = cli("fault", '{"status": 200}', "--url", server.url)
    assert bad.returncode == 1 and '"errors"' in bad.stderr
    assert cli("fault", "not json", "--url", server.url).returncode == 2


# Nothing listens on port 9 (discard): an input error must be found before anything is sent.
NOWHERE = ("--url", "http://127.0.0.1:9")


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed as a usage error, with one line on stderr and nothing on stdout."""
    assert result.returncode == 2, result
    assert result.stdout == "" and result.stderr.count("\n") == 1, result
    assert "Traceback" not in result.stderr and "cannot reach" not in result.stderr
    return result.stderr


def test_cli_seed_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    line = one_error_line(cli("seed", str(missing), *NOWHERE))
    assert line == f"logfiles-stub: cannot read {missing}: No such file or directory\n"


def test_cli_seed_file_that_is_not_json_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "state.json"
    bad.write_text("{not json")
    line = one_error_line(cli("seed", str(bad), *NOWHERE))
    assert line.startswith(f"logfiles-stub: {bad} is not JSON: "), line
    bad.write_bytes(b"\xff\xfe")
    assert f"{bad} is not JSON" in one_error_line(cli("seed", str(bad), *NOWHERE))
    bad.write_text("[]")
    assert f"{bad} is not a state document" in one_error_line(cli("seed", str(bad), *NOWHERE))


def test_cli_seed_document_problems_come_from_the_server(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = launch()
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"agents": [{"id": "a1"}]}))  # no project_id
    result = cli("seed", str(odd), "--url", server.url)
    assert result.returncode == 1 and "answered 400" in result.stderr and "project_id" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("advance", "abc"), "clock advance: 'abc' is not a number of seconds, e.g. 60 or -0.5"),
        (("advance", "nan"), "clock advance: 'nan' is not a number of seconds, e.g. 60 or -0.5"),
        (("advance",), "clock advance needs SECONDS, e.g. `clock advance 60`"),
        (("real", "5"), "clock real takes no value, got '5'"),
    ],
    ids=["not-a-number", "nan", "no-value", "real-with-value"],
)
def test_cli_clock_bad_value_is_a_clear_message(args: tuple[str, ...], message: str) -> None:
    line = one_error_line(cli("clock", *args, *NOWHERE))
    assert line == f"logfiles-stub: {message}\n"
    assert "float" not in line


def test_cli_fault_rule_must_be_a_json_object() -> None:
    assert "the rule is not JSON: " in one_error_line(cli("fault", "{status: 503}", *NOWHERE))
    assert "the rule must be a JSON object" in one_error_line(cli("fault", "[503]", *NOWHERE))


def test_cli_version_comes_from_the_package_metadata() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"logfiles-stub {metadata.version('logfiles-stub')}\n"


def test_cli_every_option_and_argument_has_help() -> None:
    top = parser()
    (commands,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in [("logfiles-stub", top), *commands.choices.items()]:
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
    shown = cli("seed", "--help").stdout
    assert "a state document" in shown and "base URL of the running stub" in shown


def test_cli_seeds_and_lists_objects(launch: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = launch(command=(*CLI, "serve"))
    seed = tmp_path / "objects.json"
    seed.write_text(
        json.dumps(
            {
                "objects": [
                    {"project_id": "p", "name": "v2/a/log.gz", "content_base64": "aGVsbG8="},
                    {"project_id": "q", "container": "mine", "name": "x", "content_base64": ""},
                ]
            }
        )
    )
    seeded = cli("seed", str(seed), "--url", server.url)
    assert seeded.returncode == 0 and "2 objects" in seeded.stdout, seeded.stderr
    got = requests.get(
        f"{server.url}/cloudfiles/v1/MossoCloudFS_p/CloudBackupLogs/v2/a/log.gz",
        headers={"X-Auth-Token": "t"},
        timeout=10,
    )
    assert got.content == b"hello"
    listed = cli("objects", "--url", server.url).stdout.splitlines()
    assert listed[0].split() == ["PROJECT_ID", "CONTAINER", "NAME", "BYTES", "HASH", "LAST_MODIFIED"]
    assert [line.split()[:4] for line in listed[1:]] == [
        ["p", "CloudBackupLogs", "v2/a/log.gz", "5"],
        ["q", "mine", "x", "0"],
    ]
    only = cli("objects", "--project", "q", "--url", server.url).stdout.splitlines()
    assert [line.split()[2] for line in only[1:]] == ["x"]


def test_cli_wait_prints_the_entry_or_what_was_received(launch: Callable[..., LiveServer]) -> None:
    server = launch()
    requests.get(f"{server.url}/v2/p/agents/a", headers={"X-Auth-Token": "t"}, timeout=10)
    found = cli("wait", "--method", "GET", "--status", "404", "--timeout", "0", "--url", server.url)
    assert found.returncode == 0, found.stderr
    entry = json.loads(found.stdout)
    assert (entry["path"], entry["status"]) == ("/v2/p/agents/a", 404)
    missed = cli(
        "wait", "--method", "PATCH", "--after", str(entry["seq"]), "--timeout", "0.1", "--url", server.url
    )
    assert missed.returncode == 1 and missed.stdout == ""
    assert missed.stderr.startswith("logfiles-stub: No request matched PATCH (any path) after #")
    assert "#1 GET /v2/p/agents/a -> 404" in missed.stderr
    bad = cli("wait", "--timeout", "61", "--url", server.url)
    assert bad.returncode == 1 and "timeout: must be from 0 to 60 seconds" in bad.stderr
