"""The object store (a Cloud Files / Swift subset): where agents upload logs and people fetch them.

Who may: an X-Auth-Token as on /v2 (project and roles), or, for an object, a temp URL (its
signature bound to the method, its expiry read on the service clock). Ranges, conditional
requests and streaming are werkzeug's (`Response.make_conditional`, `wrap_file`).

Every answer under /cloudfiles/ is sandboxed (`sandbox_answer`): an object is anyone's bytes
with the Content-Type they chose, and a browser that opened one as a page on the stub's own
origin would run its script with the rights of the dashboard (a POST to /_control/reset).
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from .. import tempurl
from ..auth import Action
from ..errors import (
    Invalid,
    LengthRequired,
    LogfilesError,
    NotFound,
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
    container_not_found,
    content_type_for,
    expected_etag,
    too_large,
)
from . import checks, no_content, now, runtime
from .body import Body
from .conditions import PRECONDITIONS, ClosingFile, check_preconditions, let_through, settle_range

bp = Blueprint("objects", __name__, url_prefix="/cloudfiles/v1/MossoCloudFS_<project_id>")

_ACTIONS = {"GET": Action.READ, "HEAD": Action.READ, "PUT": Action.CREATE, "DELETE": Action.DELETE}
_TEMP_URL_PARAMS = ("temp_url_sig", "temp_url_expires")
_LIMIT_DIGITS = 9
OBJECT_STORE_PREFIX = "/cloudfiles/"
# What stops a browser from running stored bytes as the stub's page, whatever their type: the
# CSP sandbox gives the document an opaque origin of its own (no script, no form, no same-origin
# request: its fetches say `Origin: null`, which the control plane refuses), `default-src
# 'none'` loads nothing even where `sandbox` is not understood, `nosniff` keeps a browser from
# guessing HTML or script in what says it is neither, and CORP keeps other sites' pages from
# embedding an object (`<img>`, `<script>`); a CORS fetch is not affected by CORP.
SANDBOX_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@bp.after_app_request
def sandbox_answer(response: Response) -> Response:
    """Every answer under /cloudfiles/ (downloads, temp URLs, errors, fault rules' answers)
    gets SANDBOX_HEADERS; its Content-Type and bytes stay what was stored."""
    if request.path.startswith(OBJECT_STORE_PREFIX):
        response.headers.update(SANDBOX_HEADERS)
    return response


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
    """Swift's checks: the path as sent is UTF-8 without NUL (412), then each name's bounds (400).

    werkzeug decodes a path that is not UTF-8 with replacement characters, which would make
    `%ff` and `%fe` one name: the raw path is checked first.
    """
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:  # as the client sent it (gunicorn, werkzeug); PATH_INFO may be decoded already
        _check_utf8("path", unquote_to_bytes(raw.split("?", 1)[0].encode("latin-1", "replace")))
    _check_utf8("path", environ.get("PATH_INFO", "").encode("latin-1", "replace"))
    check_container_name(container)
    if name is not None:
        check_object_name(name)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_utf8(where: str, raw: bytes) -> None:
    if b"\x00" in raw or not _is_utf8(raw):
        raise PreconditionFailed("Invalid UTF8 or contains NULL", [f"{where}: not UTF-8, or holds a NUL"])


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
    # werkzeug decodes the query with replacement characters too: the raw bytes are checked.
    raw = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    for member, value in raw:
        if member in ("prefix", "marker"):
            _check_utf8(member, value.encode("latin-1"))
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


@bp.route("/<container>/<object:name>", methods=["GET", "HEAD"])
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
        response = Response(ClosingFile(stream, CHUNK_BYTES), direct_passthrough=True)
    _describe(response, info)
    response.headers["Content-Type"] = info.content_type
    response.headers["Content-Length"] = str(info.bytes)
    response.set_etag(info.hash)
    try:
        check_preconditions(info)
    except PreconditionFailed:
        if stream is not None:
            stream.close()
        raise
    # Decided: werkzeug's make_conditional would answer a held If-Match with 412 all the same.
    request.environ.pop("HTTP_IF_MATCH", None)
    if not let_through(info):
        # RFC 9110 13.2.2: If-None-Match (or If-Modified-Since) is decided before Range.
        if stream is not None:
            stream.close()
        not_modified = no_content(304)
        _describe(not_modified, info)
        not_modified.headers["ETag"] = info.hash
        return not_modified
    settle_range(info.bytes)
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


def _current(project_id: str, container: str, name: str) -> ObjectInfo | None:
    """The object a conditional PUT would replace (None: none yet); 404 for no such container."""
    store = runtime().store
    if not store.container_exists(project_id, container):
        raise container_not_found(container)
    try:
        return store.get_object(project_id, container, name)
    except NotFound:
        return None


@bp.route("/<container>/<object:name>", methods=["PUT"])
def upload(project_id: str, container: str, name: str) -> Response:
    length = request.content_length
    # Not `wsgi.input_terminated`: gunicorn sets it on every request, chunked or not.
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    body = Body(request.environ["wsgi.input"], length)
    g.body = b""  # the journal notes the upload's headers, not its bytes
    try:
        info = _store_upload(project_id, container, name, body, length, chunked)
    except LogfilesError as exc:
        # Every refusal, the token's and the names' too: the body's rest is read up to
        # DRAIN_BYTES or the connection closes, never read whole by the server.
        body.refuse(exc)
        raise
    response = no_content(201)
    _describe(response, info)
    response.headers["ETag"] = info.hash
    return response


@bp.route("/<container>/<object:name>", methods=["DELETE"])
def delete(project_id: str, container: str, name: str) -> Response:
    _allow_object(project_id)
    _names(container, name)
    store = runtime().store
    if any(header in request.environ for header in PRECONDITIONS):
        # Checked on arrival: a test double's conditional delete, not a compare-and-delete.
        check_preconditions(store.get_object(project_id, container, name))  # 404 first
    store.delete_object(project_id, container, name)
    return no_content(204)


def _describe(response: Response, info: ObjectInfo) -> None:
    response.last_modified = info.last_modified
    response.headers["X-Timestamp"] = f"{info.last_modified.timestamp():.5f}"


def _store_upload(
    project_id: str, container: str, name: str, body: Body, length: int | None, chunked: bool
) -> ObjectInfo:
    _allow_object(project_id)
    _names(container, name)
    rt = runtime()
    limit = rt.settings.max_object_bytes
    if length is None and not chunked:
        raise LengthRequired(
            "The upload needs a length.", ["Content-Length: missing, and the body is not chunked"]
        )
    if length is not None and length > limit:
        raise too_large(limit)
    content_type = content_type_for(name, request.headers.get("Content-Type"))
    if any(header in request.environ for header in PRECONDITIONS):
        # Checked before the body is read (a refusal reads none of it), not again at publish.
        check_preconditions(_current(project_id, container, name))
    upload = Upload(body.chunks(), limit, expected_etag(request.headers.get("ETag")), length)
    return rt.store.put_object(project_id, container, name, content_type, upload, now())
