"""The HTTP layer: blueprints, request checks, links and error rendering (Flask lives here)."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, g

from ..runtime import Runtime


def runtime() -> Runtime:
    """The running app's store, settings, tokens, clock and id source."""
    found: Runtime = current_app.extensions["logfiles"]
    return found


def now() -> datetime:
    """The service clock, read once per request: one instant for every date a request writes
    and its journal entry (and one query, not several, with the SQLite store)."""
    if "now" not in g:
        g.now = runtime().clock.now()
    moment: datetime = g.now
    return moment


def no_content(status: int = 204) -> Response:
    """204 (or 202) with no body and so no Content-Type (Flask would label an empty body text/html)."""
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response
