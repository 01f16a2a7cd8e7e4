"""The gunicorn worker: gunicorn's gevent worker with bounded client reads and a prompt shutdown.

gunicorn.conf.py names it (`worker_class`) and sets its bounds from the settings
(`configure`). What it changes, and why (docs/DESIGN.md, "Shutdown and connection limits"):

* **Every read from a client has a deadline.** A request's line and headers must arrive within
  `CLIENT_HEADER_TIMEOUT` (counted from the connection's opening for its first request, from the
  first byte for a later one; late: a 408 and the connection closes), its body within
  `CLIENT_BODY_TIMEOUT` of its headers (late: the app answers 408 and the connection closes), and
  a kept-alive connection may wait `CLIENT_KEEPALIVE_TIMEOUT` for its next request. gunicorn
  itself bounds only the wait for the headers (by `keepalive`) and never a body read, so slow
  clients could hold a worker's connections for as long as they liked.
* **Slow or idle clients cannot fill a worker.** When a worker's connections come close to
  `worker_connections`, each new connection closes the one that has waited longest for bytes
  from its client (an idle keep-alive connection or a stalled request; never a stream being
  answered), so a new client is always accepted instead of waiting in the listen queue.
* **SIGTERM exits as soon as the requests in flight are answered.** gunicorn's worker waits, up
  to `graceful_timeout`, for every connection to end, including idle keep-alive ones that no
  request will ever come on. This one closes idle connections at once (and each connection as
  its request ends); a request already arriving is still answered, with `Connection: close`.
* **Errors reach the client as responses.** After gunicorn's own 400/414/431 or the app's 408/413
  the connection closes without a reset: it stops writing, reads and discards what the client
  still sends for up to `LINGER_SECONDS`, then closes (a close with unread input makes the kernel
  send a reset, which can destroy the response before the client reads it). 408 and 413 carry
  `Connection: close`.
* The soft open-files limit is raised to what `worker_connections` needs.

TLS served by gunicorn itself (`certfile`) keeps gunicorn's behaviour: the deployments this
project targets terminate TLS in front of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import resource
import socket
import struct
import termios
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import cache, partial
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.server import StreamServer
from gunicorn.sock import ssl_context
from gunicorn.workers.ggevent import GeventWorker

LINGER_SECONDS = 5.0  # how long a closing connection keeps reading what the client still sends
DRAIN_LIMIT_BYTES = 64 * 1024  # unread body discarded to keep a connection alive; more: it closes
SHUTDOWN_TICK_SECONDS = 0.05  # how often a stopping worker looks whether its last request ended
TICK_SECONDS = 0.1  # how often a running worker looks at `alive` (SIGTERM)
HEARTBEAT_SECONDS = 1.0  # gunicorn's own interval for telling the master the worker lives
SHED_LOG_INTERVAL_SECONDS = 10.0
CLOSING_STATUSES = ("408", "413")  # answers after which the request's body is not worth reading

_HEAD_TIMEOUT_TEXT = b"the request headers did not arrive in time"
_HEAD_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_HEAD_TIMEOUT_TEXT), _HEAD_TIMEOUT_TEXT)
)

# Where a connection is: waiting for a request's first byte, reading its line and headers, or
# with the application (which reads the body).
IDLE, HEAD, BUSY = "idle", "head", "busy"


@cache
def body_timeout_error() -> type[Exception]:
    """What a late body read raises: werkzeug's 408, so the app's error handlers answer it (an
    OSError would become werkzeug's 400 "client disconnected"). Made on first use, in a worker:
    the master, which imports this module, does not import werkzeug."""
    from werkzeug.exceptions import RequestTimeout

    class BodyTimeout(RequestTimeout):
        description = "The request body did not arrive in time; the connection is closed."

    return BodyTimeout


class ClientConnection:
    """A client socket as gunicorn's parser and response see it (everything else is the real
    gevent socket's): its reads have the deadline of the phase the connection is in."""

    def __init__(self, sock: Any, worker: GatewayWorker) -> None:
        self._sock = sock
        self._worker = worker
        self.phase = IDLE
        self.first_request = True
        self.deadline = time.monotonic() + worker.header_timeout
        self.reading = False  # blocked in recv: the only place it may be hung up on
        self.hung_up = False
        self.linger = False
        self.closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    # -- phases -------------------------------------------------------------------------------
    def await_next_request(self) -> None:
        """Back in gunicorn's keep-alive loop after a response."""
        if self.phase == BUSY:
            self.phase = IDLE
            self.first_request = False
            self.deadline = time.monotonic() + self._worker.keepalive_timeout

    def begin_request(self) -> None:
        self.phase = BUSY
        self.deadline = time.monotonic() + self._worker.body_timeout

    def hang_up(self) -> None:
        """End a read this connection is blocked in (from another greenlet): it returns as if the
        client had closed, and the connection closes (with a 408 when a request was begun)."""
        self.hung_up = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RD)

    def has_unread_input(self) -> bool:
        try:
            return struct.unpack("i", fcntl.ioctl(self._sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0] > 0
        except OSError:
            return False

    # -- the socket interface gunicorn uses ----------------------------------------------------
    def recv(self, size: int, *flags: int) -> bytes:
        if self.phase == IDLE:
            if not self._worker.alive and not self.has_unread_input():
                return b""  # shutting down: no new request on this connection
            data = self._read(size, flags)
            if data is None:
                return b""  # idle too long: a quiet close, as gunicorn's keep-alive timeout
            if data:
                self.phase = HEAD
                if not self.first_request:
                    self.deadline = time.monotonic() + self._worker.header_timeout
            return data
        if self.phase == HEAD:
            data = self._read(size, flags)
            if data is None:
                self._send_quietly(_HEAD_TIMEOUT_RESPONSE)
                return b""
            return data
        data = self._read(size, flags)
        if data is None:
            raise body_timeout_error()()
        return data

    def _read(self, size: int, flags: tuple[int, ...]) -> bytes | None:
        """One recv within the deadline; None when it passed or the connection was hung up."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or self.hung_up:
            return None
        waiting = self._worker.waiting
        waiting[self] = None  # the longest waiting first: the first to give up its place
        self.reading = True
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(size, *flags)
        except TimeoutError:
            return None
        except OSError:
            if self.hung_up:  # gevent ends a read that shutdown() interrupts with EBADF
                return None
            raise
        finally:
            self.reading = False
            waiting.pop(self, None)
            with contextlib.suppress(OSError):
                self._sock.settimeout(None)
        if not data and self.hung_up:
            return None
        return data

    def _send_quietly(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._sock.settimeout(1.0)
            self._sock.sendall(data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.linger and not self.hung_up:
            self._linger()
        self._sock.close()

    def _linger(self) -> None:
        """Stop writing, then discard what the client still sends (until it closes, at most
        LINGER_SECONDS), so that closing does not reset the connection under its response."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            while (remaining := deadline - time.monotonic()) > 0:
                self._sock.settimeout(remaining)
                if not self._sock.recv(65536):
                    break


class GatewayWorker(GeventWorker):
    """gunicorn's `gevent` worker (GeventWorker) with the bounds above."""

    # Set by `configure` from the settings (gunicorn.conf.py), in the master before the fork.
    header_timeout = 10.0
    body_timeout = 30.0
    keepalive_timeout = 75.0
    wsgi: Any  # the app, set by gunicorn's load_wsgi

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: dict[Any, ClientConnection] = {}  # by the greenlet serving each
        self.waiting: OrderedDict[ClientConnection, None] = OrderedDict()  # blocked reading
        self._shed_count = 0
        self._shed_logged_at = 0.0

    def init_process(self) -> None:
        self._raise_open_files_limit()
        super().init_process()

    def _raise_open_files_limit(self) -> None:
        # Each client connection is a descriptor, and each stream one more to Cursor.
        wanted = 2 * self.worker_connections + 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY or soft >= wanted:
            return
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if target > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < wanted:
            self.log.warning(
                "open-files limit %s is below the %s that worker_connections = %s needs",
                target, wanted, self.worker_connections,
            )  # fmt: skip

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _closing_after(self.wsgi)

    # -- serving --------------------------------------------------------------------------------
    def run(self) -> None:
        """GeventWorker.run, polling `alive` every TICK_SECONDS instead of every second and
        closing idle connections when it turns false (SIGTERM)."""
        ssl_args = {"ssl_context": ssl_context(self.cfg)} if self.cfg.is_ssl else {}
        servers = []
        for listener in self.sockets:
            listener.setblocking(1)
            server = StreamServer(
                listener, handle=partial(self.handle, listener), spawn=Pool(self.worker_connections), **ssl_args
            )
            if self.cfg.workers > 1:
                server.max_accept = 1
            server.start()
            servers.append(server)
        self._capacity = self.worker_connections * len(servers)
        heartbeat = 0.0
        while self.alive:
            if time.monotonic() - heartbeat >= HEARTBEAT_SECONDS:
                self.notify()
                heartbeat = time.monotonic()
            gevent.sleep(TICK_SECONDS)
        self._drain(servers)

    def _drain(self, servers: list[StreamServer]) -> None:
        with contextlib.suppress(Exception):  # as GeventWorker.run: the worker is exiting anyway
            for server in servers:
                server.close()  # stop accepting
            deadline = time.monotonic() + self.cfg.graceful_timeout
            heartbeat = 0.0
            while time.monotonic() < deadline:
                self._hang_up_idle()
                if all(server.pool.free_count() == server.pool.size for server in servers):
                    return
                if time.monotonic() - heartbeat >= HEARTBEAT_SECONDS:
                    self.notify()
                    heartbeat = time.monotonic()
                gevent.sleep(SHUTDOWN_TICK_SECONDS)
            self.log.warning("Worker graceful timeout (pid:%s)", self.pid)
            for server in servers:
                server.stop(timeout=1)

    def _hang_up_idle(self) -> None:
        """Close every connection waiting for a request that has not begun to arrive."""
        for connection in list(self.waiting):
            if connection.phase == IDLE and connection.reading and not connection.has_unread_input():
                connection.hang_up()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        if self.cfg.is_ssl:
            super().handle(listener, client, addr)
            return
        connection = ClientConnection(client, self)
        current = gevent.getcurrent()
        self.connections[current] = connection
        self._make_room()
        try:
            super().handle(listener, connection, addr)
        finally:
            self.connections.pop(current, None)
            self.waiting.pop(connection, None)

    def _make_room(self) -> None:
        """Near `worker_connections`, close the connections that have waited longest for their
        client, so that the worker keeps accepting (its pool full, new clients would queue)."""
        reserve = max(1, self.worker_connections // 20)
        excess = len(self.connections) - (getattr(self, "_capacity", self.worker_connections) - reserve)
        shed = 0
        for connection in list(self.waiting):
            if shed >= excess:
                break
            if connection.reading and not connection.hung_up:
                connection.hang_up()
                shed += 1
        if shed:
            self._shed_count += shed
            now = time.monotonic()
            if now - self._shed_logged_at >= SHED_LOG_INTERVAL_SECONDS:
                self.log.warning(
                    "%s connections are open (worker_connections = %s): closed %s that waited longest "
                    "for their client to make room",
                    len(self.connections), self.worker_connections, self._shed_count,
                )  # fmt: skip
                self._shed_count = 0
                self._shed_logged_at = now

    def timeout_ctx(self) -> contextlib.AbstractContextManager[None]:
        # Called before each wait for a request on a kept-alive connection. The connection's
        # own deadlines replace gunicorn's gevent.Timeout(keepalive) around that wait.
        connection = self.connections.get(gevent.getcurrent())
        if connection is not None:
            connection.await_next_request()
        return contextlib.nullcontext()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        if not isinstance(sock, ClientConnection):
            return super().handle_request(listener_name, req, sock, addr)
        sock.begin_request()
        try:
            served = super().handle_request(listener_name, req, sock, addr)
        except StopIteration:  # the response closes the connection
            sock.linger = not _finish_body(req)
            raise
        if not _finish_body(req):
            sock.linger = True
            raise StopIteration()  # where the next request starts is unknown: close
        return served

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        super().handle_error(req, client, addr, exc)  # 400, 414, 431, 500 ... then gunicorn closes
        if isinstance(client, ClientConnection):
            client.linger = True


def _finish_body(req: Any) -> bool:
    """Read what the app left of the request body (at most DRAIN_LIMIT_BYTES, within the body's
    deadline): True when it is all read, so the connection can serve another request."""
    body = getattr(req, "body", None)
    if body is None:
        return True
    drained = 0
    try:
        while drained <= DRAIN_LIMIT_BYTES:
            data = body.read(8192)
            if not data:
                return True
            drained += len(data)
    except Exception:  # a late or malformed body (a body timeout, a bad chunk, a disconnect)
        return False
    return False


def _closing_after(app: Callable[..., Iterator[bytes]]) -> Callable[..., Iterator[bytes]]:
    """The WSGI app, with `Connection: close` on answers after which the connection closes
    anyway (gunicorn ignores that header from the app, so it is asked of gunicorn's response)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            response = getattr(start_response, "__self__", None)
            if status[:3] in CLOSING_STATUSES and response is not None and hasattr(response, "force_close"):
                response.force_close()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wsgi


def configure(*, header_timeout: float, body_timeout: float, keepalive_timeout: float) -> None:
    """Set the bounds (seconds) for the workers the master will fork."""
    GatewayWorker.header_timeout = header_timeout
    GatewayWorker.body_timeout = body_timeout
    GatewayWorker.keepalive_timeout = keepalive_timeout
