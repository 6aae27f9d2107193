"""A bad LOGFILES_* value stops every entry point the same way: one line, one status, at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.blackbox.conftest import GUNICORN, LiveServer, free_port

# The README's Configuration section documents this status for every entry point.
CONFIG_ERROR_STATUS = 4
# Far below gunicorn's five one-second retries of an address it cannot bind, yet loose
# enough for a loaded machine to start Python and import Flask.
DEADLINE = 15.0
CLI = (str(Path(sys.executable).parent / "logfiles-stub"),)

ENTRY_POINTS = {
    "gunicorn wsgi:app": (*GUNICORN, "wsgi:app"),  # from the repository root: gunicorn.conf.py is read
    "python app.py": (sys.executable, "app.py"),
    "logfiles-stub serve": (*CLI, "serve"),
}


def stopped_output(server: LiveServer) -> tuple[int, str]:
    """The exit status and everything printed; a failure if it is still running at DEADLINE."""
    try:
        status = server.process.wait(DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {DEADLINE}s:\n{server.output()}")
    return status, server.output()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    "bind",
    [
        "127.0.0.1:99999",  # gunicorn: a 30-line OverflowError traceback
        "nope",  # gunicorn: five seconds of retries on port 8000
        "127.0.0.1:0",  # app.py: a random port, silently
        "127.0.0.1:8080:9",  # gunicorn: port 8080, app.py: port 9
    ],
)
def test_bad_bind_stops_every_entry_point_with_one_line(
    launch: Callable[..., LiveServer], entry: str, bind: str
) -> None:
    # The live-server helper sets LOGFILES_BIND to the port it chose; `env` puts the bad one back.
    command = ("env", f"LOGFILES_BIND={bind}", *ENTRY_POINTS[entry])
    server = launch(command=command, wait=False)
    status, output = stopped_output(server)
    assert status == CONFIG_ERROR_STATUS, output
    assert output.startswith("logfiles: configuration error: LOGFILES_BIND: "), output
    assert output.count("\n") == 1 and output.endswith("\n"), output


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_other_bad_variable_stops_every_entry_point_with_the_same_status(
    launch: Callable[..., LiveServer], entry: str
) -> None:
    server = launch(env={"LOGFILES_JOURNAL_SIZE": "many"}, command=ENTRY_POINTS[entry], wait=False)
    status, output = stopped_output(server)
    assert status == CONFIG_ERROR_STATUS, output
    assert output == "logfiles: configuration error: LOGFILES_JOURNAL_SIZE: 'many' is not an integer\n"


def test_wsgi_in_a_worker_without_our_gunicorn_conf_halts_gunicorn_with_the_same_status(
    launch: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """wsgi.py fails inside the worker here; gunicorn must stop, not fork it again and again."""
    plain = tmp_path / "plain.conf.py"
    plain.write_text("")
    server = launch(
        env={"LOGFILES_STORE": "redis://nowhere"},
        command=(*GUNICORN, "-c", str(plain), "-b", f"127.0.0.1:{free_port()}", "wsgi:app"),
        wait=False,
    )
    status, output = stopped_output(server)
    assert status == CONFIG_ERROR_STATUS, output
    ours = [line for line in output.splitlines() if "configuration error" in line]
    assert ours == [
        "logfiles: configuration error: LOGFILES_STORE: unknown store 'redis://nowhere'; "
        "use 'memory', 'sqlite:///<path>' or 'postgresql://user:password@host:port/database'"
    ], output
    assert "Traceback" not in output
