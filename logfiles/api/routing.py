"""Routing: the id converters of the /v2 routes, and step 3's trailing `/` and `.json` (the
whole order of checks is in pipeline.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, Map

from ..ids import URL_ID_PATTERN
from .wire import WsgiApp


class IdConverter(BaseConverter):
    """One non-empty path segment that does not end in `.xml` or `.json`.

    SPEC: XML is not served, and a `.xml` suffix is an unknown route (404 before the token
    is looked at), not part of an id; a `.json` suffix is the guide's way to ask for JSON,
    which routing takes off the path (api/pipeline.py, step 3), not part of an id either.
    """

    regex = URL_ID_PATTERN


class AgentIdConverter(IdConverter):
    """An agent's id right under `/agents/`, where `tokens` is the authentication route.

    So `GET /v2/{p}/agents/tokens` is a method that route does not have (405, `Allow: POST`),
    not a look-up of an agent called "tokens".
    """

    regex = r"(?!tokens(?![^/]))" + IdConverter.regex


class ObjectNameConverter(BaseConverter):
    """The rest of the path, whatever it holds: Swift names may start with `/` or hold newlines.

    (werkzeug's `path` converter wants a first character other than `/` and stops at a newline.)
    """

    regex = r"(?s:.+)"
    part_isolating = False


# Step 3's tolerated endings, and where it leaves the one it took off (the path as sent is
# the canonical path plus it: both end in ASCII, so no decoding stands between them).
TOLERATED_SUFFIXES = ("/", ".json")
SENT_SUFFIX = "logfiles.sent_suffix"


def tolerated_suffix(path: str) -> str | None:
    """The `/` or `.json` (any case, as `.xml` is refused in any case) that step 3 may take off
    `path`, or None: only on /v2 (not Identity's /v2.0), never leaving an empty path."""
    if not path.startswith("/v2") or path.startswith("/v2.0"):
        return None
    if path.endswith("/"):
        return "/" if len(path) > 1 else None
    ending = path[-5:]
    return ending if ending.lower() == ".json" and len(path) > 5 else None


class SuffixRouting:
    """Step 3's WSGI middleware: a /v2 path that matches no route as sent, but does without one
    trailing `/` or one final `.json`, goes on to Flask as that canonical path.

    The URL map is consulted only for a path that ends in one of them, so other requests
    pay one string test. A path that matches a route as sent is left alone, and so is one
    whose canonical path matches none (a 404 that names the path as sent).
    """

    def __init__(self, app: WsgiApp, url_map: Map) -> None:
        self.app = app
        self.url_map = url_map

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        suffix = tolerated_suffix(path)
        if suffix is not None and not self.routes(environ):
            canonical = dict(environ, PATH_INFO=path[: -len(suffix)])
            if self.routes(canonical):
                environ["PATH_INFO"] = canonical["PATH_INFO"]
                environ[SENT_SUFFIX] = suffix
        return self.app(environ, start_response)

    def routes(self, environ: dict[str, Any]) -> bool:
        """Whether some route takes this path (for this method or another: a 405 is a route)."""
        try:
            self.url_map.bind_to_environ(environ).match(method=environ.get("REQUEST_METHOD", "GET"))
        except NotFound:
            return False
        except HTTPException:  # 405, or a Host werkzeug cannot bind: Flask answers it
            return True
        return True


def sent_path() -> str:
    """The request's path as the client sent it (step 3 may have taken a suffix off)."""
    suffix: str = request.environ.get(SENT_SUFFIX, "")
    return request.path + suffix
