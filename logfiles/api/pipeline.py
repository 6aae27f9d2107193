"""What happens to every request around its view: fault rules, routing rules, the journal.

This docstring is the one place that writes down the whole order of checks; the code
follows it, hooks first (installed here, in this order), then the view:

0. **CORS preflight, prepared** (`cors.prepare_preflight`, only with LOGFILES_CORS_ORIGINS
   set; installed by cors.py ahead of every hook here): an `OPTIONS` on a CORS route (the
   service's, as step 1 sees them, plus `/` and `/openapi.json`) with an allowed `Origin`
   and an `Access-Control-Request-Method` that is one of the route's methods gets its answer
   made (204 and flask-cors's headers), to be sent at step 3. Nothing is answered yet.
   Then **start** (`note_start`, only with the control plane on): the request's monotonic
   start time, from which its journal entry's `latency_ms` is measured (a latency rule's
   wait included).
1. **Fault rules** (`inject_fault`, only with the control plane on): a rule whose method,
   path glob and header match a request to the service (`/v2`, Identity's `/v2.0/` and the
   object store's `/cloudfiles/`) answers it before anything else looks at the request,
   whatever its method (HEAD and OPTIONS included) and whether or not the route exists, as
   an outage in front of the service would. A CORS preflight (OPTIONS with `Origin` and
   `Access-Control-Request-Method`) is the browser asking leave, not the client's request:
   only a rule whose `method` is OPTIONS matches it (faults.py), so a rule for "any method"
   faults the real request, which the page can then read. A `latency` rule waits and lets the
   request go on; a `drop` rule closes the connection; `reset` and `garbage` rules reset it or
   write random bytes and close it (wire.py), each journaled (status 0) before the socket is
   touched; a `body` rule answers with its own status, headers and bytes. `truncate` and
   `trickle` rules let the request go on (it changes what it would) and mark it for wire.py's
   middleware, which cuts or slows the answer's body once every step here has run (the
   journal's entry, with the answer's status, included). A rule that needs the client's
   socket on a server that gives none (Flask's test client) answers 500 instead. The rules
   are kept in the store: a store that cannot serve makes this step a 503, except for the
   views marked `store_free` (health and ping), which go on to report it.
2. **Host** (`check_host`): a `Host` header werkzeug cannot use (spaces, a path, a port
   past 65535...) is 400, since every `self` link and `Location` is built from it.
3. **Routing** (`SuffixRouting`, a WSGI middleware in front of Flask, then `check_route`,
   then werkzeug): a `/v2` path that matches no route as sent but does without one trailing
   `/` or one final `.json` (SPEC: the guide's `.json` suffix; the service's own SDK polls
   `.../events/`) is routed as that canonical path, so every link the service shows stays
   canonical; fault rules (step 1) and the journal (step 6) see the path as sent. Identity,
   the object store (whose names may end in `/` or `.json`) and the control plane are not
   touched. Then an unknown route is 404 and a method the route does not have is 405 with
   `Allow`, whatever the token. HEAD and OPTIONS are 405 on `/v2` routes (werkzeug would
   answer them by itself), except the preflight step 0 prepared, answered here (204, before
   any token check: browsers send none with it).
4. In the view, in SPEC order: **401** (no or unknown token), **403** (other project, or
   a role without the right), **404** (agent, then log file), **415** (content type),
   **413** (body size, read only now), **400** (JSON, then the schema or patch), and
   **409** (the change does not fit the current state).
5. **Heard from** (`note_agent`, after the view): a request the project's token check
   accepted that carries `X-Agent-Id` marks that agent of the project as heard from
   (its status's `online`); best effort, as the journal.
6. **Journal** (`record_request`, after the view or the error handler): every request to
   the service (as step 1 sees them, preflights included; an upload's bytes left out; secrets
   in any body masked by what it holds, whatever the route: journal.recorded_request_body), with
   the status it got, the answer's size and text body (not a streamed one's: an object
   download keeps its size only), its latency (from step 0) and the fault rule that fired,
   if one did. A dropped, reset or garbage-filled connection is journaled (status 0) before
   its socket is touched; a truncated or trickled answer (with its own status) before its
   body starts. Then this process's waits for journal entries look at once
   (logfiles/waiting.py; other workers' find it at their next poll). The journal is best
   effort: an entry that cannot be written is logged and lost, and the answer stands.
7. **CORS headers** (`cors.add_headers`, after the view or the error handler, only with
   LOGFILES_CORS_ORIGINS set): every answer on a CORS route to an allowed `Origin` (fault
   rules' and errors' included) gets `Access-Control-Allow-Origin` and
   `Access-Control-Expose-Headers`; other origins, and requests without `Origin`, get none.
8. **Broken answers** (`wire.BrokenAnswers`, a WSGI middleware around the whole app, only
   with the control plane on): the answer of a request step 1 marked for a `truncate` or
   `trickle` rule goes to the server cut half way (then the connection closes) or in timed
   pieces; every other answer passes through untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import ClientDisconnected, MethodNotAllowed, NotFound

from ..config import MAX_BODY_BYTES
from ..errors import Invalid, Unavailable
from ..faults import ACTIONS, FaultAction, FaultRule
from ..journal import (
    SECRET_ANSWER_MEMBERS,
    JournalEntry,
    answer_text,
    body_text,
    clip,
    mask_members,
    recorded_headers,
    recorded_request_body,
)
from ..schemas import MAX_ID_LENGTH
from . import now, runtime
from .body import body_not_asked_for
from .errors import HTTP_MESSAGES, IGNORED_METHODS, allowed_methods, fault_response
from .routing import SuffixRouting, sent_path
from .wire import (
    ANSWER_FAULT,
    BrokenAnswers,
    client_socket,
    close_connection,
    reset_connection,
    send_garbage,
)

CONTRACT_PREFIX = "/v2"
CORS_PREFLIGHT = "cors_preflight"  # g's name for the preflight answer cors.py prepared (step 0)
log = logging.getLogger("logfiles")
_View = TypeVar("_View", bound=Callable[..., Any])


def is_contract(path: str) -> bool:
    """Whether `path` is under the contract's `/v2` (where HEAD and OPTIONS are 405)."""
    return path == CONTRACT_PREFIX or path.startswith(CONTRACT_PREFIX + "/")


# Besides /v2: Identity's route and the object store, which a client under test talks to too.
OBSERVED_PREFIXES = ("/v2.0/", "/cloudfiles/")


def is_observed(path: str) -> bool:
    """Whether fault rules and the journal see requests to `path`: the service's, not the control plane's."""
    return is_contract(path) or path.startswith(OBSERVED_PREFIXES)


STORE_FREE = "logfiles_answers_without_store"


def store_free(view: _View) -> _View:
    """Mark a view that answers without the store (health, ping): a store that cannot serve
    does not stop it at step 1, whose fault rules are kept in that store."""
    setattr(view, STORE_FREE, True)
    return view


def answers_without_store() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, STORE_FREE, False))


def note_start() -> None:
    """Step 0: when the request began, for the journal's latency (first hook, so all is counted)."""
    g.started = time.monotonic()


def inject_fault() -> Response | None:
    """Step 1: a matching rule answers before the model runs (mimic's behaviours)."""
    if not is_observed(request.path):
        return None
    try:
        rule = runtime().store.trigger_fault(request.method, sent_path(), request.headers)
    except Unavailable:
        if not answers_without_store():
            raise
        return None  # the rules live in the store: none can be read, and health reports why
    if rule is None:
        return None
    g.fault = rule.id
    spec = ACTIONS[rule.action]
    if spec.socket and client_socket(request.environ) is None:
        return no_socket_answer(rule)
    if spec.on_answer:
        request.environ[ANSWER_FAULT] = rule  # wire.BrokenAnswers cuts or slows the answer's body
        return None
    if spec.socket:
        return act_on_connection(rule)
    if rule.action is FaultAction.LATENCY:
        time.sleep(float(rule.setting("latency")))
        return None
    status = int(rule.setting("status"))
    if rule.action is FaultAction.BODY:
        return verbatim_answer(rule, status)
    message = rule.message or HTTP_MESSAGES.get(status, "The request failed.")
    problems = list(rule.errors) or [f"fault: injected by rule {rule.id}"]
    return fault_response(status, message, problems, rule.headers)


def verbatim_answer(rule: FaultRule, status: int) -> Response:
    """A `body` rule's answer: its status, its headers and its bytes, nothing of ours.

    Flask would label the body text/html; only a Content-Type the rule gives is sent. The
    server adds its framing (Content-Length) and Date, and CORS headers come at step 7; under
    /cloudfiles/ the object store's sandbox headers too (objects.sandbox_answer).
    """
    response = Response(rule.answer_bytes(), status=status)
    del response.headers["Content-Type"]
    response.headers.extend(rule.headers)
    return response


def act_on_connection(rule: FaultRule) -> Response:
    """A rule that acts on the client's socket at once: drop, reset, garbage.

    Each journals the request (status 0) before it touches the socket: once the client sees
    the failure, a test reading the journal must find it, whichever worker it asks. The 499
    returned is for the server, whose write of it fails on the broken connection, quietly.
    """
    sock = client_socket(request.environ)
    if sock is None:  # inject_fault answered for this case; kept for the type checker
        return no_socket_answer(rule)
    garbage = rule.garbage() if rule.action is FaultAction.GARBAGE else b""
    g.journaled = journal(0)
    if rule.action is FaultAction.RESET:
        reset_connection(sock)
    elif rule.action is FaultAction.GARBAGE:
        send_garbage(sock, garbage)
    else:
        close_connection(sock)
    return Response(status=499)


def no_socket_answer(rule: FaultRule) -> Response:
    """500, for a rule that needs the client's socket on a server that gives none.

    The control plane refuses most such rules when it is served the same way (control.py,
    faults.ACTIONS), so this is a fallback, kept as `drop` has always answered.
    """
    return fault_response(
        500,
        ACTIONS[rule.action].without_socket,
        [f"fault: this server gives no socket to {rule.action} (Flask's test client?)"],
    )


def check_host() -> None:
    """Step 2: werkzeug reads an unusable Host header as an empty host; links need a real one."""
    if not request.host:
        shown = clip(request.headers.get("Host", ""), 64)
        raise Invalid(
            "The Host header is not valid.",
            [f"Host: '{shown}' is not a host name or address with an optional port"],
        )


def check_route() -> Response | None:
    """Step 3: the routing rules werkzeug does not enforce by itself.

    - A path starting with `//` is no route (werkzeug would match it without the slashes).
    - SPEC: other methods on /v2 routes are 405, HEAD and OPTIONS included, with an Allow
      header that lists only the contract's methods.
    - (ours) With CORS on, the preflight step 0 accepted is answered instead, on any CORS
      route (Identity's has no OPTIONS at all, so werkzeug would answer 405 too).
    """
    if request.environ.get("PATH_INFO", "").startswith("//"):
        raise NotFound()
    preflight: Response | None = g.get(CORS_PREFLIGHT)
    if preflight is not None:
        return preflight
    rule = request.url_rule
    if request.method in IGNORED_METHODS and rule and is_contract(rule.rule):
        methods = current_app.url_map.bind_to_environ(request.environ).allowed_methods()
        raise MethodNotAllowed(valid_methods=allowed_methods(methods))
    return None


def note_agent(response: Response) -> Response:
    """Step 5: SPEC, an agent is online when heard from; X-Agent-Id names it (never required)."""
    project_id = g.get("authorized_project")
    agent_id = request.headers.get("X-Agent-Id", "").strip()
    if project_id is None or not agent_id or len(agent_id) > MAX_ID_LENGTH:
        return response
    try:
        runtime().store.touch_agent(project_id, agent_id, now())
    except Exception as exc:
        # Best effort, as the journal: the answer is decided, and stands.
        log.warning("heard-from time lost for agent %s", clip(agent_id, 64), exc_info=_trace(exc))
    return response


def record_request(response: Response) -> Response:
    """Step 6: journal the request with the answer it got (unless a drop journaled it)."""
    if not g.get("journaled"):
        journal(response.status_code, response)
    return response


def journal(status: int, response: Response | None = None) -> bool:
    """Record this request with `status` and its `response` (none: dropped, status 0); False
    when nothing is recorded."""
    rt = runtime()
    if not is_observed(request.path) or rt.settings.journal_size == 0:
        return False
    try:
        data = recorded_request_body(sent_path(), _body_for_journal())
        size, text = _answer(response, hide_secrets=not rt.tokens.open)
        # The clock is read from the store too, so it is inside the best effort: a store
        # that failed the request (a 503) must not turn its answer into a 500 here.
        entry = JournalEntry(
            time=now(),
            method=request.method,
            path=clip(sent_path()),
            query=clip(request.query_string.decode("latin-1")),
            headers=recorded_headers(request.environ, hide_token=not rt.tokens.open),
            body=body_text(data),
            status=status,
            fault=g.get("fault"),
            latency_ms=_latency_ms(),
            response_bytes=size,
            response_body=text,
        )
        rt.store.record_request(entry, rt.settings.journal_size)
        rt.journal_watch.poke()
    except Exception as exc:
        # Best effort: the answer was decided (and any change committed) before this, so a
        # journal that cannot be written must not turn it into a 500 that a client retries.
        log.warning(
            "journal entry lost for %s %s%s", request.method, request.path, _reason(exc), exc_info=_trace(exc)
        )
        return False
    return True


# Answers that send no body whatever the response object holds (werkzeug leaves it out).
_BODILESS = frozenset({204, 304})


def _answer(response: Response | None, hide_secrets: bool) -> tuple[int | None, str | None]:
    """What the client was told: the body's size in bytes as sent, and its text if kept.

    A streamed answer (an object download) is not read here: that would consume it, and the
    journal keeps no object's bytes; its Content-Length is its size. `hide_secrets` (a
    tokens file is in use): a registration's password and an issued token, which anyone who
    can read the journal could otherwise use, are masked as in request bodies.
    """
    if response is None:  # dropped: no answer at all
        return 0, None
    if request.method == "HEAD" or response.status_code in _BODILESS or response.status_code < 200:
        return 0, ""
    if response.is_streamed:
        return response.content_length, None
    data = response.get_data()
    size = len(data)
    if (
        hide_secrets
        and response.is_json
        and any(f'"{name}"'.encode() in data for name in SECRET_ANSWER_MEMBERS)
    ):
        data = mask_members(data, SECRET_ANSWER_MEMBERS)
    return size, answer_text(data)


def _trace(exc: Exception) -> bool:
    """A traceback for a bug; none for a store that is down (one line per request is enough)."""
    return not isinstance(exc, Unavailable)


def _reason(exc: Exception) -> str:
    return f": {exc.errors[0] if exc.errors else exc.message}" if isinstance(exc, Unavailable) else ""


def _latency_ms() -> float | None:
    """Milliseconds since `note_start`, to the microsecond; None if it did not run."""
    started: float | None = g.get("started")
    return None if started is None else round((time.monotonic() - started) * 1000, 3)


def _body_for_journal() -> bytes:
    """What the view read, or a body it did not read (up to the contract's limit).

    A body the client cut short, or that timed out, is journaled empty: reading it again
    would fail again, and the entry is worth more than the bytes.
    """
    data: bytes | None = g.get("body")
    if data is not None:
        return data
    length = request.content_length
    if not length or length > MAX_BODY_BYTES or body_not_asked_for(request.environ["wsgi.input"]):
        return b""
    try:
        return request.get_data(cache=True)
    except (OSError, ValueError, ClientDisconnected):
        return b""


def install(app: Flask, control: bool) -> None:
    """Register the hooks in the order above (step 3's middleware too); faults and the journal
    only with the control plane."""
    if control:
        app.before_request(note_start)
        app.before_request(inject_fault)
    app.before_request(check_host)
    app.before_request(check_route)
    # Flask runs after_request hooks in reverse order: the journal's entry comes last.
    if control:
        app.after_request(record_request)
    app.after_request(note_agent)
    app.wsgi_app = SuffixRouting(app.wsgi_app, app.url_map)  # type: ignore[method-assign]
    if control:
        # Outside every hook: it sees the answer as the server gets it, once all have run.
        app.wsgi_app = BrokenAnswers(app.wsgi_app)  # type: ignore[method-assign]
