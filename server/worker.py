"""keraslite's gunicorn worker: requests are read and answers written in the event loop, never by a blocked thread.

gunicorn's ``gthread`` worker gives a connection to a request thread as soon as it is readable, and the thread then
blocks reading the rest of the head and body and writing the answer: 4-8 clients that send a line a second, or
never read their answer, take every thread, and nothing times them out. Here the main thread reads each request
with non-blocking sockets until it is whole (``framing.RequestReader``): the head within ``header_timeout``
seconds of its first byte, the body within ``body_timeout`` seconds after the head, else a 408 and the connection
is closed. Only then does a thread parse the head with gunicorn's parser and run the WSGI app on the body, which is
already in memory (handed over as ``environ["keraslite.body"]``, no copy). The thread writes what the socket takes
at once; the main thread writes the rest as the client reads it, and closes a client that has not taken its answer
within ``body_timeout``. Errors found before the app runs (framing, gunicorn's parser: 400, 408, 413, 414, 431,
501) are answered in JSON, ``{"error": ...}``, like every other error of the server.

Connections: a keep-alive connection is closed after ``keepalive_requests`` answers (``Connection: close``), so
clients reconnect now and then and connections spread again over all workers, a restarted one included. On
SIGTERM the worker accepts what is already queued, closes its listening sockets at once (new connections are then
refused rather than accepted and reset), finishes the requests in progress and answers them with
``Connection: close``.

Settings come from the environment (the launcher sets them from its options): KERASLITE_HEADER_TIMEOUT (10),
KERASLITE_BODY_TIMEOUT (30), KERASLITE_KEEPALIVE_REQUESTS (100); the body limit is the Flask app's
MAX_CONTENT_LENGTH (KERASLITE_MAX_BODY_MB). Use it with ``gunicorn -k keraslite.server.worker.KerasliteWorker``.
"""
from __future__ import annotations

import errno
import os
import socket
import sys
import time
from datetime import datetime

from gunicorn import http as ghttp
from gunicorn.http import wsgi
from gunicorn.workers import base

from . import jsonio
from .body import BodyStream, HandedBody
from .decode import BODY_KEY, clip
from .direct import call_app, environ_for, parse_head, serialize
from .framing import FramingError, RequestReader
from .loop import RequestThreads, make_poller
from .memory import give_back_memory, serve_large_from_mmap

HEADER_TIMEOUT_ENV, BODY_TIMEOUT_ENV = "KERASLITE_HEADER_TIMEOUT", "KERASLITE_BODY_TIMEOUT"
KEEPALIVE_REQUESTS_ENV = "KERASLITE_KEEPALIVE_REQUESTS"
DRAINING_KEY = "keraslite.draining"
LINGER_SECONDS = 2.0  # how long a closing connection is read (and discarded) so the client sees our answer
SWEEP_SECONDS = 0.25
RECV_SIZE = 1 << 18
BIG_REQUEST = 1 << 20  # after a request or answer this large, freed memory is handed back to the system
REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 413: "Content Too Large",
           414: "URI Too Long", 417: "Expectation Failed", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 501: "Not Implemented"}
# gunicorn's parser errors (by class name, stable across its versions) and the status each one answers.
PARSER_STATUS = {"LimitRequestLine": 414, "LimitRequestHeaders": 431, "UnsupportedTransferCoding": 501,
                 "ExpectationFailed": 417, "ForbiddenProxyRequest": 403, "ConfigurationProblem": 500}
PARSER_400 = {"InvalidRequestLine", "InvalidRequestMethod", "InvalidHTTPVersion", "InvalidHeader",
              "InvalidHeaderName", "ObsoleteFolding", "InvalidProxyLine", "InvalidSchemeHeaders", "InvalidChunkSize",
              "ChunkMissingTerminator", "InvalidChunkExtension", "NoMoreData"}


def env_number(name: str, default: float) -> float:
    """A positive number from the environment, or ``default``."""
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        value = default
    return value if value > 0 else default


def error_response(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 answer with a JSON ``{"error": message}`` body that closes the connection."""
    body = jsonio.dumps({"error": message})
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("latin-1") + body


class Collector:
    """The socket gunicorn's Response writes to: keeps the bytes for the worker to send without blocking."""

    CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

    def __init__(self):
        self.chunks = []

    def sendall(self, data) -> None:
        if data:
            self.chunks.append(bytes(data) if not isinstance(data, bytes) else data)

    def send(self, data) -> int:
        if data != self.CONTINUE:  # the event loop already sent it, when the client was still to send its body
            self.sendall(data)
        return len(data)


class Conn:
    """One client connection and where it is: idle, reading, busy (a thread has it), writing or closing."""

    __slots__ = ("sock", "fd", "addr", "server", "reader", "rest", "out", "keep", "state", "deadline", "answered",
                 "continued", "big")

    def __init__(self, sock, addr, server, max_body, deadline):
        self.sock, self.fd, self.addr, self.server = sock, sock.fileno(), addr, server
        self.reader, self.rest, self.out, self.keep = RequestReader(max_body), b"", [], False
        self.state, self.deadline, self.answered, self.continued, self.big = "idle", deadline, 0, False, False


class KerasliteWorker(base.Worker):
    """A gunicorn worker with a thread pool of ``--threads`` for the app and one event loop for all socket I/O."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = env_number(HEADER_TIMEOUT_ENV, 10.0)
        self.body_timeout = env_number(BODY_TIMEOUT_ENV, 30.0)
        self.keepalive_requests = int(env_number(KEEPALIVE_REQUESTS_ENV, 100))
        self.conns = {}
        self.accepting = False
        self.next_sweep = self.next_beat = 0.0

    # -- set-up and the loop ---------------------------------------------------------------------------------------

    def init_process(self):
        if self.cfg.is_ssl:
            raise RuntimeError("keraslite's worker does not terminate TLS: put a reverse proxy in front of it")
        hooks = [(name, type(self.cfg.settings[name]).default) for name in ("pre_request", "post_request")]
        # Heads that direct.parse_head accepts skip gunicorn's parser and Response, unless an access log or a
        # request hook needs gunicorn's request objects.
        self.direct = self.cfg.accesslog is None and all(self.cfg.settings[n].get() is d for n, d in hooks)
        self.poller = make_poller()
        super().init_process()  # loads the app, then calls run()

    def handle_exit(self, sig, frame):
        self.alive = False  # the signal's wake-up byte (set_wakeup_fd) ends the current select

    def run(self):
        serve_large_from_mmap()  # after the app (and the runtime's allocator settings) is loaded
        limit = getattr(self.wsgi, "config", {}).get("MAX_CONTENT_LENGTH")
        self.max_body = int(limit) if limit else 32 << 20
        self.pool = RequestThreads(self.cfg.threads, self._handle, self.PIPE[1])
        self.poller.watch(self.PIPE[0])
        self.listeners = {}
        for listener in self.sockets:
            listener.setblocking(False)
            self.listeners[listener.fileno()] = listener
        self._accept_enabled(True)
        while self.alive:
            self._heartbeat()
            self._poll(1.0)
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
        self._drain()

    def _heartbeat(self) -> None:
        """Tell the master this worker lives (a file-time syscall), at most twice a second rather than per event."""
        now = time.monotonic()
        if now >= self.next_beat:
            self.next_beat = now + 0.5
            self.notify()

    def _poll(self, timeout: float) -> None:
        try:
            events = self.poller.poll(min(timeout, SWEEP_SECONDS))
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise
            events = []
        for fd, _ in events:
            conn = self.conns.get(fd)
            if conn is not None:
                (self._on_writable if conn.state == "writing" else self._on_readable)(conn)
            elif fd == self.PIPE[0]:
                self._on_wake()
            elif fd in self.listeners and self.accepting:
                self._on_accept(self.listeners[fd])
        now = time.monotonic()
        if now >= self.next_sweep:
            self.next_sweep = now + SWEEP_SECONDS
            self._sweep(now)
        want = len(self.conns) < self.cfg.worker_connections and self.alive
        if want != self.accepting:
            self._accept_enabled(want)

    def _drain(self) -> None:
        """Stop listening (after taking what is queued), finish what is in progress, then close everything."""
        if self.accepting:
            for listener in self.sockets:
                self._on_accept(listener, backlog=True)
            self._accept_enabled(False)
        for listener in self.sockets:
            listener.close()  # with every process's copy closed, new connections are refused, not reset
        end = time.monotonic() + self.cfg.graceful_timeout
        linger = time.monotonic() + LINGER_SECONDS
        for conn in self.conns.values():
            if conn.state == "idle":
                conn.deadline = min(conn.deadline, linger)
        while self.conns and time.monotonic() < end:
            self._heartbeat()
            self._poll(SWEEP_SECONDS)
        for conn in list(self.conns.values()):
            self._close(conn)
        self.pool.stop()
        self.poller.close()

    def _accept_enabled(self, enabled: bool) -> None:
        for fd in self.listeners:
            (self.poller.watch if enabled else self.poller.unwatch)(fd)
        self.accepting = enabled

    def _sweep(self, now: float) -> None:
        """Time out connections past their deadline: 408 for a request still arriving, close for the rest."""
        for conn in [c for c in self.conns.values() if c.deadline <= now and c.state != "busy"]:
            if conn.state == "reading":
                part = "body" if conn.reader.in_body else "headers"
                limit = self.body_timeout if conn.reader.in_body else self.header_timeout
                option = "--body-timeout" if conn.reader.in_body else "--header-timeout"
                self._refuse(conn, 408, f"request timed out: the {part} did not arrive within {limit:g} s "
                                        f"({option}); send the whole request promptly")
            else:
                if conn.state == "writing":
                    self.log.info("closing the connection of %s: it did not take its answer within %g s "
                                  "(--body-timeout)", conn.addr[0] if conn.addr else "?", self.body_timeout)
                self._close(conn)

    # -- reading ---------------------------------------------------------------------------------------------------

    def _on_accept(self, listener, backlog=False) -> None:
        # One connection per wake-up: every worker's loop is woken by a new connection, and one that took the
        # whole backlog at once would leave the others idle (a burst of connections landing on one worker).
        for _ in range(1 if not backlog else 1 << 16):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return
                raise
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Conn(sock, addr, listener.getsockname(), self.max_body, time.monotonic() + self.header_timeout)
            self.conns[conn.fd] = conn
            self.poller.arm(conn.fd)

    def _on_readable(self, conn: Conn) -> None:
        sock = conn.sock
        try:
            if conn.state == "closing":
                if sock.recv(RECV_SIZE):
                    self.poller.arm(conn.fd)
                else:
                    self._close(conn)
                return
            space = conn.reader.space()
            if space is not None and len(space):
                count = sock.recv_into(space)
                if count:
                    conn.reader.received(count)
                    data = b""
                else:
                    data = None
            else:
                data = sock.recv(RECV_SIZE) or None
        except (BlockingIOError, InterruptedError):
            self.poller.arm(conn.fd)
            return
        except OSError:
            self._close(conn)
            return
        if data is None:  # the client closed its side: nothing more will come
            self._close(conn)
            return
        self._take(conn, data)

    def _take(self, conn: Conn, data: bytes) -> None:
        """Feed ``data`` to the connection's request; start it on a thread once it is whole."""
        reader = conn.reader
        if conn.state == "idle":
            conn.state, conn.deadline = "reading", time.monotonic() + self.header_timeout
        had_head = reader.head is not None
        try:
            conn.rest = reader.feed(data) if data or reader.head is None else b""
        except FramingError as exc:
            self._refuse(conn, exc.status, exc.message)
            return
        if not reader.done:
            self.poller.arm(conn.fd)
        if reader.head is not None and not had_head:
            conn.deadline = time.monotonic() + self.body_timeout
            if reader.expect_continue and not reader.done and not conn.continued:
                conn.continued = True
                self._send_now(conn, Collector.CONTINUE)
        if reader.done:
            body, reader.body = HandedBody(reader.body), None  # the app alone holds the body from here
            conn.state, conn.big = "busy", len(body) >= BIG_REQUEST
            self.pool.submit(conn, conn, reader.head, body)

    # -- the request thread ----------------------------------------------------------------------------------------

    def _handle(self, conn: Conn, head: bytes, body: HandedBody):
        """Runs on a request thread: the app's answer, partly sent; returns (keep alive, bytes still to send)."""
        keep, out = self._respond(conn, head, body)
        return keep, self._send_some(conn.sock, out)

    def _respond(self, conn: Conn, head: bytes, body: HandedBody):
        plain = parse_head(head, self.cfg) if self.direct else None
        if plain is not None:
            return self._respond_direct(conn, plain, body)
        try:
            req = next(ghttp.RequestParser(self.cfg, [head], conn.addr))
        except Exception as exc:
            return False, [self._parser_error(exc)]
        collector, resp, environ = Collector(), None, {}
        start = datetime.now()
        try:
            self.cfg.pre_request(self, req)
            resp, environ = wsgi.create(req, collector, conn.addr, conn.server, self.cfg)
            environ["wsgi.multithread"] = True
            environ["wsgi.input"] = BodyStream(body)
            environ[BODY_KEY] = body
            environ[DRAINING_KEY] = not self.alive
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is de-chunked already
            if body or "CONTENT_LENGTH" in environ:
                environ["CONTENT_LENGTH"] = str(len(body))
            self.nr += 1
            if self.nr >= self.max_requests and self.alive:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            if not self.alive or not self.cfg.keepalive or conn.answered + 1 >= self.keepalive_requests:
                resp.force_close()
            result = self.wsgi(environ, resp.start_response)
            try:
                for item in result:
                    resp.write(item)
                resp.close()
            finally:
                if hasattr(result, "close"):
                    result.close()
            self.log.access(resp, req, environ, datetime.now() - start)
            return not resp.should_close(), collector.chunks
        except Exception:
            self.log.exception("Error handling request %s %s", getattr(req, "method", ""), getattr(req, "uri", ""))
            if resp is not None and resp.headers_sent:
                return False, collector.chunks  # the answer is cut short; closing the connection says so
            return False, [error_response(500, "internal error while answering the request")]
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")

    def _respond_direct(self, conn: Conn, head, body: HandedBody):
        """The app's answer to a plain head (``direct.parse_head``), written without gunicorn's Response."""
        environ = environ_for(head, body, conn.addr, conn.server, self.cfg.workers > 1)
        environ["wsgi.input"] = BodyStream(body)
        environ[BODY_KEY] = body
        environ[DRAINING_KEY] = not self.alive
        self.nr += 1
        if self.nr >= self.max_requests and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        keep = bool(self.alive and self.cfg.keepalive and conn.answered + 1 < self.keepalive_requests
                    and head.wants_keepalive())
        try:
            status, headers, chunks = call_app(self.wsgi, environ)
        except Exception:
            self.log.exception("Error handling request %s %s", head.method, head.path)
            return False, [error_response(500, "internal error while answering the request")]
        return keep, serialize(status, headers, chunks, keep, head.minor, head.method == "HEAD")

    def _parser_error(self, exc: Exception) -> bytes:
        name = type(exc).__name__
        status = PARSER_STATUS.get(name, 400 if name in PARSER_400 else 500)
        if status == 500:
            self.log.error("could not parse a request head: %s: %s", name, exc)
        else:
            self.log.debug("invalid request: %s: %s", name, exc)
        text = str(exc) or name
        return error_response(status, f"bad request: {name}: {clip(text, 80) if len(text) > 80 else text}")

    @staticmethod
    def _send_some(sock, chunks):
        """Send what the socket takes now without blocking; returns the chunks (or part) left to send."""
        if len(chunks) > 1 and sum(len(c) for c in chunks) <= 1 << 16:
            chunks = [b"".join(chunks)]  # one segment for a small answer
        while chunks:
            try:
                sent = sock.send(chunks[0])
            except (BlockingIOError, InterruptedError):
                return chunks
            except OSError:
                return []
            if sent < len(chunks[0]):
                chunks[0] = memoryview(chunks[0])[sent:]
                return chunks
            chunks.pop(0)
        return chunks

    # -- back in the event loop: writing, keep-alive and closing ---------------------------------------------------

    def _on_wake(self) -> None:
        try:
            os.read(self.PIPE[0], 4096)  # wake-up bytes (results, signals); any left make the pipe readable again
        except (BlockingIOError, InterruptedError):
            pass
        for conn, result in self.pool.results():
            if isinstance(result, BaseException):
                self.log.error("request thread failed: %r", result)
                keep, out = False, []
            else:
                keep, out = result
            conn.answered += 1
            conn.out, conn.keep, conn.state = out, keep, "writing"
            conn.big = conn.big or sum(len(c) for c in out) >= BIG_REQUEST
            if out:
                conn.deadline = time.monotonic() + self.body_timeout
                self.poller.arm(conn.fd, write=True)
            else:
                self._after_write(conn)

    def _on_writable(self, conn: Conn) -> None:
        conn.out = self._send_some(conn.sock, conn.out)
        if conn.out:
            self.poller.arm(conn.fd, write=True)
        else:
            self._after_write(conn)

    def _after_write(self, conn: Conn) -> None:
        conn.out, conn.reader = [], RequestReader(self.max_body)
        if conn.big:
            conn.big = False
            give_back_memory()
        if not conn.keep:
            self._linger(conn)
            return
        rest, conn.rest, conn.continued = conn.rest, b"", False
        conn.state, conn.deadline = "idle", time.monotonic() + (self.cfg.keepalive if self.alive else LINGER_SECONDS)
        if rest:  # a pipelined request arrived with the last one
            self._take(conn, rest)
        else:
            self.poller.arm(conn.fd)

    def _refuse(self, conn: Conn, status: int, message: str) -> None:
        """Answer an error found before the app ran, then close."""
        self._send_now(conn, error_response(status, message))
        self._linger(conn)

    def _send_now(self, conn: Conn, data: bytes) -> None:
        if self._send_some(conn.sock, [data]):
            self.log.debug("client did not take a %d-byte answer at once; closing", len(data))

    def _linger(self, conn: Conn) -> None:
        """Close after the answer: shut our side, then discard what the client still sends for a moment.

        Closing at once with unread bytes in the socket would make the kernel reset the connection, and the client
        could lose the answer (a 413 sent while its body is still arriving, for example).
        """
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.state, conn.deadline = "closing", time.monotonic() + LINGER_SECONDS
        self.poller.arm(conn.fd)

    def _close(self, conn: Conn) -> None:
        self.conns.pop(conn.fd, None)
        self.poller.forget(conn.fd)
        try:
            conn.sock.close()
        except OSError:
            pass


if sys.platform == "win32":  # pragma: no cover - gunicorn does not run there either
    raise ImportError("keraslite's gunicorn worker needs a POSIX system")
