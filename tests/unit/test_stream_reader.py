"""StreamReader against a real socket (issue #15): a read that waits at most a tick returns None
while the body is silent, also when the end of a chunk is already buffered, and never loses or
reorders a byte, whether chunk headers arrive whole or split, over plain TCP or TLS, with threads
or under gevent's monkey-patching (as in gunicorn's workers)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from app.cursor.http import StreamReader, _body_data_in
from tests.image_hosts import make_certificates

TICK = 0.2
GUARD = 10.0  # how long the server waits for the test's go-ahead: a reader that blocks fails, not hangs


class ChunkedServer:
    """One chunked response, written in steps; each step after the first waits for `go[i]`."""

    STEPS = (b"5\r\nhello\r\n", b"6\r", b"\n world\r\n", b"0\r\n\r\n")

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.go = [threading.Event() for _ in self.STEPS]
        self._tls = tls
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        if self._tls is not None:
            connection = self._tls.wrap_socket(connection, server_side=True)
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
            for index, step in enumerate(self.STEPS):
                if index:
                    self.go[index].wait(GUARD)
                connection.sendall(step)
            connection.recv(1)  # until the client closes


def run_checks(certificates: str | None) -> None:
    """The whole exchange; raises AssertionError on a miss. Run in-process and under gevent."""
    tls, verify = None, True
    if certificates is not None:
        ca, tls = make_certificates(Path(certificates), "localhost")
        verify = str(ca)
    server = ChunkedServer(tls)
    scheme, host = ("https", "localhost") if tls else ("http", "127.0.0.1")
    url = f"{scheme}://{host}:{server.port}/"
    with requests.get(url, stream=True, timeout=GUARD, verify=verify) as response:
        reader = StreamReader(response, idle_timeout=GUARD)
        assert reader.read(None) == b"hello"
        # The chunk's CRLF is buffered, the next chunk is not there: a tick passes, no wait.
        assert reader.read(TICK) is None
        assert reader.read(TICK) is None
        # A size line split over two writes is waited for, then read whole.
        server.go[1].set()
        threading.Timer(TICK, server.go[2].set).start()
        assert reader.read(TICK / 4) == b" world"
        server.go[3].set()
        tail = reader.read(GUARD)
        while tail is None:
            tail = reader.read(GUARD)
        assert tail == b""


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_reads_wait_at_most_a_tick_and_lose_nothing(transport, tmp_path):
    run_checks(str(tmp_path) if transport == "tls" else None)


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_the_same_under_gevent(transport, tmp_path):
    certificates = repr(str(tmp_path)) if transport == "tls" else "None"
    script = (
        "from gevent import monkey; monkey.patch_all()\n"
        "from tests.unit.test_stream_reader import run_checks\n"
        f"run_checks({certificates})\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


class Chunked:
    """What `_body_data_in` reads of http.client's response."""

    def __init__(self, chunk_left: int | None, chunked: bool = True) -> None:
        self.chunked = chunked
        self.chunk_left = chunk_left


@pytest.mark.parametrize(
    ("chunk_left", "received", "has_data"),
    [
        (3, b"abc", True),  # inside a chunk
        (None, b"", False),
        (0, b"\r\n", False),  # only the end of the chunk read last
        (0, b"\r\n5\r\nhel", True),
        (0, b"\r\n5\r", False),  # a size line not yet whole
        (None, b"5;ext=1\r\nh", True),
        (0, b"\r\n5\r\n", False),  # a size line, but no data after it yet
        (0, b"\r\n0\r\n\r\n", True),  # the last chunk: the body's end is an answer too
        (None, b"zz\r\n", True),  # not a size line: http.client reports it
    ],
)
def test_what_counts_as_body_data_already_received(chunk_left, received, has_data):
    assert _body_data_in(Chunked(chunk_left), received) is has_data  # type: ignore[arg-type]


def test_an_unchunked_body_has_data_when_anything_was_received():
    assert _body_data_in(Chunked(None, chunked=False), b"\r\n") is True  # type: ignore[arg-type]
