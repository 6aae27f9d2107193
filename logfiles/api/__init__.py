"""The HTTP layer: blueprints, request checks, links and error rendering (Flask lives here)."""

from __future__ import annotations

from flask import Response, current_app

from ..runtime import Runtime


def runtime() -> Runtime:
    """The running app's store, settings, tokens, clock and id source."""
    return current_app.extensions["logfiles"]


def no_content() -> Response:
    """204 with no body and so no Content-Type (Flask would label an empty body text/html)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
