"""A minimal HTTP/1.1 client over (gevent) sockets for the load generator: keep-alive, a
Content-Length or chunked body handed to a callback as it arrives, nothing else. Far cheaper
per request than requests/urllib3, so the generator is not what limits the figures."""

from __future__ import annotations

import socket
from collections.abc import Callable

RECV_SIZE = 262144


class Closed(ConnectionError):
    """The server closed the connection before the response was complete."""


class Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._pos = 0

    def close(self) -> None:
        self.sock.close()

    @property
    def closed(self) -> bool:
        return self.sock.fileno() < 0

    def exchange(self, request: bytes, on_data: Callable[[bytes], None]) -> int:
        """Send one complete request (head and body) and read its response, passing the body's
        pieces to `on_data` as they arrive. Returns the status."""
        status, headers = self.start(request)
        self.body(headers, on_data)
        return status

    def start(self, request: bytes) -> tuple[int, dict[bytes, bytes]]:
        """Send a request and read the response's head only: an agent turn's stream answers its
        headers at once but its body only after the client's writes on another connection."""
        self.sock.sendall(request)
        status_line, headers = self._head()
        return int(status_line.split(b" ", 2)[1]), headers

    def body(self, headers: dict[bytes, bytes], on_data: Callable[[bytes], None]) -> None:
        """Read the body that `headers` announce, passing its pieces to `on_data`."""
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            self._chunked(on_data)
        else:
            self._exactly(int(headers.get(b"content-length", b"0")), on_data)
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()

    # -- reading ----------------------------------------------------------------------------

    def _fill(self) -> None:
        if self._pos > 65536:  # drop what was consumed, now and then, not on every read
            del self._buf[: self._pos]
            self._pos = 0
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise Closed("connection closed mid-response")
        self._buf += data

    def _line(self) -> bytes:
        while (end := self._buf.find(b"\r\n", self._pos)) < 0:
            self._fill()
        line = bytes(self._buf[self._pos : end])
        self._pos = end + 2
        return line

    def _head(self) -> tuple[bytes, dict[bytes, bytes]]:
        status_line = self._line()
        headers = {}
        while line := self._line():
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return status_line, headers

    def _exactly(self, size: int, on_data: Callable[[bytes], None]) -> None:
        while size:
            if self._pos == len(self._buf):
                self._fill()
            piece = bytes(self._buf[self._pos : self._pos + size])
            self._pos += len(piece)
            size -= len(piece)
            on_data(piece)

    def _chunked(self, on_data: Callable[[bytes], None]) -> None:
        while size := int(self._line().split(b";")[0], 16):
            self._exactly(size, on_data)
            if self._line():
                raise ValueError("chunk not followed by CRLF")
        while self._line():  # trailers, if any, up to the empty line
            pass


def build_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """The bytes of one POST; built once per job and sent as is for every request."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
