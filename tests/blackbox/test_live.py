"""logfiles/live.py: start, readiness, a failed start shows the log, stop leaves no process."""

from __future__ import annotations

import re
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from logfiles import live


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone while we looked
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


def members_left(pgid: int, deadline: float = 10.0) -> list[int]:
    """The group's live members once they are gone, or those still there after `deadline`
    seconds: a SIGKILL is delivered at once, but a process takes a moment to exit (longer on a
    loaded machine), so "gone" is checked as "gone soon", never as "gone at this instant"."""
    end = time.monotonic() + deadline
    members = group_members(pgid)
    while members and time.monotonic() < end:
        time.sleep(0.02)
        members = group_members(pgid)
    return members


def wait_for_output(server: live.LiveServer, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.output():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.01)


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_start_default_command_serves_healthz_and_stop_leaves_no_process(tmp_path: Path) -> None:
    server = live.start(log_dir=tmp_path, env={"LOGFILES_ACCESS_LOG": "on"})
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
            assert response.status == 200
        assert len(group_members(server.process.pid)) >= 2  # the master and its worker
    finally:
        code = server.stop()
    assert code == 0
    assert members_left(server.process.pid) == []
    assert server.stop() == 0  # a second stop signals nothing
    assert "GET /healthz" in server.output()


def test_start_sets_bind_and_clears_the_callers_logfiles_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGFILES_STORE", "sqlite:///elsewhere.db")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "-w 4")
    env = live.server_env({"LOGFILES_JOURNAL_SIZE": "0", "LOGFILES_BIND": "0.0.0.0:1"}, "127.0.0.1", 4321)
    assert env["LOGFILES_BIND"] == "127.0.0.1:4321"
    assert env["LOGFILES_JOURNAL_SIZE"] == "0"
    assert "LOGFILES_STORE" not in env and "GUNICORN_CMD_ARGS" not in env


def test_start_early_exit_raises_with_the_log(tmp_path: Path) -> None:
    code = "import os, sys; print('bound to', os.environ['LOGFILES_BIND']); sys.exit(3)"
    with pytest.raises(live.StartError) as caught:
        live.start(python(code), log_dir=tmp_path, port=4321, name="early")
    assert "early exited with status 3" in str(caught.value)
    assert "bound to 127.0.0.1:4321" in str(caught.value)
    assert caught.value.log == tmp_path / "early-4321.log"


def test_start_not_ready_by_the_deadline_raises_and_stops_the_group(tmp_path: Path) -> None:
    # Listens but never answers HTTP, and has a child in its group.
    code = (
        "import os, socket, subprocess, sys, time\n"
        "host, port = os.environ['LOGFILES_BIND'].split(':')\n"
        "sock = socket.create_server((host, int(port)))\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('listening, group', os.getpgrp(), flush=True)\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(live.StartError, match=r"no 200 on /healthz within 1 s") as caught:
        live.start(python(code), log_dir=tmp_path, timeout=1)
    match = re.search(r"listening, group (\d+)", caught.value.tail)
    assert match is not None, caught.value.tail
    assert members_left(int(match[1])) == []


def test_stop_kills_the_group_when_sigterm_is_ignored(tmp_path: Path) -> None:
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('ignoring', flush=True)\n"
        "time.sleep(60)\n"
    )
    server = live.start(python(code), log_dir=tmp_path, wait=False)
    wait_for_output(server, "ignoring")  # a SIGTERM before the handler is set would just work
    assert server.stop(timeout=0.5) == -signal.SIGKILL
    assert members_left(server.process.pid) == []


def test_free_port_can_be_bound() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", live.free_port()))
