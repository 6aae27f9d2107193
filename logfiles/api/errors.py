"""The only place that maps exceptions to statuses and renders their bodies (the guide's fault
body, and Identity's own on its route)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .. import errors, identity

log = logging.getLogger("logfiles")

STATUS: Mapping[type[errors.LogfilesError], int] = {
    errors.Invalid: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.TimedOut: 408,
    errors.Conflict: 409,
    errors.LengthRequired: 411,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RangeNotSatisfiable: 416,
    errors.Unprocessable: 422,
    errors.Unavailable: 503,
}

# One sentence per status werkzeug (routing, size limits) may raise, in the guide's words.
HTTP_MESSAGES: Mapping[int, str] = {
    400: "The request is malformed.",
    404: "The resource could not be found.",
    405: "The method is not allowed on this resource.",
    413: "The request body is too large.",
    415: "The request body has an unsupported media type.",
    500: "The server has an internal error.",
    501: "The operation is not implemented.",
    503: "The service is unavailable.",
}

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
MAX_ERRORS = errors.MAX_LISTED_ERRORS


def fault_response(
    status: int,
    message: str,
    problems: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
    unlisted: int = 0,
    *,
    identity_body: bool = False,
) -> Response:
    """Every 4xx/5xx body: `{"message": ..., "errors": [...]}` with at least one entry.

    At most MAX_ERRORS entries, then one that counts the rest (`unlisted`: problems already
    counted but never written out): a body of a million bad items must not get an answer a
    million lines long. `identity_body`: Identity's own body instead (`identity.fault_body`,
    `{"unauthorized": {"code": 401, "message": "..."}}`), which clients of Identity parse.
    """
    document: dict[str, object]
    if identity_body:
        document = identity.fault_body(status, message, problems)
    else:
        problems = problems or [message]
        total = len(problems) + unlisted
        if total > MAX_ERRORS:
            problems = [*problems[:MAX_ERRORS], f"errors: {total - MAX_ERRORS} more not shown"]
        document = {"message": message, "errors": problems}
    response = Response(json.dumps(document) + "\n", status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def on_identity() -> bool:
    """Whether an error of this request answers Identity's body: on Identity's route only."""
    return request.path == identity.TOKENS_PATH


def allowed_methods(methods: Iterable[str] | None) -> list[str]:
    """The methods a /v2 route really has: HEAD and OPTIONS are not in the contract."""
    return sorted(m for m in methods or () if m not in IGNORED_METHODS)


def handle_domain_error(exc: errors.LogfilesError) -> Response:
    headers = dict(exc.headers)
    if isinstance(exc, errors.Unavailable):
        # RFC 9110: a 503 may say when to come back; clients of the real service honour it.
        headers["Retry-After"] = str(exc.retry_after)
    status = STATUS.get(type(exc), 400)
    return fault_response(status, exc.message, exc.errors, headers, exc.unlisted, identity_body=on_identity())


def handle_http_exception(exc: HTTPException) -> Response:
    """Routing (404, and 405 with `Allow`), size limits, and what werkzeug raises in a view."""
    status = exc.code or 500
    message = HTTP_MESSAGES.get(status, exc.name + ".")
    if isinstance(exc, MethodNotAllowed):
        allow = allowed_methods(exc.valid_methods)
        return fault_response(
            405,
            message,
            [f"{request.method}: not allowed on {request.path}; allowed: {', '.join(allow)}"],
            {"Allow": ", ".join(allow)},
            identity_body=on_identity(),
        )
    if status == 404:
        problems = [f"{request.path}: no such route"]
    elif status == 413:
        problems = ["body: over the 1 MiB limit"]
    else:
        problems = [f"{status}: {exc.description or exc.name}"]
    return fault_response(status, message, problems, identity_body=on_identity())


def handle_out_of_memory(exc: MemoryError) -> Response:
    """Out of memory is the service's state, not a bug of the request: a 503 to retry, never a 500.

    Another request's bytes may be what filled the memory; once they are freed, the same
    request can succeed. Flask looks handlers up by the exception's class first, so this one
    wins over the catch-all.
    """
    log.warning("out of memory on %s %s", request.method, request.path)
    return handle_domain_error(
        errors.Unavailable(
            "The service is out of memory.", ["server: out of memory for this request; retry later"]
        )
    )


def handle_unexpected(exc: Exception) -> Response:
    """Never send a traceback: log it, and answer the fault body."""
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return fault_response(
        500, HTTP_MESSAGES[500], ["server: an unexpected error was logged"], identity_body=on_identity()
    )


def register(app: Flask) -> None:
    app.register_error_handler(errors.LogfilesError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(MemoryError, handle_out_of_memory)
    app.register_error_handler(Exception, handle_unexpected)
