"""The HTTP layer: blueprints, request checks, links and error rendering (Flask lives here)."""

from __future__ import annotations

from flask import current_app

from ..runtime import Runtime


def runtime() -> Runtime:
    """The running app's store, settings, tokens, clock and id source."""
    return current_app.extensions["logfiles"]
