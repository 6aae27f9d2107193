"""Identity v2.0: `POST /v2.0/tokens`, a token and the service catalog, with Identity's error bodies.

The view is thin: the checks in the order every body route uses (415, 413, 400), then the
pure `logfiles.identity` decides who the credentials are (401) and builds the answer. Errors
on this route use Identity's own body, `{"unauthorized": {"code": 401, "message": "..."}}`,
not the /v2 fault body: clients of Identity parse that shape.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .. import errors, identity
from ..auth import new_token_id
from ..journal import mask_members
from ..schemas.identity import REQUEST
from . import checks, now, runtime
from .errors import HTTP_MESSAGES, STATUS, allowed_methods, handle_http_exception
from .links import host_url

bp = Blueprint("identity", __name__)
TOKENS_PATH = "/v2.0/tokens"
log = logging.getLogger("logfiles")


# No automatic OPTIONS: as on /v2, a method the route does not have is 405 with `Allow`.
@bp.post(TOKENS_PATH, provide_automatic_options=False)
def authenticate() -> Response:
    """Identity's "authenticate": credentials in, a token for the user's project out."""
    # Until the body is read and masked, the journal (should it record this route) gets
    # nothing of it: a password must never reach the journal.
    g.body = b""
    checks.require_content_type(checks.JSON)
    data = checks.read_body()
    g.body = mask_members(data, identity.SECRET_MEMBERS)
    credentials = checks.validated(
        REQUEST, checks.parse_json(data), "The authentication request is not valid."
    )
    rt = runtime()
    access = identity.authenticate(credentials, rt.tokens, rt.store.get_token, now)
    token = identity.issue(access, new_token_id(), now())
    rt.store.add_token(token)
    return jsonify(identity.access_document(access, token, host_url(), rt.settings.object_store_url))


def identity_fault(status: int, message: str, details: list[str] | None = None) -> Response:
    """Identity's error body, `{"<fault name>": {"code": <status>, "message": "..."}}`."""
    response = jsonify(identity.fault_body(status, message, details))
    response.status_code = status
    return response


@bp.errorhandler(errors.LogfilesError)
def handle_domain_error(exc: errors.LogfilesError) -> Response:
    status = STATUS.get(type(exc), 400)
    response = identity_fault(status, exc.message, exc.errors)
    if isinstance(exc, errors.Unavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.errorhandler(HTTPException)
def handle_http_error(exc: HTTPException) -> Response:
    """What werkzeug raises inside the view (a body cut short, say), in Identity's shape."""
    status = exc.code or 500
    return identity_fault(status, HTTP_MESSAGES.get(status, exc.name + "."), [f"{status}: {exc.description}"])


@bp.errorhandler(Exception)
def handle_unexpected(exc: Exception) -> Response:
    """Never a traceback: log it, and answer Identity's `identityFault`."""
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return identity_fault(500, HTTP_MESSAGES[500])


@bp.app_errorhandler(MethodNotAllowed)
def method_not_allowed(exc: MethodNotAllowed) -> Response:
    """A wrong method is a routing error, which no blueprint handler sees; this one answers
    Identity's `badMethod` on Identity's route (keeping `Allow`) and hands every other 405 to
    the app's handler unchanged."""
    if request.path != TOKENS_PATH:
        return handle_http_exception(exc)
    allow = ", ".join(allowed_methods(exc.valid_methods))
    response = identity_fault(
        405, HTTP_MESSAGES[405], [f"{request.method}: not allowed on {request.path}; allowed: {allow}"]
    )
    response.headers["Allow"] = allow
    return response
