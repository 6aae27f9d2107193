"""The object store (a Cloud Files / Swift subset): where agents upload logs and people fetch them.

Who may: an X-Auth-Token as on /v2 (project and roles), or, for an object, a temp URL (its
signature bound to the method, its expiry read on the service clock). Ranges, conditional
requests and streaming are werkzeug's (`Response.make_conditional`, `wrap_file`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC
from urllib.parse import quote

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import FileWrapper

from .. import tempurl
from ..auth import Action
from ..errors import (
    Invalid,
    LengthRequired,
    LogfilesError,
    PreconditionFailed,
    RangeNotSatisfiable,
    Unauthorized,
)
from ..objects import (
    CHUNK_BYTES,
    MAX_LISTING_LIMIT,
    MAX_OBJECT_NAME_BYTES,
    ListingQuery,
    ObjectInfo,
    Upload,
    check_container_name,
    check_object_name,
    content_type_for,
    expected_etag,
    too_large,
)
from . import checks, no_content, now, runtime

bp = Blueprint("objects", __name__, url_prefix="/cloudfiles/v1/MossoCloudFS_<project_id>")

PREFIX = "/cloudfiles/"
_ACTIONS = {"GET": Action.READ, "HEAD": Action.READ, "PUT": Action.CREATE, "DELETE": Action.DELETE}
_TEMP_URL_PARAMS = ("temp_url_sig", "temp_url_expires")
_LIMIT_DIGITS = 9


def _allow_object(project_id: str) -> None:
    """A temp URL when the query carries one (the token is then not looked at, as Swift), else the token."""
    if any(name in request.args for name in _TEMP_URL_PARAMS):
        signature = request.args.get("temp_url_sig", "")
        expires = request.args.get("temp_url_expires", "")
        key = runtime().settings.temp_url_key
        first, *others = _signed_paths()
        try:
            tempurl.check(key, request.method, first, signature, expires, now())
        except Unauthorized:
            for path in others:
                with contextlib.suppress(Unauthorized):
                    tempurl.check(key, request.method, path, signature, expires, now())
                    return
            raise
        return
    checks.authorize(project_id, _ACTIONS[request.method])


def _signed_paths() -> list[str]:
    """The path as the client sent it (what it signed), then its canonical quoting."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    raw_path = raw.split("?", 1)[0]
    canonical = quote(request.path, safe="/")
    return [raw_path, canonical] if raw_path and raw_path != canonical else [canonical]


def _names(container: str, name: str | None = None) -> None:
    check_container_name(container)
    if name is not None:
        check_object_name(name)


# Containers.


@bp.route("/<container>", methods=["GET", "HEAD", "PUT"], strict_slashes=False)
def container(project_id: str, container: str) -> Response:
    checks.authorize(project_id, _ACTIONS[request.method])
    _names(container)
    store = runtime().store
    if request.method == "PUT":
        created = store.create_container(project_id, container)
        return no_content(201 if created else 202)
    count, used = store.container_usage(project_id, container)  # NotFound first
    usage = {"X-Container-Object-Count": str(count), "X-Container-Bytes-Used": str(used)}
    if request.method == "HEAD":
        response = no_content(204)
        response.headers.update(usage)
        return response
    query = _listing_query()
    items = store.list_objects(project_id, container, query)
    if _wants_json():
        body = json.dumps([_listing_item(info) for info in items])
        response = Response(body, mimetype="application/json")
    elif items:
        response = Response("".join(info.name + "\n" for info in items), mimetype="text/plain")
    else:
        response = no_content(204)  # Swift: an empty plain listing has no body
    response.headers.update(usage)
    return response


def _listing_query() -> ListingQuery:
    args = request.args
    problems = []
    prefix = args.get("prefix", "")
    marker = args.get("marker", "")
    for member, value in (("prefix", prefix), ("marker", marker)):
        if len(value.encode("utf-8", "replace")) > MAX_OBJECT_NAME_BYTES:
            problems.append(f"{member}: at most {MAX_OBJECT_NAME_BYTES} bytes")
    raw_limit = args.get("limit")
    limit = MAX_LISTING_LIMIT
    if raw_limit is not None:
        if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= _LIMIT_DIGITS):
            problems.append(
                f"limit: an integer from 0 to {MAX_LISTING_LIMIT}, in at most {_LIMIT_DIGITS} digits"
            )
        else:
            limit = int(raw_limit)
    fmt = args.get("format")
    if fmt is not None and fmt not in ("json", "plain"):
        problems.append("format: 'json' or 'plain' (XML is not served)")
    if problems:
        raise Invalid("The listing parameters are not valid.", problems)
    if limit > MAX_LISTING_LIMIT:
        raise PreconditionFailed(
            f"Maximum limit is {MAX_LISTING_LIMIT}.", [f"limit: {limit} is over {MAX_LISTING_LIMIT}"]
        )
    return ListingQuery(prefix=prefix, marker=marker, limit=limit)


def _wants_json() -> bool:
    fmt = request.args.get("format")
    if fmt is not None:
        return fmt == "json"
    return request.accept_mimetypes.best_match(["text/plain", "application/json"]) == "application/json"


def _listing_item(info: ObjectInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "bytes": info.bytes,
        "hash": info.hash,
        "last_modified": info.last_modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "content_type": info.content_type,
    }


# Objects.


@bp.route("/<container>/<path:name>", methods=["GET", "HEAD"])
def download(project_id: str, container: str, name: str) -> Response:
    _allow_object(project_id)
    _names(container, name)
    store = runtime().store
    if request.method == "HEAD":  # the headers only: no file to open
        info = store.get_object(project_id, container, name)
        response = Response(b"")
        stream = None
    else:
        info, stream = store.open_object(project_id, container, name)
        response = Response(_ClosingFile(stream, CHUNK_BYTES), direct_passthrough=True)
    _describe(response, info)
    response.headers["Content-Type"] = info.content_type
    response.headers["Content-Length"] = str(info.bytes)
    response.set_etag(info.hash)
    try:
        response.make_conditional(request.environ, accept_ranges=True, complete_length=info.bytes)
    except RequestedRangeNotSatisfiable:
        if stream is not None:
            stream.close()
        raise RangeNotSatisfiable(
            "The requested range is not satisfiable.",
            [f"Range: selects no byte of an object of {info.bytes} bytes"],
            {"Content-Range": f"bytes */{info.bytes}"},
        ) from None
    if stream is not None and response.status_code == 304:
        stream.close()
    response.headers["ETag"] = info.hash  # Swift sends it unquoted
    return response


class _ClosingFile(FileWrapper):
    """werkzeug's file wrapper (seekable, so ranges skip ahead), closing the file at its end.

    A server closes the response when it is done; this also frees the file of a client that
    reads the body and never closes (Flask's test client, say).
    """

    def __next__(self) -> bytes:
        data = self.file.read(self.buffer_size)
        if data:
            return data
        self.close()
        raise StopIteration


@bp.route("/<container>/<path:name>", methods=["PUT"])
def upload(project_id: str, container: str, name: str) -> Response:
    _allow_object(project_id)
    _names(container, name)
    rt = runtime()
    limit = rt.settings.max_object_bytes
    length = request.content_length
    chunked = bool(request.environ.get("wsgi.input_terminated"))
    if length is None and not chunked:
        raise LengthRequired(
            "The upload needs a length.", ["Content-Length: missing, and the body is not chunked"]
        )
    if length is not None and length > limit:
        error = too_large(limit)
        error.headers["Connection"] = "close"  # the body is not read: the connection cannot be reused
        raise error
    g.body = b""  # the journal notes the upload's headers, not its bytes
    content_type = content_type_for(name, request.headers.get("Content-Type"))
    body = Upload(_body_chunks(length), limit, expected_etag(request.headers.get("ETag")))
    try:
        info = rt.store.put_object(project_id, container, name, content_type, body, now())
    except LogfilesError as exc:
        # Refused with the body (maybe) half read: the connection cannot carry another request.
        exc.headers.setdefault("Connection", "close")
        raise
    response = no_content(201)
    _describe(response, info)
    response.headers["ETag"] = info.hash
    return response


@bp.route("/<container>/<path:name>", methods=["DELETE"])
def delete(project_id: str, container: str, name: str) -> Response:
    _allow_object(project_id)
    _names(container, name)
    runtime().store.delete_object(project_id, container, name)
    return no_content(204)


def _describe(response: Response, info: ObjectInfo) -> None:
    response.last_modified = info.last_modified
    response.headers["X-Timestamp"] = f"{info.last_modified.timestamp():.5f}"


def _body_chunks(length: int | None) -> Iterator[bytes]:
    """The upload as it arrives, in chunks; never all of it at once."""
    stream = request.environ["wsgi.input"]
    left = length
    try:
        while left is None or left > 0:
            chunk = stream.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            yield chunk
    # The server's readers raise what they like (a socket error, a bad chunk size).
    except Exception:  # noqa: BLE001
        raise Invalid(
            "The request body could not be read.",
            ["body: malformed chunked transfer encoding, or the body was cut short"],
        ) from None
    if left:
        raise Invalid("The request body could not be read.", [f"body: {left} bytes short of Content-Length"])
