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
"""

from __future__ import annotations

import html
import json
import re
import resource
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import gevent
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


class _TimedInput:
    """`wsgi.input` that remembers a read that timed out, so the worker can drop the connection."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.timed_out = False

    def _guard(self, read: Callable[..., bytes], *args: Any) -> bytes:
        # A read after a timeout fails at once: the application may read the body again (the
        # journal does), and must not wait another READ_TIMEOUT for it.
        if self.timed_out:
            raise TimeoutError("an earlier read of this body timed out")
        try:
            return read(*args)
        except TimeoutError:
            self.timed_out = True
            raise

    def read(self, *args: Any) -> bytes:
        return self._guard(self._stream.read, *args)

    def readline(self, *args: Any) -> bytes:
        return self._guard(self._stream.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        if self.timed_out:
            raise TimeoutError("an earlier read of this body timed out")
        try:
            return list(self._stream.readlines(*args))
        except TimeoutError:
            self.timed_out = True
            raise

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
    if status >= 500:  # gunicorn's own failure: its message is empty, and nothing internal goes out
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

    def init_process(self) -> None:
        _raise_open_files_limit(self.worker_connections + SPARE_FILES, self.log)
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _drop_on_read_timeout(self.wsgi, self.log)

    def handle(self, listener: Any, client: socket.socket, addr: Any) -> None:
        # GeventWorker.handle makes the socket blocking without a bound; this is the one
        # difference from it (besides the handshake, which gevent would do unbounded).
        if self.cfg.is_ssl:
            # Named now: a worker that stops (max requests, reload, shutdown) closes its
            # listener while connections it accepted are still being served, and gunicorn
            # asks the listener its name only after the handshake, which takes round trips.
            listener = _NamedListener(listener)
            if not self.handshake(client, addr):
                return
        client.settimeout(READ_TIMEOUT)
        AsyncWorker.handle(self, listener, client, addr)

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
        try:
            super().handle_request(listener_name, req, sock, addr)
        finally:
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


def _raise_open_files_limit(wanted: int, log: Any) -> None:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted` (never past the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if hard != resource.RLIM_INFINITY and hard < wanted:
        log.warning("Open files limited to %d: fewer than %d connections at once", hard, wanted)


def _drop_on_read_timeout(app: WsgiApp, log: Any) -> WsgiApp:
    """The application, except that a request whose body read timed out gets no answer."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = _TimedInput(environ["wsgi.input"])
        environ["wsgi.input"] = stream
        result = app(environ, _honour_connection_close(start_response))
        if stream.timed_out:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            log.warning(
                "Dropped %s %s from %s: no body data within %g s",
                environ.get("REQUEST_METHOD"),
                str(environ.get("RAW_URI", "")).split("?", 1)[
                    0
                ],  # the path: a query may hold a temp URL signature
                environ.get("REMOTE_ADDR"),
                READ_TIMEOUT,
            )
            # gunicorn's worker closes the connection, writing nothing, on StopIteration.
            raise StopIteration
        return result

    return wrapped


def _honour_connection_close(start_response: Callable[..., Any]) -> Callable[..., Any]:
    """Close the connection after an answer whose application says `Connection: close`.

    gunicorn drops hop-by-hop headers an application sets, and would then read the rest of a
    refused upload (an object over the limit, say) as if the connection could carry another
    request. `start_response` is gunicorn's Response's own method: its `force_close` makes
    gunicorn say `Connection: close` and close once the answer is sent.
    """

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if any(name.lower() == "connection" and value.lower() == "close" for name, value in headers):
            force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
            if force_close is not None:
                force_close()
        return start_response(status, headers, exc_info)

    return start
