"""Over gunicorn, with `requests`: object answers carry the sandbox headers, and a real client
still gets the bytes and the exact Content-Type it stored (issue 20, point 1)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import requests

from logfiles.config import DEFAULT_TEMP_URL_KEY
from tests.blackbox.conftest import LiveServer

LOGS = "/cloudfiles/v1/MossoCloudFS_p/CloudBackupLogs"
AUTH = {"X-Auth-Token": "t"}
TIMEOUT = 15.0
PAGE = b"<!doctype html><script>fetch('/_control/reset', {method: 'POST'})</script>"


def signed(path: str) -> str:
    expires = int(time.time()) + 600
    message = f"GET\n{expires}\n{path}".encode()
    signature = hmac.new(DEFAULT_TEMP_URL_KEY.encode(), message, hashlib.sha1).hexdigest()
    return f"{path}?temp_url_sig={signature}&temp_url_expires={expires}"


def test_a_client_gets_the_bytes_and_type_it_stored_under_the_sandbox_headers(
    launch: Callable[..., LiveServer],
) -> None:
    server = launch()
    kind = "text/html; charset=UTF-8; profile=odd"
    put = requests.put(
        f"{server.url}{LOGS}/page", data=PAGE, headers={**AUTH, "Content-Type": kind}, timeout=TIMEOUT
    )
    assert put.status_code == 201, put.text
    with requests.Session() as session:
        for answer in (
            session.get(f"{server.url}{LOGS}/page", headers=AUTH, timeout=TIMEOUT),
            session.get(server.url + signed(f"{LOGS}/page"), timeout=TIMEOUT),
            session.get(server.url + signed(f"{LOGS}/missing"), timeout=TIMEOUT),
        ):
            assert answer.headers["Content-Security-Policy"] == "sandbox; default-src 'none'", answer.headers
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["Cross-Origin-Resource-Policy"] == "same-origin"
            if answer.status_code == 200:
                assert answer.content == PAGE
                assert answer.headers["Content-Type"] == kind
            else:
                assert answer.status_code == 404, answer.text
