"""A bad LOGFILES_CORS_ORIGINS stops gunicorn at once with one line and the config status."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.blackbox.conftest import GUNICORN, LiveServer
from tests.blackbox.test_entry_config_errors import CONFIG_ERROR_STATUS, DEADLINE


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (
            "http://localhost:3000/",
            "LOGFILES_CORS_ORIGINS: 'http://localhost:3000/' has a path, query or fragment; an origin "
            "is scheme://host[:port] only (browsers send no trailing '/')",
        ),
        (
            "*,http://localhost:3000",
            "LOGFILES_CORS_ORIGINS: '*' allows every origin: give it alone, not in a list",
        ),
    ],
)
def test_a_bad_origin_stops_gunicorn_with_one_line(
    launch: Callable[..., LiveServer], value: str, line: str
) -> None:
    server = launch(env={"LOGFILES_CORS_ORIGINS": value}, command=(*GUNICORN, "wsgi:app"), wait=False)
    try:
        status = server.process.wait(DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {DEADLINE}s:\n{server.output()}")
    assert status == CONFIG_ERROR_STATUS, server.output()
    assert server.output() == f"logfiles: configuration error: {line}\n"
