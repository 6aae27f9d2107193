"""The object store through Flask's test client, on both stores (SPEC: "The log's bytes")."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import io
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from logfiles import Settings, create_app
from logfiles.config import DEFAULT_TEMP_URL_KEY
from tests.api.support import links_by_rel
from tests.conftest import PROJECT, TOKEN, Api, assert_fault


class BufferedClient(FlaskClient):
    """Reads every answer whole and closes it, as a server does once it has sent it."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = BufferedClient
    return app.test_client()


BASE = f"/cloudfiles/v1/MossoCloudFS_{PROJECT}"
LOGS = f"{BASE}/CloudBackupLogs"
AUTH = {"X-Auth-Token": TOKEN}


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def put(client: FlaskClient, path: str, data: bytes, **headers: str) -> Any:
    # A real client says Content-Length: 0 for an empty body; the test client leaves it out.
    length = {"CONTENT_LENGTH": str(len(data))}
    return client.put(path, data=data, headers={**AUTH, **headers}, environ_overrides=length)


def chunked_put(client: FlaskClient, path: str, data: bytes) -> Any:
    """As a server hands the app a chunked body: no length, the input terminated."""
    return client.put(
        path,
        input_stream=io.BytesIO(data),
        headers={**AUTH, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def sign(method: str, path: str, expires: int, digest: str = "sha1", key: str = DEFAULT_TEMP_URL_KEY) -> str:
    body = f"{method}\n{expires}\n{path}".encode()
    return hmac.new(key.encode(), body, getattr(hashlib, digest)).hexdigest()


def temp_url(method: str, path: str, expires: int | None = None, digest: str = "sha1") -> str:
    expires = expires or int(time.time()) + 3600
    return f"{path}?temp_url_sig={sign(method, path, expires, digest)}&temp_url_expires={expires}"


# Upload and download.


def test_put_answers_201_with_the_md5_etag_and_get_returns_the_bytes(client: FlaskClient) -> None:
    data = gzip.compress(b"a log line\n" * 500)
    answer = put(client, f"{LOGS}/v2/agent/log.gz", data)
    assert answer.status_code == 201
    assert answer.headers["ETag"] == md5(data)
    assert answer.data == b""
    got = client.get(f"{LOGS}/v2/agent/log.gz", headers=AUTH)
    assert got.status_code == 200
    assert got.data == data
    assert got.headers["ETag"] == md5(data)  # unquoted, as Swift
    assert got.headers["Content-Length"] == str(len(data))
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Accept-Ranges"] == "bytes"
    assert "Last-Modified" in got.headers
    assert float(got.headers["X-Timestamp"]) > 0


def test_head_gives_the_headers_without_the_body(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"12345", **{"Content-Type": "text/plain"})
    head = client.head(f"{LOGS}/n", headers=AUTH)
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == "5"
    assert head.headers["Content-Type"] == "text/plain"
    assert head.headers["ETag"] == md5(b"12345")


# A body of several chunks is spooled chunk by chunk by the database stores: the store contract
# suite's uploads are one chunk each.
@pytest.mark.all_stores
def test_a_chunked_upload_is_accepted(client: FlaskClient) -> None:
    data = b"first,second,third" * 10_000
    answer = chunked_put(client, f"{LOGS}/chunked", data)
    assert answer.status_code == 201, answer.get_json()
    assert client.get(f"{LOGS}/chunked", headers=AUTH).data == data


def test_an_upload_without_a_length_is_411(client: FlaskClient) -> None:
    answer = client.put(f"{LOGS}/n", headers=AUTH)
    assert_fault(answer, 411)
    assert_fault(client.get(f"{LOGS}/n", headers=AUTH), 404)


def test_a_matching_etag_is_accepted_and_a_wrong_one_is_422_storing_nothing(client: FlaskClient) -> None:
    assert put(client, f"{LOGS}/n", b"abc", ETag=md5(b"abc")).status_code == 201
    assert put(client, f"{LOGS}/n", b"abc", ETag=f'"{md5(b"abc")}"').status_code == 201
    body = assert_fault(put(client, f"{LOGS}/n", b"changed", ETag=md5(b"other")), 422)
    assert "ETag" in body["errors"][0]
    assert client.get(f"{LOGS}/n", headers=AUTH).data == b"abc"
    assert_fault(put(client, f"{LOGS}/fresh", b"x", ETag="0" * 32), 422)
    assert_fault(client.get(f"{LOGS}/fresh", headers=AUTH), 404)


def test_an_empty_object_is_an_object(client: FlaskClient) -> None:
    assert put(client, f"{LOGS}/empty", b"").status_code == 201
    got = client.get(f"{LOGS}/empty", headers=AUTH)
    assert (got.status_code, got.data, got.headers["ETag"]) == (200, b"", md5(b""))


def test_names_with_slashes_spaces_and_unicode(client: FlaskClient) -> None:
    for name in ("a/b/c.gz", "with space", "é/ü", "a//b", "trailing/"):
        quoted = "/".join(part.replace(" ", "%20") for part in name.split("/"))
        assert put(client, f"{LOGS}/{quoted}", name.encode()).status_code == 201, name
        assert client.get(f"{LOGS}/{quoted}", headers=AUTH).data == name.encode(), name


def test_delete_is_204_then_404(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"x")
    assert client.delete(f"{LOGS}/n", headers=AUTH).status_code == 204
    assert_fault(client.delete(f"{LOGS}/n", headers=AUTH), 404)
    assert_fault(client.get(f"{LOGS}/n", headers=AUTH), 404)


def test_a_missing_object_or_container_is_404(client: FlaskClient) -> None:
    assert_fault(client.get(f"{LOGS}/nothing", headers=AUTH), 404)
    assert client.head(f"{LOGS}/nothing", headers=AUTH).status_code == 404
    assert_fault(client.get(f"{BASE}/nope/x", headers=AUTH), 404)
    assert_fault(put(client, f"{BASE}/nope/x", b"x"), 404)
    assert_fault(client.get(f"{BASE}/nope", headers=AUTH), 404)


def test_bad_names_are_400(client: FlaskClient) -> None:
    assert_fault(put(client, f"{LOGS}/{'x' * 1025}", b"x"), 400)
    assert_fault(put(client, f"{BASE}/{'c' * 257}", b""), 400)
    assert put(client, f"{LOGS}/{'x' * 1024}", b"x").status_code == 201


# Ranges and conditions (werkzeug's).


def test_range_answers_206_with_the_slice(client: FlaskClient) -> None:
    data = bytes(range(256)) * 4
    put(client, f"{LOGS}/r", data)
    for header, piece in (("bytes=0-9", data[:10]), ("bytes=1000-", data[1000:]), ("bytes=-5", data[-5:])):
        got = client.get(f"{LOGS}/r", headers={**AUTH, "Range": header})
        assert got.status_code == 206, header
        assert got.data == piece
        assert got.headers["Content-Range"].endswith(f"/{len(data)}")


def test_an_unsatisfiable_range_is_416_with_the_size(client: FlaskClient) -> None:
    put(client, f"{LOGS}/r", b"0123456789")
    got = client.get(f"{LOGS}/r", headers={**AUTH, "Range": "bytes=50-60"})
    assert_fault(got, 416)
    assert got.headers["Content-Range"] == "bytes */10"


def test_if_none_match_with_the_etag_is_304(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"abc")
    for value in (md5(b"abc"), f'"{md5(b"abc")}"', "*"):
        got = client.get(f"{LOGS}/n", headers={**AUTH, "If-None-Match": value})
        assert got.status_code == 304, value
        assert got.data == b""
    assert client.get(f"{LOGS}/n", headers={**AUTH, "If-None-Match": md5(b"x")}).status_code == 200


# Containers and listings.


def test_container_put_is_201_then_202(client: FlaskClient) -> None:
    assert client.put(f"{BASE}/mine", headers=AUTH).status_code == 201
    assert client.put(f"{BASE}/mine", headers=AUTH).status_code == 202
    assert client.put(f"{BASE}/CloudBackupLogs", headers=AUTH).status_code == 202
    assert put(client, f"{BASE}/mine/x", b"x").status_code == 201


def test_listing_plain_and_json_with_prefix_marker_limit(client: FlaskClient) -> None:
    for name in ("b", "a/2", "a/1"):
        put(client, f"{LOGS}/{name}", name.encode())
    plain = client.get(LOGS, headers=AUTH)
    assert plain.status_code == 200
    assert plain.mimetype == "text/plain"
    assert plain.data == b"a/1\na/2\nb\n"
    assert plain.headers["X-Container-Object-Count"] == "3"
    assert plain.headers["X-Container-Bytes-Used"] == "7"
    listed = client.get(f"{LOGS}?format=json", headers=AUTH).get_json()
    assert [item["name"] for item in listed] == ["a/1", "a/2", "b"]
    assert listed[0] == {
        "name": "a/1",
        "bytes": 3,
        "hash": md5(b"a/1"),
        "last_modified": listed[0]["last_modified"],
        "content_type": "application/octet-stream",
    }
    assert "T" in listed[0]["last_modified"]
    assert client.get(f"{LOGS}?prefix=a/", headers=AUTH).data == b"a/1\na/2\n"
    assert client.get(f"{LOGS}?marker=a/1&limit=1", headers=AUTH).data == b"a/2\n"
    accept = client.get(LOGS, headers={**AUTH, "Accept": "application/json"})
    assert accept.mimetype == "application/json"


def test_an_empty_listing_is_204_plain_and_an_empty_list_in_json(client: FlaskClient) -> None:
    empty = client.get(LOGS, headers=AUTH)
    assert (empty.status_code, empty.data) == (204, b"")
    assert client.get(f"{LOGS}?format=json", headers=AUTH).get_json() == []


def test_head_of_a_container_gives_its_usage(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"abcd")
    head = client.head(LOGS, headers=AUTH)
    assert head.status_code == 204
    assert (head.headers["X-Container-Object-Count"], head.headers["X-Container-Bytes-Used"]) == ("1", "4")


@pytest.mark.parametrize(
    "query", ["limit=-1", "limit=abc", "limit=1234567890", "format=xml", f"prefix={'x' * 1025}", "limit=1.5"]
)
def test_bad_listing_parameters_are_400(client: FlaskClient, query: str) -> None:
    assert_fault(client.get(f"{LOGS}?{query}", headers=AUTH), 400)


def test_a_limit_past_swifts_maximum_is_412(client: FlaskClient) -> None:
    assert_fault(client.get(f"{LOGS}?limit=10001", headers=AUTH), 412)
    assert client.get(f"{LOGS}?limit=10000", headers=AUTH).status_code == 204


def test_other_methods_are_405(client: FlaskClient) -> None:
    answer = client.post(f"{LOGS}/n", headers=AUTH)
    assert_fault(answer, 405)
    assert "PUT" in answer.headers["Allow"]
    assert_fault(client.delete(LOGS, headers=AUTH), 405)
    assert_fault(client.patch(LOGS, headers=AUTH), 405)


# Who may.


def test_no_token_is_401_everywhere(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"x")
    for call in (client.get, client.head, client.delete):
        assert call(f"{LOGS}/n").status_code == 401
    assert_fault(client.put(f"{LOGS}/n", data=b"y"), 401)
    assert_fault(client.get(LOGS), 401)
    assert_fault(client.put(f"{BASE}/mine"), 401)
    assert client.get(f"{LOGS}/n", headers=AUTH).data == b"x"


def test_temp_url_get_and_head_download(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"secret log")
    got = client.get(temp_url("GET", f"{LOGS}/n"))
    assert (got.status_code, got.data) == (200, b"secret log")
    assert client.head(temp_url("GET", f"{LOGS}/n")).status_code == 200


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_temp_url_digests(client: FlaskClient, digest: str) -> None:
    put(client, f"{LOGS}/n", b"x")
    assert client.get(temp_url("GET", f"{LOGS}/n", digest=digest)).status_code == 200


def test_a_prefixed_base64_signature_as_swiftclient_can_send(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"x")
    expires = int(time.time()) + 60
    raw = bytes.fromhex(sign("GET", f"{LOGS}/n", expires, "sha512"))
    sig = "sha512:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert client.get(f"{LOGS}/n?temp_url_sig={sig}&temp_url_expires={expires}").status_code == 200


def test_a_put_temp_url_uploads_and_is_bound_to_put(client: FlaskClient) -> None:
    assert client.put(temp_url("PUT", f"{LOGS}/up"), data=b"via temp url").status_code == 201
    assert client.get(f"{LOGS}/up", headers=AUTH).data == b"via temp url"
    assert_fault(client.get(temp_url("PUT", f"{LOGS}/up")), 401)
    assert_fault(client.put(temp_url("GET", f"{LOGS}/up"), data=b"no"), 401)
    assert_fault(client.delete(temp_url("GET", f"{LOGS}/up")), 401)
    assert client.get(f"{LOGS}/up", headers=AUTH).data == b"via temp url"


def test_a_tampered_or_foreign_temp_url_is_401(client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"x")
    put(client, f"{LOGS}/m", b"y")
    good = temp_url("GET", f"{LOGS}/n")
    path, query = good.split("?")
    assert_fault(client.get(f"{LOGS}/m?{query}"), 401)  # another object's path
    flipped = query.replace("temp_url_sig=", "temp_url_sig=f", 1).replace("&", "", 0)
    tampered = flipped[: flipped.index("&") - 1] + flipped[flipped.index("&") :]
    assert_fault(client.get(f"{path}?{tampered}"), 401)
    expires = int(time.time()) + 60
    assert_fault(
        client.get(
            f"{path}?temp_url_sig={sign('GET', path, expires, key='other')}&temp_url_expires={expires}"
        ),
        401,
    )
    assert_fault(client.get(f"{path}?temp_url_expires={expires}"), 401)
    assert_fault(client.get(f"{path}?temp_url_sig={sign('GET', path, expires)}"), 401)


def test_a_temp_url_expires_by_the_service_clock(client: FlaskClient, api: Api) -> None:
    put(client, f"{LOGS}/n", b"x")
    url = temp_url("GET", f"{LOGS}/n", expires=int(time.time()) + 600)
    assert client.get(url).status_code == 200
    api.advance_clock(601)
    assert_fault(client.get(url), 401)


# The whole story: the log file's links.


def test_the_completed_logfile_temp_url_downloads_what_the_agent_uploaded(
    api: Api, client: FlaskClient
) -> None:
    agent_id = api.agent()
    requested = api.request_logfile(agent_id).get_json()
    feed = api.list_events(agent_id).get_json()["events"]
    upload_link = next(
        link["href"] for event in feed if event["event"] == "logfile_upload" for link in event["links"]
    )
    log = gzip.compress(b"backup agent log\n" * 100)
    assert api.patch_state(agent_id, requested["id"], "started").status_code == 204
    assert client.put(urlsplit(upload_link).path, data=log, headers=AUTH).status_code == 201
    assert api.patch_state(agent_id, requested["id"], "completed").status_code == 204
    links = links_by_rel(api.get_logfile(agent_id, requested["id"]).get_json())
    assert links["logfile"] == upload_link
    parts = urlsplit(links["logfile_temp_url"])
    got = client.get(f"{parts.path}?{parts.query}")
    assert got.status_code == 200
    assert gzip.decompress(got.data) == b"backup agent log\n" * 100


# Limits.


def test_an_object_over_the_limit_is_413_and_stores_nothing(store_url: str) -> None:
    app = create_app(Settings(store_url=store_url, max_object_bytes=1000))
    app.test_client_class = BufferedClient
    try:
        _over_the_limit(app.test_client())
    finally:
        app.extensions["logfiles"].store.close()


def _over_the_limit(client: FlaskClient) -> None:
    assert put(client, f"{LOGS}/ok", b"x" * 1000).status_code == 201
    answer = put(client, f"{LOGS}/big", b"x" * 1001)
    assert_fault(answer, 413)
    # The rest of the body is short (under 16 MiB): read and dropped, the connection kept.
    assert "Connection" not in answer.headers
    chunked = chunked_put(client, f"{LOGS}/big", b"x" * 1200)
    assert_fault(chunked, 413)
    assert_fault(client.get(f"{LOGS}/big", headers=AUTH), 404)
    assert client.get(LOGS, headers=AUTH).data == b"ok\n"


# The control plane.


# The only test of PostgreSQL's export of objects (coverage of logfiles/store/ says so).
@pytest.mark.all_stores
def test_export_lists_objects_without_bytes_and_a_seed_gives_a_readable_object(
    api: Api, client: FlaskClient
) -> None:
    put(client, f"{LOGS}/uploaded", b"uploaded bytes")
    seeded = {
        "project_id": PROJECT,
        "name": "v2/a/seeded.gz",
        "content_base64": base64.b64encode(b"seeded").decode(),
    }
    answer = api.control("post", "state", {"objects": [seeded]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["counts"]["objects"] == 1
    assert client.get(f"{LOGS}/v2/a/seeded.gz", headers=AUTH).data == b"seeded"
    exported = api.control("get", "state").get_json()["objects"]
    by_name = {item["name"]: item for item in exported}
    assert by_name["uploaded"] == {
        "project_id": PROJECT,
        "container": "CloudBackupLogs",
        "name": "uploaded",
        "bytes": 14,
        "hash": md5(b"uploaded bytes"),
        "content_type": "application/octet-stream",
        "last_modified": by_name["uploaded"]["last_modified"],
    }
    assert "content_base64" not in by_name["uploaded"]
    # The export imported again changes no object (export-shaped items carry no bytes).
    again = api.control("post", "state", {"objects": exported})
    assert again.get_json()["counts"]["objects"] == 0
    assert client.get(f"{LOGS}/uploaded", headers=AUTH).data == b"uploaded bytes"


@pytest.mark.parametrize(
    "item",
    [
        {"name": "n", "content_base64": "eA=="},
        {"project_id": PROJECT, "content_base64": "eA=="},
        {"project_id": PROJECT, "name": "n", "content_base64": "not base64!"},
        {"project_id": PROJECT, "name": "n", "content_base64": "eA==", "bytes": 2},
        {"project_id": PROJECT, "name": "n", "content_base64": "eA==", "hash": "0" * 32},
        {"project_id": PROJECT, "name": "n", "container": "a/b", "content_base64": "eA=="},
        {"project_id": PROJECT, "name": "x" * 1025, "content_base64": "eA=="},
        {
            "project_id": PROJECT,
            "name": "n",
            "content_base64": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode(),
        },
    ],
)
def test_a_bad_seeded_object_is_400_and_seeds_nothing(api: Api, item: dict[str, Any]) -> None:
    body = assert_fault(api.control("post", "state", {"objects": [item]}), 400)
    assert body["errors"][0].startswith("objects.0.")
    assert api.control("get", "state").get_json()["objects"] == []


def test_reset_removes_every_object(api: Api, client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"x")
    client.put(f"{BASE}/mine", headers=AUTH)
    api.reset()
    assert_fault(client.get(f"{LOGS}/n", headers=AUTH), 404)
    assert_fault(client.get(f"{BASE}/mine", headers=AUTH), 404)


def test_the_journal_records_object_requests_without_their_bytes(api: Api, client: FlaskClient) -> None:
    put(client, f"{LOGS}/n", b"binary \x00\xff bytes")
    entries = api.control("get", "requests").get_json()["requests"]
    entry = next(e for e in entries if e["method"] == "PUT" and e["path"] == f"{LOGS}/n")
    assert entry["status"] == 201
    assert entry["body"] in ("", None)


def test_a_fault_rule_can_fail_uploads(api: Api, client: FlaskClient) -> None:
    rule = {"method": "PUT", "path": "/cloudfiles/*", "status": 503, "times": 1}
    assert api.control("post", "faults", rule).status_code == 201
    assert put(client, f"{LOGS}/n", b"x").status_code == 503
    assert put(client, f"{LOGS}/n", b"x").status_code == 201


def test_token_roles_apply_to_objects(tmp_path: Path, store_url: str) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps(
            {
                "admin": {"project_id": PROJECT, "roles": ["cloudbackup:admin"]},
                "observer": {"project_id": PROJECT, "roles": ["observer"]},
                "creator": {"project_id": PROJECT, "roles": ["cloudbackup:creator"]},
                "other": {"project_id": "999", "roles": ["admin"]},
            }
        )
    )
    app = create_app(Settings(store_url=store_url, tokens_file=str(tokens), control_open=True))
    app.test_client_class = BufferedClient
    client = app.test_client()
    try:
        assert client.put(f"{LOGS}/n", data=b"x", headers={"X-Auth-Token": "creator"}).status_code == 201
        assert_fault(client.put(f"{LOGS}/n", data=b"y", headers={"X-Auth-Token": "observer"}), 403)
        assert client.get(f"{LOGS}/n", headers={"X-Auth-Token": "observer"}).data == b"x"
        assert_fault(client.get(f"{LOGS}/n", headers={"X-Auth-Token": "other"}), 403)
        assert_fault(client.get(f"{LOGS}/n", headers={"X-Auth-Token": "unknown"}), 401)
        assert_fault(client.delete(f"{LOGS}/n", headers={"X-Auth-Token": "creator"}), 403)
        assert client.delete(f"{LOGS}/n", headers={"X-Auth-Token": "admin"}).status_code == 204
    finally:
        app.extensions["logfiles"].store.close()


def test_the_openapi_document_lists_every_object_store_route_and_method(
    app: Flask, client: FlaskClient
) -> None:
    document = client.get("/openapi.json").get_json()
    served = {
        (re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule).replace("{name}", "{object}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/cloudfiles/") and not rule.rule.endswith("/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert served == {
        (path, method)
        for path, operations in document["paths"].items()
        if path.startswith("/cloudfiles/")
        for method in operations
    }
    upload = document["paths"]["/cloudfiles/v1/MossoCloudFS_{project_id}/{container}/{object}"]["put"]
    assert {"201", "411", "413", "422"} <= set(upload["responses"])
