"""POSTs to Cursor on a shared `requests.Session`, the way every generation sends them.

Requests are prepared directly and the environment's proxy settings are worked out once per URL:
`Session.request` would merge session settings, cookies and hooks and re-parse the URL on every
call, a measurable share of a chat's CPU (bench/), for requests whose every header we set
ourselves. Failures before a response arrive as the library's errors.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import ssl
from typing import BinaryIO

import requests
import urllib3
from gevent import monkey
from gevent.socket import wait_read
from requests.structures import CaseInsensitiveDict

from app.cursor.errors import ReadError, TransportError, UpstreamTimeout

READ_SIZE = 65536
_NO_DATA_YET = (BlockingIOError, ssl.SSLWantReadError)
# The stdlib's poll: select() refuses descriptors above 1023, and gevent's patched poll never
# looks when the timeout is zero.
_poll = monkey.get_original("select", "poll")


def describe_failure(exc: BaseException) -> str:
    """A short reason for a transport failure: the innermost OS-level cause, not urllib3's
    nested retry message."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        nested = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        cause = cause.__cause__ or cause.__context__ or nested
        if cause is exc:
            break
    return str(exc) or exc.__class__.__name__


def prepared_post(url: str, headers: dict[str, str], body: bytes) -> requests.PreparedRequest:
    """A POST with exactly these headers and a Content-Length (never chunked, pitfall P6)."""
    request = requests.PreparedRequest()
    request.method = "POST"
    request.url = url
    request.headers = CaseInsensitiveDict(headers)
    request.headers["Content-Length"] = str(len(body))
    request.body = body
    request.hooks = {"response": []}
    return request


def read_bounded(response: requests.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body (error pages are excerpted, never read whole)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=READ_SIZE):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


class Poster:
    """Sends prepared POSTs on one session, with its proxy and TLS settings."""

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self._settings_by_url: dict[str, dict] = {}

    def post(
        self, url: str, headers: dict[str, str], body: bytes, *, timeout: float, stream: bool = False
    ) -> requests.Response:
        """The response once its headers arrived (connect and each read bounded by `timeout`).

        Raises UpstreamTimeout, or TransportError when the request could not be sent."""
        try:
            return self.session.send(
                prepared_post(url, headers, body),
                stream=stream,
                timeout=(timeout, timeout),
                allow_redirects=False,
                **self._transport_settings(url),
            )
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
            raise UpstreamTimeout("Request timeout") from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(describe_failure(exc)) from exc

    def post_and_read(
        self, url: str, headers: dict[str, str], body: bytes, *, timeout: float, limit: int
    ) -> tuple[requests.Response, bytes]:
        """A unary POST: the response (closed) and at most `limit` bytes of its body. Raises as
        `post`, and ReadError when the connection breaks while the body is read."""
        with self.post(url, headers, body, timeout=timeout, stream=True) as response:
            try:
                return response, read_bounded(response, limit)
            except requests.exceptions.RequestException as exc:
                raise ReadError(describe_failure(exc)) from exc

    def _transport_settings(self, url: str) -> dict:
        """Proxies and TLS settings for `url` from the session and, when it trusts the
        environment, from HTTP(S)_PROXY/NO_PROXY and friends; those do not change while the
        process runs, so each URL's answer is worked out once."""
        settings = self._settings_by_url.get(url)
        if settings is None:
            settings = dict(self.session.merge_environment_settings(url, {}, None, None, None))
            settings.pop("stream", None)
            self._settings_by_url[url] = settings
        return settings


class StreamReader:
    """A streamed response body, read by the greenlet (or thread) that asks for it, which may
    look up between reads: `read(wait)` gives up after `wait` seconds without data instead of
    blocking until the idle timeout, so that greenlet can send keep-alives and notice a client
    that left without a second greenlet reading for it (issue #15).

    A socket timeout cannot do this: after one, the socket's file refuses every later read. So
    the reader waits for the socket to be readable first, unless the bytes already received
    (http.client's buffered file, and under TLS the decrypted record) hold body data: a
    non-blocking peek reads them without consuming any, and `_body_data_in` looks past the
    chunked framing, which alone would make http.client wait. A socket with data waiting is
    read at once, without the peek, which would cap the read at the file's 8 KiB buffer. Once a read started it
    completes: a chunk header that arrives split is waited for, bounded by the idle timeout."""

    def __init__(self, response: requests.Response, idle_timeout: float | None) -> None:
        self._raw = response.raw
        self._sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        self._idle_timeout = idle_timeout
        self._ended = False
        self._poller = _poll()
        if self._sock is not None:
            self._poller.register(self._sock, select.POLLIN)
            if idle_timeout:
                self._sock.settimeout(idle_timeout)  # a safety net: callers time out first

    def interrupt(self) -> None:
        """Wake a read in progress in another thread or greenlet by shutting the socket down
        (closing the reader's buffered file under it is not allowed). Not once the body has
        ended: urllib3 has returned the connection to its pool, it is no longer ours."""
        if not self._ended and self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def read(self, wait: float | None = None) -> bytes | None:
        """The next bytes of the body, b"" at its end, or None when none arrived within `wait`
        seconds (None: wait for them). Raises UpstreamTimeout (idle past the idle timeout) or
        ReadError (connection broken, or closed under us)."""
        if wait is not None and not self._ready(wait):
            return None
        try:
            data = self._raw.read1(READ_SIZE)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            raise UpstreamTimeout("Stream idle timeout") from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:  # ValueError: closed under us
            raise ReadError(describe_failure(exc)) from exc
        self._ended = not data
        return data

    def _ready(self, wait: float) -> bool:
        body: http.client.HTTPResponse | None = getattr(self._raw, "_fp", None)  # under urllib3's
        file = getattr(body, "fp", None)
        if self._sock is None or body is None or file is None:
            return True  # not a socket we can watch, or the body is over: read1 answers at once
        if self._poller.poll(0):
            return True  # checked first: a peek into an empty buffer would cap the read at its size
        received = self._received(file)
        if received is None or _body_data_in(body, received):
            return True
        return _wait_readable(self._sock, wait)

    def _received(self, file: BinaryIO) -> bytes | None:
        """The bytes received and not yet read (b"": none), without waiting; None when the
        connection is broken or closed (the read reports it)."""
        assert self._sock is not None
        self._sock.settimeout(0.0)
        try:
            return file.peek(1)  # type: ignore[attr-defined]  # a BufferedReader
        except _NO_DATA_YET:
            return b""
        except (OSError, ValueError):
            return None
        finally:
            self._sock.settimeout(self._idle_timeout)


def _body_data_in(response: http.client.HTTPResponse, received: bytes) -> bool:
    """Whether http.client would return body data (or the body's end) from `received` alone:
    for a chunked body, past the end of the current chunk and a whole size line."""
    if not received:
        return False
    if not response.chunked or response.chunk_left:
        return True
    if response.chunk_left == 0:  # the chunk's data was read, its CRLF not yet
        received = received[2:]
    line_end = received.find(b"\n")
    if line_end < 0:
        return False
    try:
        size = int(received[:line_end].split(b";")[0].strip(), 16)
    except ValueError:
        return True  # not a size line: http.client reports it
    return size == 0 or len(received) > line_end + 1


def _wait_readable(sock: socket.socket, wait: float) -> bool:
    """Whether `sock` became readable (data, its end, or an error) within `wait` seconds."""
    if monkey.is_module_patched("socket"):
        try:
            wait_read(sock.fileno(), wait)
        except TimeoutError:
            return False
        return True
    return bool(select.select([sock], [], [], wait)[0])
