"""Cross-origin access for browser apps (LOGFILES_CORS_ORIGINS); flask-cors writes every header.

Which routes: the service's, the ones fault rules and the journal see (`/v2`, Identity's
`/v2.0/tokens`, the object store's `/cloudfiles/`), which a browser control panel calls, and
the two public documents (`/` and `/openapi.json`, which an API browser served elsewhere
reads). Not the control plane: it hands out every token (the journal) and rewrites all state,
so no other origin's page may drive it, and its own dashboard is served same-origin.

How: flask-cors's `cross_origin`, applied per request with the route's own methods (werkzeug's
routing knows them; a static list per path pattern would repeat the routing table). A
preflight is prepared by the first before_request hook and answered by pipeline.check_route
(step 3), where an OPTIONS is otherwise 405; every other answer to an allowed origin, fault
and error answers included, gets its headers after the view. See pipeline.py for the order.
"""

from __future__ import annotations

import re

from flask import Flask, Response, current_app, g, request
from flask_cors import cross_origin

from ..origins import CORS_ANY
from . import no_content
from .errors import IGNORED_METHODS
from .pipeline import CORS_PREFLIGHT, is_contract, is_observed

# What a browser app sends: the guide's token and agent headers and the body's type, plus the
# object store's upload check (ETag) and conditional and ranged downloads.
ALLOW_HEADERS = (
    "X-Auth-Token",
    "X-Agent-Id",
    "Content-Type",
    "ETag",
    "If-None-Match",
    "If-Modified-Since",
    "Range",
)
# What it may read beyond the safelisted headers: where a new agent or log file is, when to
# retry, what a 405 allows, and the object store's answers.
EXPOSE_HEADERS = (
    "Location",
    "Retry-After",
    "Allow",
    "ETag",
    "Content-Range",
    "Accept-Ranges",
    "X-Timestamp",
    "X-Container-Object-Count",
    "X-Container-Bytes-Used",
)
# (ours) Ten minutes: a browser asks again soon after the stub is restarted with other origins
# (Chromium caps any value at two hours; without the header it asks every five seconds).
MAX_AGE = 600
DOCUMENTS = frozenset({"/", "/openapi.json"})
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
REQUEST_METHOD = "Access-Control-Request-Method"


def applies(path: str) -> bool:
    """Whether answers on `path` may carry CORS headers: the service's routes and documents."""
    return path in DOCUMENTS or is_observed(path)


def route_methods() -> list[str]:
    """The methods the request's route has: on `/v2` the contract's (no HEAD), else all but OPTIONS."""
    methods = current_app.url_map.bind_to_environ(request.environ).allowed_methods()
    left_out = IGNORED_METHODS if is_contract(request.path) else {"OPTIONS"}
    return sorted(method for method in methods if method not in left_out)


class Cors:
    """The configured origins, and flask-cors applied with them to one answer at a time."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.any_origin = origins == (CORS_ANY,)
        # Each origin compared whole and case-insensitively, never read as a pattern: flask-cors
        # would take `http://[::1]:3000` for a regular expression (its brackets) and never match.
        self.origins = [re.compile(re.escape(origin) + r"\Z", re.IGNORECASE) for origin in origins]

    def prepare_preflight(self) -> None:
        """Before every other hook: if this is a preflight flask-cors accepts, keep its answer.

        Accepted: an allowed `Origin`, and an `Access-Control-Request-Method` that is exactly one
        of the route's methods (flask-cors alone would also take a part of one, `PAT`).
        pipeline.check_route answers it (step 3); a fault rule for OPTIONS still comes first.
        """
        wanted = request.headers.get(REQUEST_METHOD)
        if request.method != "OPTIONS" or not wanted or not applies(request.path):
            return
        methods = route_methods()
        if wanted not in methods:
            return
        answer = self.with_headers(no_content(), methods)
        if ALLOW_METHODS in answer.headers:
            g.setdefault(CORS_PREFLIGHT, answer)

    def add_headers(self, response: Response) -> Response:
        """After the view or error handler: the headers an allowed origin's page needs to read it."""
        if "Origin" not in request.headers or not applies(request.path):
            return response  # curl, agents, same-origin GETs: nothing to add, nothing to compute
        if ALLOW_ORIGIN in response.headers:
            return response  # the preflight answer made above
        return self.with_headers(response, [])

    def with_headers(self, response: Response, methods: list[str]) -> Response:
        """flask-cors's own decision (origin, preflight, Vary) on `response`, with `methods`."""

        @cross_origin(
            origins="*" if self.any_origin else self.origins,
            send_wildcard=self.any_origin,
            methods=methods,
            allow_headers=list(ALLOW_HEADERS),
            expose_headers=list(EXPOSE_HEADERS),
            max_age=MAX_AGE,
            supports_credentials=False,  # tokens are headers, never cookies
            always_send=False,  # no headers for a request without Origin (curl, agents)
            automatic_options=False,
        )
        def answer() -> Response:
            return response

        return answer()


def install(app: Flask, origins: tuple[str, ...]) -> None:
    """With origins configured, prepare preflights first of all hooks and add headers after."""
    if not origins:
        return  # CORS off: no hook, no header, OPTIONS stays 405
    cors = Cors(origins)
    app.before_request_funcs.setdefault(None, []).insert(0, cors.prepare_preflight)
    app.after_request(cors.add_headers)
