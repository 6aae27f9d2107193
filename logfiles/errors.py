"""Domain errors: a one-sentence message plus one entry per problem; no HTTP here (stdlib only)."""

from __future__ import annotations

# An answer lists at most this many problems, then one entry that counts the rest.
MAX_LISTED_ERRORS = 100


class LogfilesError(Exception):
    """Base of every error the service reports to a client."""

    def __init__(
        self,
        message: str,
        errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
        unlisted: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or [message]
        self.headers = headers or {}  # a few answers need one (416's Content-Range)
        # Problems counted but not written out in `errors` (a huge body's), for the count entry.
        self.unlisted = unlisted


class Unauthorized(LogfilesError):
    """The request carries no token, or one the registry does not know."""


class Forbidden(LogfilesError):
    """The token is known but may not do this to this project."""


class NotFound(LogfilesError):
    """The agent or log file does not exist (or belongs to someone else)."""


class UnsupportedMediaType(LogfilesError):
    """The body is declared with a media type the operation does not take."""


class PayloadTooLarge(LogfilesError):
    """The body is over the size the service reads."""


class Invalid(LogfilesError):
    """The body or a parameter is malformed; `errors` lists every problem."""


class LengthRequired(LogfilesError):
    """An upload with neither Content-Length nor chunked encoding (Swift's 411)."""


class PreconditionFailed(LogfilesError):
    """A listing `limit` past Swift's maximum (Swift's 412)."""


class RangeNotSatisfiable(LogfilesError):
    """A `Range` that selects no byte of the object (416, with `Content-Range: bytes */size`)."""


class Unprocessable(LogfilesError):
    """An upload whose bytes do not match the `ETag` the client sent (Swift's 422)."""


class TimedOut(LogfilesError):
    """A wait of the control plane's ran out of time before what it waited for happened (408)."""


class Conflict(LogfilesError):
    """The request is well formed but does not fit the current state."""


class Unavailable(LogfilesError):
    """The service cannot serve now (its storage is locked, full, read-only or gone); retry later."""

    def __init__(self, message: str, errors: list[str] | None = None, retry_after: int = 1) -> None:
        super().__init__(message, errors)
        self.retry_after = retry_after


class ConfigError(Exception):
    """A configuration variable has a value the service cannot start with."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable
        self.reason = reason
