"""Flask's JSON provider, encoding with orjson: a page of a thousand log files in a tenth the time."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    """Responses are encoded by orjson, keys in the order they were built (the guide's).

    Decoding stays with the standard library: request bodies go through `checks.parse_json`,
    which must see duplicate member names, and orjson would silently keep the last one.
    """

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return encode(obj).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """`jsonify(obj)`, as Flask's: one argument is the value, several a list, keywords a dict."""
        if args and kwargs:
            raise TypeError("jsonify() takes positional or keyword arguments, not both")
        obj = args[0] if len(args) == 1 else (args or kwargs or None)
        return Response(encode(obj), mimetype=self.mimetype)


def encode(obj: Any) -> bytes:
    """orjson, or the standard library for what orjson refuses but JSON allows.

    A client may register integers past 64 bits or strings with lone surrogate escapes
    ("\\ud800"); what was accepted must be shown back, not turned into a 500.
    """
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        return json.dumps(obj, separators=(",", ":")).encode()
