"""If-Unmodified-Since on objects, as Swift answers it (412), in RFC 9110 13.2.2's order:
If-Match, then If-Unmodified-Since (ignored when If-Match is present), then If-None-Match and
If-Modified-Since, then Range. On every store."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import http_date, parse_date

from tests.conftest import PROJECT, TOKEN, assert_fault

LOGS = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/CloudBackupLogs"
AUTH = {"X-Auth-Token": TOKEN}
DATA = b"the log's bytes"
ETAG = hashlib.md5(DATA, usedforsecurity=False).hexdigest()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def put(client: FlaskClient, name: str, data: bytes, **headers: str) -> Any:
    length = {"CONTENT_LENGTH": str(len(data))}
    return client.put(f"{LOGS}/{name}", data=data, headers={**AUTH, **headers}, environ_overrides=length)


@pytest.fixture
def modified(client: FlaskClient) -> datetime:
    """The object `n`'s Last-Modified, as its upload answered it."""
    answer = put(client, "n", DATA)
    assert answer.status_code == 201
    stamp = parse_date(answer.headers["Last-Modified"])
    assert stamp is not None
    return stamp


def before(moment: datetime) -> str:
    return http_date(moment - timedelta(days=1))


def get(client: FlaskClient, method: str = "get", **headers: str) -> Any:
    return getattr(client, method)(f"{LOGS}/n", headers={**AUTH, **headers}, buffered=True)


@pytest.mark.parametrize("method", ["get", "head"])
def test_download_modified_after_if_unmodified_since_is_412(
    client: FlaskClient, modified: datetime, method: str
) -> None:
    answer = get(client, method, **{"If-Unmodified-Since": before(modified)})
    assert answer.status_code == 412
    if method == "get":
        assert_fault(answer, 412)
    # RFC 9110 13.1.4: the condition holds when Last-Modified is earlier than or equal to the date.
    for moment in (modified, modified + timedelta(days=1)):
        assert get(client, method, **{"If-Unmodified-Since": http_date(moment)}).status_code == 200
    # A value that is not an HTTP date is ignored.
    for value in ("yesterday", "", "Sun, 99 Foo 1994 08:49:37 GMT"):
        assert get(client, method, **{"If-Unmodified-Since": value}).status_code == 200, value


def test_if_match_is_decided_before_if_unmodified_since_which_it_overrides(
    client: FlaskClient, modified: datetime
) -> None:
    """RFC 9110 13.2.2: If-Match first; If-Unmodified-Since only when If-Match is absent."""
    assert_fault(get(client, **{"If-Unmodified-Since": before(modified)}), 412)
    for value in (f'"{ETAG}"', "*"):
        answer = get(client, **{"If-Match": value, "If-Unmodified-Since": before(modified)})
        assert (answer.status_code, answer.data) == (200, DATA), value
    answer = get(client, **{"If-Match": '"other"', "If-Unmodified-Since": http_date(modified)})
    body = assert_fault(answer, 412)
    assert body["errors"][0].startswith("If-Match")


def test_if_unmodified_since_is_decided_before_if_none_match_and_range(
    client: FlaskClient, modified: datetime
) -> None:
    failing = {"If-Unmodified-Since": before(modified)}
    assert_fault(get(client, **failing, **{"If-None-Match": f'"{ETAG}"'}), 412)
    assert_fault(get(client, **failing, Range="bytes=0-2"), 412)
    holding = {"If-Unmodified-Since": http_date(modified)}
    assert get(client, **holding, **{"If-None-Match": f'"{ETAG}"'}).status_code == 304
    ranged = get(client, **holding, Range="bytes=0-2")
    assert (ranged.status_code, ranged.data) == (206, DATA[:3])


def test_put_over_an_object_modified_after_the_date_is_412_and_keeps_it(
    client: FlaskClient, modified: datetime
) -> None:
    assert_fault(put(client, "n", b"new", **{"If-Unmodified-Since": before(modified)}), 412)
    assert get(client).data == DATA
    assert put(client, "n", b"new", **{"If-Unmodified-Since": http_date(modified)}).status_code == 201
    assert get(client).data == b"new"
    # No object, no modification date: RFC 9110 13.1.4 says the header is then ignored.
    fresh = put(client, "fresh", DATA, **{"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert fresh.status_code == 201
    # A missing container is a 404 whatever the conditions (RFC 9110 13.2.1).
    answer = client.put(
        f"/cloudfiles/v1/MossoCloudFS_{PROJECT}/nothing/n",
        data=DATA,
        headers={**AUTH, "If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
    )
    assert_fault(answer, 404)


def test_put_with_if_match_and_no_object_is_412(client: FlaskClient) -> None:
    assert_fault(put(client, "fresh", DATA, **{"If-Match": "*"}), 412)
    assert_fault(client.get(f"{LOGS}/fresh", headers=AUTH), 404)


def test_delete_of_an_object_modified_after_the_date_is_412_and_keeps_it(
    client: FlaskClient, modified: datetime
) -> None:
    answer = client.delete(f"{LOGS}/n", headers={**AUTH, "If-Unmodified-Since": before(modified)})
    assert_fault(answer, 412)
    assert get(client).data == DATA
    answer = client.delete(f"{LOGS}/n", headers={**AUTH, "If-Unmodified-Since": http_date(modified)})
    assert answer.status_code == 204
    assert_fault(client.delete(f"{LOGS}/n", headers={**AUTH, "If-Unmodified-Since": before(modified)}), 404)


def test_delete_with_if_match_decides_by_the_etag(client: FlaskClient, modified: datetime) -> None:
    assert_fault(client.delete(f"{LOGS}/n", headers={**AUTH, "If-Match": '"other"'}), 412)
    both = {"If-Match": f'"{ETAG}"', "If-Unmodified-Since": before(modified)}
    assert client.delete(f"{LOGS}/n", headers={**AUTH, **both}).status_code == 204
