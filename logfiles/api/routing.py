"""Routing: the id converter of the /v2 routes (the routing checks are in pipeline.py)."""

from __future__ import annotations

from werkzeug.routing import BaseConverter


class IdConverter(BaseConverter):
    """One non-empty path segment that does not end in `.xml`.

    SPEC: XML is not served, and a `.xml` suffix is an unknown route (404 before the token
    is looked at), not part of an id.
    """

    regex = r"[^/]+(?<![.][xX][mM][lL])"
