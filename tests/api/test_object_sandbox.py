"""Every answer of the object store is sandboxed for browsers (issue 20, point 1).

An object is anyone's bytes with the Content-Type they chose: opened in a browser from its
object URL or its temp URL it must not run as a page of the stub's own origin (which could
POST to /_control/reset). Clients that are not browsers still get the bytes and the type.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from logfiles.config import DEFAULT_TEMP_URL_KEY
from tests.conftest import PROJECT, TOKEN, Api

BASE = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}"
LOGS = f"{BASE}/CloudBackupLogs"
AUTH = {"X-Auth-Token": TOKEN}
PAGE = b"<!doctype html><script>fetch('/_control/reset', {method: 'POST'})</script>"


def temp_url(method: str, path: str) -> str:
    expires = int(time.time()) + 3600
    message = f"{method}\n{expires}\n{path}".encode()
    signature = hmac.new(DEFAULT_TEMP_URL_KEY.encode(), message, hashlib.sha1).hexdigest()
    return f"{path}?temp_url_sig={signature}&temp_url_expires={expires}"


def put(client: FlaskClient, path: str, data: bytes, **headers: str) -> TestResponse:
    length = {"CONTENT_LENGTH": str(len(data))}
    return client.put(path, data=data, headers={**AUTH, **headers}, environ_overrides=length)


def assert_sandboxed(answer: TestResponse) -> None:
    policy = answer.headers.get("Content-Security-Policy", "")
    directives = [part.strip() for part in policy.split(";")]
    assert "sandbox" in directives, dict(answer.headers)  # no allow-scripts, no allow-same-origin
    assert "default-src 'none'" in directives, dict(answer.headers)
    assert answer.headers.get("X-Content-Type-Options") == "nosniff", dict(answer.headers)
    assert answer.headers.get("Cross-Origin-Resource-Policy") == "same-origin", dict(answer.headers)


@pytest.fixture
def page(client: FlaskClient) -> str:
    """An HTML object whose script would reset the stub if it ran on the stub's origin."""
    path = f"{LOGS}/page"
    assert put(client, path, PAGE, **{"Content-Type": "text/html; charset=utf-8"}).status_code == 201
    return path


def test_download_of_an_html_object_is_sandboxed_and_keeps_its_bytes_and_type(
    client: FlaskClient, page: str
) -> None:
    answer = client.get(page, headers=AUTH, buffered=True)
    assert answer.status_code == 200
    assert answer.data == PAGE
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_sandboxed(answer)
    # The sandbox is the object store's: the API's JSON and the dashboard keep their own headers.
    assert "Content-Security-Policy" not in client.get(f"/v2/{PROJECT}/agents", headers=AUTH).headers
    assert "sandbox" not in client.get("/_control/dashboard").headers["Content-Security-Policy"]


def test_an_object_named_x_html_is_served_as_html_and_sandboxed(client: FlaskClient) -> None:
    assert put(client, f"{LOGS}/x.html", PAGE).status_code == 201
    answer = client.get(f"{LOGS}/x.html", headers=AUTH, buffered=True)
    assert answer.headers["Content-Type"] == "text/html"
    assert answer.data == PAGE
    assert_sandboxed(answer)
    assert_sandboxed(client.get(temp_url("GET", f"{LOGS}/x.html"), buffered=True))


@pytest.mark.parametrize(
    ("how", "status"),
    [
        ("temp_url_get", 200),
        ("temp_url_head", 200),
        ("head", 200),
        ("range", 206),
        ("if_none_match", 304),
        ("if_match_other", 412),
        ("range_past_end", 416),
        ("bad_temp_url", 401),
        ("no_token", 401),
        ("missing_object", 404),
        ("listing", 200),
        ("upload", 201),
        ("delete", 204),
    ],
)
def test_every_object_store_answer_is_sandboxed(
    client: FlaskClient, page: str, how: str, status: int
) -> None:
    etag = hashlib.md5(PAGE, usedforsecurity=False).hexdigest()
    requests: dict[str, Any] = {
        "temp_url_get": lambda: client.get(temp_url("GET", page), buffered=True),
        "temp_url_head": lambda: client.head(temp_url("GET", page)),
        "head": lambda: client.head(page, headers=AUTH),
        "range": lambda: client.get(page, headers={**AUTH, "Range": "bytes=0-4"}, buffered=True),
        "if_none_match": lambda: client.get(page, headers={**AUTH, "If-None-Match": etag}),
        "if_match_other": lambda: client.get(page, headers={**AUTH, "If-Match": "0" * 32}),
        "range_past_end": lambda: client.get(page, headers={**AUTH, "Range": "bytes=9999-"}),
        "bad_temp_url": lambda: client.get(f"{page}?temp_url_sig={'0' * 40}&temp_url_expires=9999999999"),
        "no_token": lambda: client.get(page),
        "missing_object": lambda: client.get(f"{LOGS}/no-such-object", headers=AUTH),
        "listing": lambda: client.get(LOGS, headers=AUTH),
        "upload": lambda: put(client, f"{LOGS}/other.html", PAGE),
        "delete": lambda: client.delete(page, headers=AUTH),
    }
    answer = requests[how]()
    assert answer.status_code == status, answer.data
    assert_sandboxed(answer)
    if how == "range":
        assert answer.data == PAGE[:5]
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_fault_rules_answer_on_the_object_store_is_sandboxed(
    api: Api, client: FlaskClient, page: str
) -> None:
    rule = {"action": "body", "path": "/cloudfiles/*", "status": 200, "body": "<script>1</script>"}
    assert api.control("post", "faults", rule).status_code == 201
    answer = client.get(page, headers=AUTH)
    assert answer.data == b"<script>1</script>"
    assert_sandboxed(answer)
