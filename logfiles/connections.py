"""The worker's connections: each one held, its body's reads bounded, and which to close near the cap.

Used by logfiles/worker.py (gunicorn's gevent worker) in the worker process; it imports gevent
and nothing from the rest of the package. Why each bound is there is the worker's docstring.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import gevent

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Seconds one read from a client may wait for data (the body; the request line and headers
# have gunicorn's `keepalive` bound as a whole). Writes share it: a client that stops reading
# its answer is dropped as well.
READ_TIMEOUT = 30.0
# A body's total deadline: BODY_GRACE seconds from the end of its request's head, plus one
# second for every BODY_RATE bytes received. A link of 512 kbit/s or faster never meets it
# (a 64 MiB object: at most 60 + 1,024 s); a client trickling a byte every 10 s is dropped
# after about 60 s; and no body holds its connection past 60 s + its size / 64 KiB/s.
BODY_GRACE = 60.0
BODY_RATE = 64 * 1024
# Connection slots kept free of slow holders (a quarter of the cap at most), and how many
# more than needed are closed at once, so the choice is not made at every new connection.
RESERVE_SLOTS = 256
SHED_BATCH = 32
# States of a connection the worker may close to make room: nothing of a request is being
# served (a handshake, a request head or a body being waited for).
SLOW_STATES = frozenset({"handshake", "head", "body"})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass(eq=False)
class Held:
    """One connection the worker holds: what it is doing, and how much body it has sent."""

    sock: Any
    started: float
    state: str = "head"  # "handshake", "head" (of a request, or idle), "app", "body" (a read)
    received: int = 0
    shed: bool = False  # closed to make room: its next (or current) read gives up
    continue_pending: bool = False  # `Expect: 100-continue` not answered yet

    def progress(self, now: float) -> tuple[float, float]:
        """Body bytes per second since it connected, then its age: the lowest is closed first."""
        return (self.received / max(now - self.started, 1e-3), self.started)


class Connections:
    """The worker's connections, and the choice of which to close when it nears its cap."""

    def __init__(self, cap: int, log: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        self.reserve = max(1, min(RESERVE_SLOTS, cap // 4))
        self.log = log
        self.clock = clock
        self.held: dict[Any, Held] = {}  # by greenlet
        self.live = 0  # held and not shed

    def open(self, sock: Any, state: str) -> Held:
        held = Held(sock, self.clock(), state)
        self.held[gevent.getcurrent()] = held
        self.live += 1
        return held

    def close(self, held: Held) -> None:
        if self.held.pop(gevent.getcurrent(), None) is held and not held.shed:
            self.live -= 1

    def current(self) -> Held | None:
        return self.held.get(gevent.getcurrent())

    def make_room(self, keep: Held) -> list[Held]:
        """Close the slow holders that made least progress when fewer than `reserve` slots are free."""
        excess = self.live - (self.cap - self.reserve)
        if excess <= 0:
            return []
        now = self.clock()
        candidates = (
            h for h in self.held.values() if h.state in SLOW_STATES and not h.shed and h is not keep
        )
        chosen = heapq.nsmallest(excess + SHED_BATCH, candidates, key=lambda h: h.progress(now))
        for held in chosen:
            held.shed = True
            self.live -= 1
            shut(held.sock)
        self.log.warning(
            "Closed %d slow connections (%d of %d in use): no request being served, least body sent",
            len(chosen),
            self.live + len(chosen),
            self.cap,
        )
        return chosen


def shut(sock: Any) -> None:
    """End a connection another greenlet is blocked on: its read sees the end of the stream.

    Shut down through a duplicate descriptor, so that a TLS socket's own `shutdown` (which
    drops its SSL object under the reader's feet) is not called; the owner closes it.
    """
    try:
        duplicate = socket.fromfd(sock.fileno(), socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, ValueError):
        return
    with duplicate, contextlib.suppress(OSError):
        duplicate.shutdown(socket.SHUT_RDWR)


class CountingSocket:
    """The connection as gunicorn's body reader sees it, counting what arrives as it arrives.

    gunicorn's `wsgi.input.read(n)` returns once n bytes are there: an upload read 64 KiB
    at a time would show no progress for its first seconds on a slow link, and look as
    stalled as a client that sends nothing.
    """

    def __init__(self, sock: Any, held: Held) -> None:
        self._sock = sock
        self._held = held

    def recv(self, *args: Any) -> bytes:
        data: bytes = self._sock.recv(*args)
        self._held.received += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def count_arrivals(stream: Any, held: Held) -> None:
    """Make gunicorn's reader of `stream` (its Body) count into `held`; nothing for other streams."""
    unreader: Any = getattr(getattr(stream, "reader", None), "unreader", None)
    sock = getattr(unreader, "sock", None)
    if sock is not None and not isinstance(sock, CountingSocket):
        unreader.sock = CountingSocket(sock, held)


class BodyDeadline(Exception):
    """Raised into a body read when the body's total deadline passes."""


class TimedInput:
    """`wsgi.input` with the body's total deadline, and that remembers a read that gave up.

    A read that gives up (READ_TIMEOUT without data, the total deadline, the connection
    closed to make room) raises TimeoutError and marks the body, so the worker drops the
    connection without an answer. The first read sends a pending `100 Continue`.
    """

    def __init__(
        self, stream: Any, held: Held | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self.held = held
        self.clock = clock
        self.started = clock()
        self.received = 0
        self.timed_out = False
        self.reason = ""
        if held is not None:
            count_arrivals(stream, held)

    @property
    def continue_pending(self) -> bool:
        """The client waits for `100 Continue` before it sends the body: nothing of it was asked for."""
        return self.held is not None and self.held.continue_pending

    def _give_up(self, reason: str) -> TimeoutError:
        self.timed_out = True
        self.reason = reason
        return TimeoutError(reason)

    def _guard(self, read: Callable[..., Any], *args: Any) -> Any:
        # A read after a timeout fails at once: the application may read the body again (the
        # journal does), and must not wait another READ_TIMEOUT for it.
        if self.timed_out:
            raise TimeoutError("an earlier read of this body timed out")
        held = self.held
        left = self.started + BODY_GRACE + self.received / BODY_RATE - self.clock()
        if left <= 0:
            raise self._give_up(_DEADLINE_REASON)
        if held is not None and held.shed:
            raise self._give_up(_SHED_REASON)
        if held is not None and held.continue_pending:
            held.continue_pending = False
            held.sock.sendall(CONTINUE)
        deadline = gevent.Timeout(left, BodyDeadline())
        if held is not None:
            held.state = "body"
        deadline.start()
        try:
            data = read(*args)
        except BodyDeadline:
            raise self._give_up(_DEADLINE_REASON) from None
        except TimeoutError:
            raise self._give_up(_SHED_REASON if held is not None and held.shed else _READ_REASON) from None
        except Exception:
            if held is not None and held.shed:  # the end of the stream it saw was ours
                raise self._give_up(_SHED_REASON) from None
            raise
        finally:
            deadline.close()
            if held is not None:
                held.state = "app"
        if held is not None and held.shed:
            raise self._give_up(_SHED_REASON)
        self.received += sum(map(len, data)) if isinstance(data, list) else len(data)
        return data

    def read(self, *args: Any) -> bytes:
        data: bytes = self._guard(self._stream.read, *args)
        return data

    def readline(self, *args: Any) -> bytes:
        data: bytes = self._guard(self._stream.readline, *args)
        return data

    def readlines(self, *args: Any) -> list[bytes]:
        lines: list[bytes] = self._guard(lambda *a: list(self._stream.readlines(*a)), *args)
        return lines

    def __iter__(self) -> TimedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


_READ_REASON = f"no body data within {READ_TIMEOUT:g} s"
_DEADLINE_REASON = f"body not complete within {BODY_GRACE:g} s + 1 s per {BODY_RATE // 1024} KiB received"
_SHED_REASON = "closed to keep connections free (nothing sent for long, near the worker's cap)"


def drop_on_read_timeout(app: WsgiApp, log: Any, connections: Connections | None = None) -> WsgiApp:
    """The application, except that a request whose body read gave up gets no answer."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        held = None if connections is None else connections.current()
        stream = TimedInput(environ["wsgi.input"], held)
        environ["wsgi.input"] = stream
        result = app(environ, honour_connection_close(start_response, stream))
        if stream.timed_out:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            # One line per connection closed to make room would flood the log in an attack:
            # make_room says how many at once.
            say = log.debug if stream.reason == _SHED_REASON else log.warning
            say(
                "Dropped %s %s from %s: %s",
                environ.get("REQUEST_METHOD"),
                str(environ.get("RAW_URI", "")).split("?", 1)[
                    0
                ],  # the path: a query may hold a temp URL signature
                environ.get("REMOTE_ADDR"),
                stream.reason or _READ_REASON,
            )
            # gunicorn's worker closes the connection, writing nothing, on StopIteration.
            raise StopIteration
        return result

    return wrapped


def honour_connection_close(
    start_response: Callable[..., Any], stream: TimedInput | None = None
) -> Callable[..., Any]:
    """Close the connection after an answer whose application says `Connection: close`.

    gunicorn drops hop-by-hop headers an application sets, and would then read the rest of a
    refused upload (an object over the limit, say) as if the connection could carry another
    request. `start_response` is gunicorn's Response's own method: its `force_close` makes
    gunicorn say `Connection: close` and close once the answer is sent. An answer given
    while the client still waits for `100 Continue` closes too: whether it then sends its
    body or not, where its next request would start is unknown.
    """

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        closing = any(name.lower() == "connection" and value.lower() == "close" for name, value in headers)
        if closing or (stream is not None and stream.continue_pending):
            force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
            if force_close is not None:
                force_close()
        return start_response(status, headers, exc_info)

    return start
