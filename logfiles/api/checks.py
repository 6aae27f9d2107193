"""Request preconditions in SPEC order: token, role, then content type, size, JSON."""

from __future__ import annotations

from typing import Any

from flask import g, request
from marshmallow import Schema, ValidationError

from .. import strictjson
from ..auth import Action, Grant
from ..config import MAX_BODY_BYTES
from ..errors import Invalid, PayloadTooLarge, UnsupportedMediaType
from ..schemas import flatten_messages
from . import now, runtime
from .body import Body, drain

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"


def authorize(project_id: str, action: Action) -> Grant | None:
    """401 without a usable token, 403 when it may not do `action` on `project_id`.

    Returns the token's grant (None: any token, open mode). Marks the request as one the
    project accepted, which is when its X-Agent-Id counts as hearing from that agent.
    """
    token = request.headers.get("X-Auth-Token", "").strip()
    rt = runtime()
    grant = rt.tokens.authorize(token, project_id, action, rt.store.get_token, now)
    g.authorized_project = project_id
    return grant


def require_content_type(expected: str) -> None:
    """Compare the media type case-insensitively, ignoring parameters such as charset."""
    given = request.mimetype  # werkzeug lower-cases it and drops the parameters
    if given != expected:
        shown = request.headers.get("Content-Type") or "none"
        raise UnsupportedMediaType(
            f"The request body must be sent as {expected}.",
            [f"Content-Type: '{shown}' is not {expected}"],
        )


def read_body(limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, at most `limit` bytes (chunked included), else 413; 400 if it cannot be read.

    werkzeug's own limit silently truncates a chunked body at exactly the limit, so a
    chunked body is read here (body.py), past the limit, to tell "exactly 1 MiB" from "more".
    """
    length = request.content_length
    stream = request.environ["wsgi.input"]
    if length is not None:
        if length > limit:
            drain(stream, length)
            raise _too_large(limit)
        request.max_content_length = limit
        return request.get_data(cache=True)
    if not request.environ.get("wsgi.input_terminated"):
        return b""
    return Body(stream, None).read(limit, _too_large(limit))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("The request body is too large.", [f"body: over the limit of {limit} bytes"])


def parse_json(data: bytes) -> Any:
    """Strict RFC 8259: UTF-8, no NaN/Infinity, no duplicate members (RFC 6902 tests call them errors)."""
    try:
        return strictjson.loads(data)
    except (ValueError, RecursionError) as exc:
        detail = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
        raise Invalid("The request body is not valid JSON.", [f"body: {detail}"]) from None


def read_json(limit: int = MAX_BODY_BYTES) -> Any:
    """413 for an oversized body, then 400 for one that is not JSON."""
    g.body = read_body(limit)  # kept for the request journal
    return parse_json(g.body)


def load_json(schema: Schema, message: str, limit: int = MAX_BODY_BYTES) -> Any:
    """An `application/json` body through `schema`: 415, 413, then 400 listing every problem."""
    require_content_type(JSON)
    return validated(schema, read_json(limit), message)


def validated(schema: Schema, data: Any, message: str) -> Any:
    """`schema.load(data)`, or Invalid with one `where: problem` entry per problem."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Invalid(message, flatten_messages(exc.messages)) from None


def load_query(schema: Schema, message: str) -> Any:
    """The query string through `schema` (the first value of each name); 400 on a problem."""
    return validated(schema, request.args.to_dict(flat=True), message)
