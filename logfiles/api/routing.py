"""Routing: the id converter of the /v2 routes, and the routing rules werkzeug leaves to us."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter

from .errors import IGNORED_METHODS, allowed_methods


class IdConverter(BaseConverter):
    """One non-empty path segment that does not end in `.xml`.

    SPEC: XML is not served, and a `.xml` suffix is an unknown route (404 before the token
    is looked at), not part of an id.
    """

    regex = r"[^/]+(?<![.][xX][mM][lL])"


def check_route() -> None:
    """Routing rules werkzeug does not enforce by itself; runs before anything else.

    - A path starting with `//` is no route (werkzeug would match it without the slashes).
    - SPEC: other methods on /v2 routes are 405, HEAD and OPTIONS included, with an Allow
      header that lists only the contract's methods.
    """
    if request.environ.get("PATH_INFO", "").startswith("//"):
        raise NotFound()
    rule = request.url_rule
    if request.method in IGNORED_METHODS and rule and rule.rule.startswith("/v2/"):
        methods = current_app.url_map.bind_to_environ(request.environ).allowed_methods()
        raise MethodNotAllowed(valid_methods=allowed_methods(methods))
