"""What a scenario answers (a Reply: status and the network writes) and the socket-level moves
WSGI cannot express (the Wire): headers before any body, a silence that notices the client
leaving, and a connection dropped without the terminating chunk.

Under pywsgi every non-empty bytes object the reply yields is one chunk written with one
sendall, so "one yield = one network write" holds, and tests can see each write as a chunk."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import gevent
from gevent import select

CONNECT = "application/connect+proto"


@dataclass
class Reply:
    writes: Iterable[bytes]
    status: str = "200 OK"
    content_type: str = CONNECT
    whole: bool = False  # True: one body with a Content-Length (a non-Connect answer); else chunked


class Wire:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.write: Callable[[bytes], None] | None = None  # set once the response is started

    def send_headers(self) -> None:
        """Flush the status line and headers now; pywsgi would wait for the first body write."""
        assert self.write is not None, "the response has not been started"
        self.write(b"")

    def wait(self, seconds: float) -> None:
        """Stay silent for `seconds`, but notice at once when the client hangs up: a client that
        leaves during a silence is invisible to writes, and tests want to see it leave."""
        deadline = time.monotonic() + seconds
        # poll, not select: select() refuses descriptors above 1023, which a fake serving 1000+
        # streams hands out (ValueError: filedescriptor out of range).
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if not poller.poll(seconds * 1000):  # milliseconds, as the stdlib's
            return
        if self.sock.recv(1, socket.MSG_PEEK) == b"":
            # ECONNRESET: pywsgi treats it as a normal client disconnect and logs nothing
            raise ConnectionResetError(errno.ECONNRESET, "the client closed the connection")
        gevent.sleep(max(0.0, deadline - time.monotonic()))  # a pipelined request is waiting: just sleep

    def drop(self) -> None:
        """End the connection mid-body: FIN without the terminating chunk, so the client sees an
        incomplete body. pywsgi's own terminating write then fails with EPIPE, which it ignores."""
        self.sock.shutdown(socket.SHUT_RDWR)
