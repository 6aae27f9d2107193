"""Request bodies: the one reader of `wsgi.input`, whole (JSON) or in chunks (an upload).

Imports nothing from Flask: it reads the stream the server puts in the WSGI environ.
What the server's readers raise differs (werkzeug's and gunicorn's chunked parsers, a
socket error); every such failure is one 400 here. A refused body is read and dropped up to
DRAIN_BYTES, so that a client still sending sees the answer rather than a connection reset;
but never one the client has not sent yet (`Expect: 100-continue`, logfiles/worker.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..config import MAX_BODY_BYTES
from ..errors import Invalid, LogfilesError
from ..objects import CHUNK_BYTES

# Read (and drop) this much of an oversized body before answering 413, so the client,
# still sending, gets the answer instead of a connection reset.
DRAIN_BYTES = 16 * MAX_BODY_BYTES


def _unreadable(detail: str) -> Invalid:
    return Invalid("The request body could not be read.", [f"body: {detail}"])


class Body:
    """A body as it arrives, in chunks (never all of it at once), and what is left of it.

    When the request is refused, the rest of the body decides the connection's fate
    (`refuse`): up to DRAIN_BYTES of it are read (a declared length is left to the server,
    which reads what is left of a body before the next request; a chunked one is read here).
    More than that, or a body whose framing broke, and the answer says `Connection: close`
    (worker.py's worker honours it).
    """

    def __init__(self, stream: Any, length: int | None) -> None:
        self.stream = stream
        self.left = length  # None: chunked, its end unknown
        self.broken = False

    def chunks(self) -> Iterator[bytes]:
        try:
            while self.left is None or self.left > 0:
                chunk = self.stream.read(CHUNK_BYTES if self.left is None else min(CHUNK_BYTES, self.left))
                if not chunk:
                    break
                if self.left is not None:
                    self.left -= len(chunk)
                yield chunk
        # The server's readers raise what they like (a socket error, a bad chunk size).
        except Exception:  # noqa: BLE001
            self.broken = True
            raise _unreadable("malformed chunked transfer encoding, or the body was cut short") from None
        if self.left:
            self.broken = True
            raise _unreadable(f"{self.left} bytes short of Content-Length")
        self.left = 0

    def read(self, limit: int, too_large: LogfilesError) -> bytes:
        """The whole body, if it is at most `limit` bytes; else `too_large`, the rest drained."""
        data = bytearray()
        for chunk in self.chunks():
            data += chunk
            if len(data) > limit:
                drain(self.stream, DRAIN_BYTES)
                raise too_large
        return bytes(data)

    def refuse(self, error: LogfilesError) -> None:
        """Before `error` is answered: drain what may be drained, else mark the connection to close."""
        if body_not_asked_for(self.stream):  # none of it was sent
            error.headers["Connection"] = "close"
            return
        if self.left is None and not self.broken:
            self.broken = not drain(self.stream, DRAIN_BYTES)
        if self.broken or (self.left or 0) > DRAIN_BYTES:
            error.headers["Connection"] = "close"


def drain(stream: Any, limit: int) -> bool:
    """Read and drop the rest of a refused body, up to `limit` bytes (at most DRAIN_BYTES).

    Whether it ended within them; False, having read nothing, for a body not asked for.
    """
    if body_not_asked_for(stream):
        return False
    remaining = min(limit, DRAIN_BYTES)
    try:
        while True:
            piece = stream.read(min(CHUNK_BYTES, remaining + 1))
            if not piece:
                return True
            remaining -= len(piece)
            if remaining < 0:
                return False
    except Exception:  # noqa: BLE001 - a broken body: the answer is the same all the same
        return False


def body_not_asked_for(stream: Any) -> bool:
    """The client waits for `100 Continue` before it sends the body, and none was sent.

    gunicorn under logfiles/worker.py sends it on the first read of `wsgi.input`; reading
    only to drop the body would ask for what is refused anyway. Other servers: False.
    """
    return bool(getattr(stream, "continue_pending", False))
