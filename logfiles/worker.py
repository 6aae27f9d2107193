"""The gunicorn worker class: gevent's, with a read timeout and JSON answers from the HTTP layer.

gunicorn loads it by name (`worker_class` in logfiles/serving.py), in the worker process,
after the fork; it imports gevent and gunicorn, and of the package only logfiles/connections.py
(each connection held, its body's reads bounded, which to close near the cap).

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

import html
import json
import re
import resource
import socket
import ssl
from collections.abc import Callable
from typing import Any

import gevent
from gunicorn.http.errors import UnsupportedTransferCoding
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

from .connections import READ_TIMEOUT, Connections, WsgiApp, drop_on_read_timeout

# Seconds a client has, from its connection, to complete the TLS handshake (milliseconds for a
# real one); a connection that has not is closed.
HANDSHAKE_TIMEOUT = 10.0
# File descriptors besides the connections: listeners, logs, the SQLite database and its WAL.
SPARE_FILES = 64


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
    connections: Connections

    def init_process(self) -> None:
        files = _raise_open_files_limit(self.worker_connections + SPARE_FILES, self.log)
        # gevent's pool is made with this size in run(): never more than the files allow, so
        # that the worker sheds slow holders (make_room) before accept() fails for want of one.
        self.worker_connections = max(1, min(self.worker_connections, files - SPARE_FILES))
        self.connections = Connections(self.worker_connections, self.log)
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = drop_on_read_timeout(self.wsgi, self.log, self.connections)

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
            # the body for its declared length; TimedInput sends it on the first read.
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
