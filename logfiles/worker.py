"""The gunicorn worker class: gevent's, with a read timeout and JSON answers from the HTTP layer.

gunicorn loads it by name (`worker_class` in logfiles/serving.py), in the worker process,
after the fork; it imports gevent and gunicorn, and nothing from the rest of the package.

- Every connection is a greenlet, so a client that stalls (or sleeps in a latency fault)
  holds a few kilobytes, not a thread: `worker_connections` of them at once per worker.
- gunicorn's gevent worker already bounds the request line and headers: they must arrive
  within `keepalive` seconds. The socket timeout bounds every later read (the body), so a
  body shorter than its Content-Length, or a chunk size with no data, cannot hold a
  connection for good. A body read that times out drops the connection without an answer:
  the application sees an error and would otherwise answer it (500, or 413/400 from the
  body checks) to a client that is no longer sending.
- gunicorn answers some requests itself (a malformed or too long request line, too many or
  too large headers, conflicting framing); those answers carry the fault body too.
- With TLS (logfiles/tls.py), each connection's handshake is done here, within
  HANDSHAKE_TIMEOUT; one that fails (plain http, a client that does not trust the CA) is a
  log line, not a traceback, and the connection is closed without an answer.
- A body also has a total deadline (BODY_GRACE plus a second per BODY_RATE bytes received):
  a client that sends a byte every few seconds never trips READ_TIMEOUT, but cannot hold
  its connection for longer than a real upload of that size on a slow link would take.
- The worker takes `worker_connections` at once (fewer when the open-files hard limit is
  lower). So that clients which hold a connection and send nothing (a stalled handshake,
  request head or body) can never take all of them, it keeps RESERVE_SLOTS free: when a
  new connection leaves fewer, it closes the slow holders that made the least progress
  (bytes of body per second since they connected, then the oldest), without an answer.
  A request the application is serving (a wait, a latency fault) is never closed; waits
  have their own bound (logfiles/waiting.py MAX_WAITS).
- `Expect: 100-continue`: the `100 Continue` is sent on the application's first read of
  the body, not before it runs (gunicorn's way), so a body refused for its declared length
  (413) is refused without asking for it; the connection then closes.
- A Transfer-Encoding other than `chunked` (gzip, deflate, compress, identity) is a 501
  before the application runs: gunicorn would pass a gzip-coded body on as if plain.
"""

from __future__ import annotations

import contextlib
import heapq
import html
import json
import re
import resource
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import gevent
from gunicorn.http.errors import UnsupportedTransferCoding
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

# Seconds one read from a client may wait for data (the body; the request line and headers
# have gunicorn's `keepalive` bound as a whole). Writes share it: a client that stops reading
# its answer is dropped as well.
READ_TIMEOUT = 30.0
# Seconds a client has, from its connection, to complete the TLS handshake (milliseconds for a
# real one); a connection that has not is closed.
HANDSHAKE_TIMEOUT = 10.0
# File descriptors besides the connections: listeners, logs, the SQLite database and its WAL.
SPARE_FILES = 64
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

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Captured:
    """Stands in for the client socket while gunicorn writes its HTML error page."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float | None:
        return 0.0

    def setblocking(self, flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data


@dataclass(eq=False)
class _Held:
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


class _Connections:
    """The worker's connections, and the choice of which to close when it nears its cap."""

    def __init__(self, cap: int, log: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        self.reserve = max(1, min(RESERVE_SLOTS, cap // 4))
        self.log = log
        self.clock = clock
        self.held: dict[Any, _Held] = {}  # by greenlet
        self.live = 0  # held and not shed

    def open(self, sock: Any, state: str) -> _Held:
        held = _Held(sock, self.clock(), state)
        self.held[gevent.getcurrent()] = held
        self.live += 1
        return held

    def close(self, held: _Held) -> None:
        if self.held.pop(gevent.getcurrent(), None) is held and not held.shed:
            self.live -= 1

    def current(self) -> _Held | None:
        return self.held.get(gevent.getcurrent())

    def make_room(self, keep: _Held) -> list[_Held]:
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
            _shut(held.sock)
        self.log.warning(
            "Closed %d slow connections (%d of %d in use): no request being served, least body sent",
            len(chosen),
            self.live + len(chosen),
            self.cap,
        )
        return chosen


def _shut(sock: Any) -> None:
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


class _CountingSocket:
    """The connection as gunicorn's body reader sees it, counting what arrives as it arrives.

    gunicorn's `wsgi.input.read(n)` returns once n bytes are there: an upload read 64 KiB
    at a time would show no progress for its first seconds on a slow link, and look as
    stalled as a client that sends nothing.
    """

    def __init__(self, sock: Any, held: _Held) -> None:
        self._sock = sock
        self._held = held

    def recv(self, *args: Any) -> bytes:
        data: bytes = self._sock.recv(*args)
        self._held.received += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _count_arrivals(stream: Any, held: _Held) -> None:
    """Make gunicorn's reader of `stream` (its Body) count into `held`; nothing for other streams."""
    unreader: Any = getattr(getattr(stream, "reader", None), "unreader", None)
    sock = getattr(unreader, "sock", None)
    if sock is not None and not isinstance(sock, _CountingSocket):
        unreader.sock = _CountingSocket(sock, held)


class _BodyDeadline(Exception):
    """Raised into a body read when the body's total deadline passes."""


class _TimedInput:
    """`wsgi.input` with the body's total deadline, and that remembers a read that gave up.

    A read that gives up (READ_TIMEOUT without data, the total deadline, the connection
    closed to make room) raises TimeoutError and marks the body, so the worker drops the
    connection without an answer. The first read sends a pending `100 Continue`.
    """

    def __init__(
        self, stream: Any, held: _Held | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self.held = held
        self.clock = clock
        self.started = clock()
        self.received = 0
        self.timed_out = False
        self.reason = ""
        if held is not None:
            _count_arrivals(stream, held)

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
        deadline = gevent.Timeout(left, _BodyDeadline())
        if held is not None:
            held.state = "body"
        deadline.start()
        try:
            data = read(*args)
        except _BodyDeadline:
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

    def __iter__(self) -> _TimedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ([^\r\n]*)")
_HTML_MESSAGE = re.compile(rb"</h1>\s*(.*?)\s*</body>", re.DOTALL)


def fault_answer(page: bytes, fallback: str) -> bytes:
    """gunicorn's HTML error answer `page`, rewritten with the fault body (same status)."""
    status_line = _STATUS_LINE.match(page)
    status, reason = (
        (int(status_line[1]), status_line[2].decode("latin-1")) if status_line else (400, "Bad Request")
    )
    found = _HTML_MESSAGE.search(page)
    detail = html.unescape(found[1].decode("latin-1")) if found else ""
    # gunicorn's own failure: its message is empty, and nothing internal goes out. A 501 is
    # the client's transfer coding, which its message names.
    if status >= 500 and status != 501:
        detail = "the server could not handle the request"
    body = json.dumps(
        {
            "message": f"The HTTP layer refused the request ({status} {reason}).",
            "errors": [f"http: {detail or fallback}"],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class Worker(GeventWorker):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's gevent worker with READ_TIMEOUT on each connection and JSON error answers."""

    wsgi: WsgiApp  # set by gunicorn's load_wsgi
    worker_connections: int  # set by gunicorn's AsyncWorker from its setting
    connections: _Connections

    def init_process(self) -> None:
        files = _raise_open_files_limit(self.worker_connections + SPARE_FILES, self.log)
        # gevent's pool is made with this size in run(): never more than the files allow, so
        # that the worker sheds slow holders (make_room) before accept() fails for want of one.
        self.worker_connections = max(1, min(self.worker_connections, files - SPARE_FILES))
        self.connections = _Connections(self.worker_connections, self.log)
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _drop_on_read_timeout(self.wsgi, self.log, self.connections)

    def handle(self, listener: Any, client: socket.socket, addr: Any) -> None:
        # GeventWorker.handle makes the socket blocking without a bound; this is the one
        # difference from it (besides the handshake, which gevent would do unbounded).
        held = self.connections.open(client, "handshake" if self.cfg.is_ssl else "head")
        try:
            self.connections.make_room(held)
            if self.cfg.is_ssl:
                # Named now: a worker that stops (max requests, reload, shutdown) closes its
                # listener while connections it accepted are still being served, and gunicorn
                # asks the listener its name only after the handshake, which takes round trips.
                listener = _NamedListener(listener)
                if not self.handshake(client, addr):
                    return
                held.state = "head"
            client.settimeout(READ_TIMEOUT)
            AsyncWorker.handle(self, listener, client, addr)
        finally:
            self.connections.close(held)

    def handshake(self, client: Any, addr: Any) -> bool:
        """Complete the TLS handshake within HANDSHAKE_TIMEOUT; False (logged) if it fails.

        The caller's return closes the connection (gevent's server does), with no answer: a
        client that cannot speak TLS with us could not read one.
        """
        peer = _peer(addr)
        timeout = gevent.Timeout(HANDSHAKE_TIMEOUT)
        timeout.start()
        try:
            client.do_handshake()
        except gevent.Timeout as exc:
            if exc is not timeout:
                raise
            self.log.info("Dropped %s: no TLS handshake within %g s", peer, HANDSHAKE_TIMEOUT)
            return False
        except (ssl.SSLEOFError, ConnectionError) as exc:  # a port probe, a client that gave up
            self.log.debug("TLS handshake with %s ended: %s", peer, exc)
            return False
        except OSError as exc:  # ssl.SSLError: plain http, an unknown CA, no common protocol
            self.log.info("TLS handshake with %s failed: %s", peer, exc)
            return False
        finally:
            timeout.close()
        return True

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        codings = [
            coding.strip(" \t").lower()
            for name, value in req.headers
            if name == "TRANSFER-ENCODING"
            for coding in value.split(",")
        ]
        if any(coding != "chunked" for coding in codings):
            # gunicorn takes `gzip, chunked` as chunked and hands on the coded bytes; the
            # stub decodes no coding, so the request is refused before its body is read
            # (the answer closes the connection: gunicorn's handle_error does).
            raise UnsupportedTransferCoding(", ".join(codings))
        held = self.connections.current()
        if held is not None:
            held.state = "app"
            # gunicorn would send `100 Continue` now, before the application could refuse
            # the body for its declared length; _TimedInput sends it on the first read.
            held.continue_pending = bool(req._expected_100_continue)
            req._expected_100_continue = False
        try:
            super().handle_request(listener_name, req, sock, addr)
        finally:
            if held is not None:
                held.state = "head"
                held.continue_pending = False
            # A keep-alive client that sends its next request at once would otherwise be
            # served again without a switch (its reads never block), ahead of every other
            # connection: the others' latency grows with its burst. Yield once per request.
            gevent.sleep(0)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        captured = _Captured()
        # gunicorn's own handler picks the status, logs and writes the access line; only the
        # page it writes is replaced.
        super().handle_error(req, captured, addr, exc)
        if not captured.data:
            return
        try:
            client.sendall(fault_answer(captured.data, str(exc)))
        except OSError:
            self.log.debug("Failed to send error message.")


class _NamedListener:
    """A listening socket whose address was read when a connection was accepted."""

    def __init__(self, listener: Any) -> None:
        self.listener = listener
        self.name = listener.getsockname()

    def getsockname(self) -> Any:
        return self.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.listener, name)


class _HandshakeInWorker:
    """gunicorn's SSLContext, except that wrapping a connection does not handshake.

    gevent's server wraps each accepted connection and, by default, handshakes right there:
    with no time bound, and outside any handler, so a failure prints a traceback. The
    worker's `handshake` does it instead. Everything else is the context's.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["do_handshake_on_connect"] = False
        return self.context.wrap_socket(sock, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.context, name)


def ssl_context(config: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> Any:
    """gunicorn's `ssl_context` hook (set by logfiles/serving.py when TLS is on)."""
    return _HandshakeInWorker(default_ssl_context_factory())


def _peer(addr: Any) -> str:
    """`host:port` of a client address, for a log line."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        return f"{addr[0]}:{addr[1]}"
    return str(addr)


def _raise_open_files_limit(wanted: int, log: Any) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted` (never past the hard limit).

    Returns how many files the process may now open (`wanted` when that is unlimited).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if hard != resource.RLIM_INFINITY and hard < wanted:
        log.warning("Open files limited to %d: fewer than %d connections at once", hard, wanted)
    return wanted if soft == resource.RLIM_INFINITY else min(wanted, soft)


_READ_REASON = f"no body data within {READ_TIMEOUT:g} s"
_DEADLINE_REASON = f"body not complete within {BODY_GRACE:g} s + 1 s per {BODY_RATE // 1024} KiB received"
_SHED_REASON = "closed to keep connections free (nothing sent for long, near the worker's cap)"


def _drop_on_read_timeout(app: WsgiApp, log: Any, connections: _Connections | None = None) -> WsgiApp:
    """The application, except that a request whose body read gave up gets no answer."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        held = None if connections is None else connections.current()
        stream = _TimedInput(environ["wsgi.input"], held)
        environ["wsgi.input"] = stream
        result = app(environ, _honour_connection_close(start_response, stream))
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


def _honour_connection_close(
    start_response: Callable[..., Any], stream: _TimedInput | None = None
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
