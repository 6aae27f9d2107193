"""Request preconditions in SPEC order: token, role, then content type, size, JSON."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..auth import Action, TokenRegistry
from ..errors import Invalid, PayloadTooLarge, UnsupportedMediaType

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"


def authorize(project_id: str, action: Action) -> None:
    """401 without a usable token, 403 when it may not do `action` on `project_id`."""
    registry: TokenRegistry = current_app.extensions["logfiles"].tokens
    registry.authorize(request.headers.get("X-Auth-Token", "").strip(), project_id, action)


def require_content_type(expected: str) -> None:
    """Compare the media type case-insensitively, ignoring parameters such as charset."""
    given = request.mimetype  # werkzeug lower-cases it and drops the parameters
    if given != expected:
        shown = request.headers.get("Content-Type") or "none"
        raise UnsupportedMediaType(
            f"The request body must be sent as {expected}.",
            [f"Content-Type: '{shown}' is not {expected}"],
        )


def read_body() -> bytes:
    """The body, at most MAX_CONTENT_LENGTH bytes (chunked included), else 413."""
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge("The request body is too large.", ["body: over the 1 MiB limit"]) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes) -> Any:
    """Strict RFC 8259: no NaN/Infinity, no duplicate members (RFC 6902 tests call them errors)."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        detail = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
        raise Invalid("The request body is not valid JSON.", [f"body: {detail}"]) from None


def read_json() -> Any:
    """413 for an oversized body, then 400 for one that is not JSON."""
    return parse_json(read_body())
