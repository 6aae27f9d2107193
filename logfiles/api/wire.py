"""Fault actions that reach the client's connection: its socket, a reset, an answer cut or slowed.

Imports nothing from Flask: these act below it, on the socket a real server puts in the WSGI
environ (gunicorn's `gunicorn.socket`, werkzeug's `werkzeug.socket`; Flask's test client has
none) and on the answer's body as the server writes it.

- `reset` and `garbage` happen in pipeline step 1, like `drop`: journaled (status 0) first,
  then the socket is reset or gets the bytes and a close; the server's own answer then fails
  to write (EPIPE), which both servers ignore.
- `truncate` and `trickle` let the request run; `BrokenAnswers`, a WSGI middleware around the
  whole app, then hands the server a body that stops half way (and shuts the socket) or comes
  in timed pieces. By then every after_request hook has run: the journal entry (the answer's
  real status) is written before the client sees anything, CORS headers included.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..faults import (
    MAX_TRICKLE_SECONDS,
    FaultAction,
    FaultRule,
    trickle_due,
    trickle_step,
    truncated_length,
)

# The environ key under which pipeline step 1 leaves a `truncate` or `trickle` rule that fired.
ANSWER_FAULT = "logfiles.answer_fault"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_BODILESS = frozenset({204, 304})


def client_socket(environ: dict[str, Any]) -> socket.socket | None:
    """The client's connection, from a server that gives it; None under Flask's test client."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    return sock if isinstance(sock, socket.socket) else None


def close_connection(sock: socket.socket) -> None:
    """Send FIN both ways: the client reads EOF after whatever was written."""
    with contextlib.suppress(OSError):  # the client may be gone already
        sock.shutdown(socket.SHUT_RDWR)


def send_garbage(sock: socket.socket, data: bytes) -> None:
    """Write `data` where an answer belongs, then close."""
    with contextlib.suppress(OSError):
        sock.sendall(data)
    close_connection(sock)


def reset_connection(sock: socket.socket) -> None:
    """Abort the connection with an RST, so the client sees ECONNRESET rather than EOF.

    Closing with SO_LINGER (on, 0 s) sends the RST, but the server still holds the socket
    and would later write to, and close, a descriptor number a new connection may have been
    given meanwhile. So the connection's descriptor is replaced, in one dup2, by one end of
    a socket pair whose other end is closed: the connection is closed (RST), and the
    server's later writes fail with EPIPE and its reads see EOF, which both servers ignore.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stand_in, other_end = socket.socketpair()
    try:
        stand_in.setblocking(False)  # gevent expects its sockets non-blocking; nothing here waits
        os.dup2(stand_in.fileno(), sock.fileno())
    except OSError:
        close_connection(sock)  # the client is gone, or this is no plain descriptor: close anyway
    finally:
        stand_in.close()
        other_end.close()


class BrokenAnswers:
    """WSGI middleware: carries out a `truncate` or `trickle` rule on the answer's body."""

    def __init__(
        self,
        app: WsgiApp,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.sleep = sleep  # under gunicorn's gevent worker, a greenlet's sleep: no worker held
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        rule: FaultRule | None = environ.get(ANSWER_FAULT)
        if rule is None:
            return body
        if rule.action is FaultAction.TRICKLE:
            return Trickle(body, int(rule.setting("rate")), self.sleep, self.clock)
        sock = client_socket(environ)
        if sock is None:  # pipeline step 1 answered 500 instead: nothing to cut
            return body
        length = _content_length(answer.get("headers", []))
        status = int(str(answer.get("status", "200")).split(" ", 1)[0])
        if environ.get("REQUEST_METHOD") == "HEAD" or status < 200 or status in _BODILESS or length == 0:
            # No body to cut: the connection closes before the answer (the server's write fails).
            close_connection(sock)
            return body
        return Truncated(body, None if length is None else truncated_length(length), sock)


def _content_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length" and value.isdigit():
            return int(value)
    return None


class _Wrapped:
    """An answer body around the application's, closing the application's when closed."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body
        self.pieces: Iterator[bytes] = iter(body)

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


class Truncated(_Wrapped):
    """The first `cut` bytes of the body, then the connection shut; `cut` None: half the first piece.

    The server writes each piece before it asks for the next, so once it asks past the cut
    the bytes are on their way, and the shutdown's FIN follows them. The headers, already
    given, still promise the whole length (or, chunked, a last chunk that never comes).
    """

    def __init__(self, body: Iterable[bytes], cut: int | None, sock: socket.socket) -> None:
        super().__init__(body)
        self.left = cut
        self.sock = sock
        self.done = False
        self.closed = False

    def __iter__(self) -> Truncated:
        return self

    def __next__(self) -> bytes:
        if self.done:
            if not self.closed:
                self.closed = True
                close_connection(self.sock)
            raise StopIteration
        piece = next((each for each in self.pieces if each), b"")  # b"": the body has ended
        if self.left is None:
            self.left = len(piece) // 2
        piece = piece[: self.left]
        self.left -= len(piece)
        self.done = self.left == 0 or not piece
        # Even b"" is worth returning: on the first call it makes the server send the headers.
        return piece


class Trickle(_Wrapped):
    """The body in pieces of `trickle_step(rate)` bytes, each sent when `rate` allows.

    The clock starts when the server asks for the first piece (the headers go with it). Past
    MAX_TRICKLE_SECONDS the rest goes at once, so a slow trickle of a large body still ends.
    """

    def __init__(
        self,
        body: Iterable[bytes],
        rate: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        super().__init__(body)
        self.rate = rate
        self.step = trickle_step(rate)
        self.sleep = sleep
        self.clock = clock
        self.started: float | None = None
        self.sent = 0
        self.pending = b""

    def __iter__(self) -> Trickle:
        return self

    def __next__(self) -> bytes:
        while not self.pending:
            self.pending = next(self.pieces)  # StopIteration ends the body
        now = self.clock()
        if self.started is None:
            self.started = now
        elapsed = now - self.started
        if elapsed >= MAX_TRICKLE_SECONDS:
            piece, self.pending = self.pending, b""  # out of time: this piece whole, and so on
        else:
            wait = trickle_due(self.sent, self.rate) - elapsed
            if wait > 0:
                self.sleep(min(wait, MAX_TRICKLE_SECONDS - elapsed))
            piece, self.pending = self.pending[: self.step], self.pending[self.step :]
        self.sent += len(piece)
        return piece
