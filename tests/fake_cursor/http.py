"""Just enough HTTP/1.1 to be byte-exact: the fake must delay headers, split writes anywhere,
drop a connection without the terminating chunk, and see exactly how a request was framed."""
from __future__ import annotations

import json
import select
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_LINE = 65536


class BadRequest(Exception):
    """The request itself is not valid HTTP/1.1 framing."""


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # case as received
    body: bytes
    framing: list[str] = field(default_factory=list)  # which of content-length / chunked were sent

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


def _read_chunked(rfile) -> bytes:
    body = bytearray()
    while True:
        size_line = rfile.readline(MAX_LINE)
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest("bad chunk size") from None
        if size == 0:
            while rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        body += rfile.read(size)
        rfile.readline(MAX_LINE)


def read_request(rfile) -> Request | None:
    """The next request on a connection, or None when the client closed it."""
    line = rfile.readline(MAX_LINE)
    if not line:
        return None
    try:
        method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    except ValueError:
        raise BadRequest("bad request line") from None
    headers: dict[str, str] = {}
    while True:
        raw = rfile.readline(MAX_LINE)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip()] = value.strip()
    request = Request(method, urlsplit(target).path, urlsplit(target).query, headers, b"")
    chunked = (request.header("Transfer-Encoding") or "").lower() == "chunked"
    length = request.header("Content-Length")
    request.framing = [name for name, sent in (("content-length", length is not None), ("chunked", chunked)) if sent]
    if chunked:
        request.body = _read_chunked(rfile)
    elif length is not None:
        request.body = rfile.read(int(length))
    return request


class Connection:
    """Writes one response: a status line and headers, then chunks, each its own send."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self.keep_alive = True

    def start(self, status: int, content_type: str, reason: str = "OK") -> None:
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")
        self.sock.sendall(head.encode("latin-1"))

    def chunk(self, data: bytes) -> None:
        if data:
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def end(self) -> None:
        self.sock.sendall(b"0\r\n\r\n")

    def wait(self, seconds: float) -> None:
        """Stay silent for `seconds`, but notice at once when the client closes the connection
        (raises ConnectionAbortedError, like a failed write would)."""
        readable, _, _ = select.select([self.sock], [], [], seconds)
        if readable and self.sock.recv(1, socket.MSG_PEEK) == b"":
            raise ConnectionAbortedError("the client closed the connection")

    def abort(self) -> None:
        """Drop the connection mid-body: no terminating chunk, the client sees a cut."""
        self.keep_alive = False
        self.sock.close()

    def whole(self, status: int, content_type: str, body: bytes, reason: str = "") -> None:
        head = (f"HTTP/1.1 {status} {reason or 'Status'}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
        self.sock.sendall(head.encode("latin-1") + body)

    def json(self, status: int, value: object) -> None:
        self.whole(status, "application/json", json.dumps(value).encode())
