"""HTTP transport to Cursor: one `requests.Session` per proxy setting, shared by all calls.

The chat call streams: `open_chat` returns once response headers arrived (bounded by the
caller's timeout), and `ChatResponse.batches()` yields the events decoded from each network
read as soon as it arrives. Closing the response closes the upstream connection at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from app.cursor.checksum import random_hash
from app.cursor.errors import TransportError
from app.cursor.events import Event
from app.cursor.http import Poster, StreamReader, describe_failure, read_bounded
from app.cursor.response import ResponseDecoder, upstream_error_from_body

CHAT_PATH = "/aiserver.v1.AiService/StreamChat"
CHAT_WEB_PATH = "/aiserver.v1.AiService/StreamChatWeb"
CONNECT_CONTENT_TYPE = "application/connect+proto"
CLIENT_VERSION = "0.42.5"
CLIENT_TIMEZONE = "Asia/Shanghai"
CONNECT_USER_AGENT = "connect-es/1.6.1"
ERROR_BODY_LIMIT = 65536


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where Cursor is: base URLs (configurable so tests use a fake) and the optional
    reverse-proxy host of PROTOCOL §1.2."""

    api2_base_url: str = "https://api2.cursor.sh"
    web_base_url: str = "https://www.cursor.com"
    reverse_proxy_host: str = ""

    def locate(self, base_url: str, path: str) -> tuple[str, dict[str, str]]:
        """The URL to call and the routing header: through the reverse proxy, the real host
        travels in `x-co`."""
        if not self.reverse_proxy_host:
            return base_url + path, {}
        return f"https://{self.reverse_proxy_host}{path}", {"x-co": urlsplit(base_url).netloc}


def chat_headers(token: str, checksum: str, routing: dict[str, str]) -> dict[str, str]:
    """PROTOCOL §1.4, in rc4's order. No Transfer-Encoding: requests sends a Content-Length
    for a bytes body (pitfall P6)."""
    trace = str(uuid.uuid4())
    return {
        **routing,
        "Content-Type": CONNECT_CONTENT_TYPE,
        "Authorization": f"Bearer {token}",
        "connect-accept-encoding": "gzip",  # we decode gzip frames only (pitfall P7)
        "connect-protocol-version": "1",
        "User-Agent": CONNECT_USER_AGENT,
        "x-amzn-trace-id": f"Root={trace}",
        "x-client-key": random_hash(),
        "x-cursor-checksum": checksum,
        "x-cursor-client-version": CLIENT_VERSION,
        "x-cursor-timezone": CLIENT_TIMEZONE,
        "x-ghost-mode": "true",
        "x-request-id": trace,
        "Connection": "keep-alive",
        "Accept": "*/*",
        "Accept-Encoding": "gzip, br",
    }


class ChatResponse:
    """An open upstream chat stream, read through `batches()` by the greenlet (or thread) that
    answers the client."""

    def __init__(self, response: requests.Response, decoder: ResponseDecoder, idle_timeout: float | None) -> None:
        self._response = response
        self._decoder = decoder
        self._reader = StreamReader(response, idle_timeout)

    def batches(self, tick: float | None = None) -> Iterator[list[Event] | None]:
        """The events of each network read, in order, and None after every `tick` seconds
        without one (never, when `tick` is None); ends at the end of the body.

        Raises UpstreamError (error trailer), ProtocolError (bad framing), ReadError
        (connection broken mid-body) or UpstreamTimeout (idle too long)."""
        while True:
            data = self._reader.read(tick)
            if data is None:
                yield None
            elif not data:
                self._decoder.finish()
                return
            else:
                yield self._decoder.feed(data)

    def abort(self) -> None:
        """Stop a read in progress from another thread or greenlet: it wakes at once."""
        self._reader.interrupt()

    def close(self) -> None:
        """Release the response; called by the thread that reads it."""
        self._response.close()


class CursorClient:
    def __init__(
        self,
        upstream: Upstream,
        *,
        proxy_url: str | None = None,
        use_environment_proxy: bool = True,
        max_frame_bytes: int = 16 * 1024 * 1024,
        max_decompressed_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.upstream = upstream
        self._limits = (max_frame_bytes, max_decompressed_bytes)
        self._session = requests.Session()
        self._session.headers.clear()
        self._session.trust_env = use_environment_proxy
        if proxy_url:
            self._session.proxies = {"http": proxy_url, "https": proxy_url}
        # One worker serves many concurrent greenlets: let the pool hold a connection for each.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=1024, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._poster = Poster(self._session)

    @property
    def session(self) -> requests.Session:
        """The keep-alive session, shared with the other upstream calls (the agent generation)."""
        return self._session

    def open_chat(
        self, body: bytes, *, token: str, checksum: str, web: bool, timeout: float, idle_timeout: float | None = None
    ) -> ChatResponse:
        """Send a chat request and wait up to `timeout` seconds for the response headers.

        Raises UpstreamTimeout, TransportError, or UpstreamError when the answer is not a
        Connect stream (PROTOCOL §2.8)."""
        url, routing = self.upstream.locate(self.upstream.api2_base_url, CHAT_WEB_PATH if web else CHAT_PATH)
        response = self._poster.post(url, chat_headers(token, checksum, routing), body, timeout=timeout, stream=True)
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 or content_type.split(";")[0].strip() != CONNECT_CONTENT_TYPE:
            with response:
                excerpt = read_bounded(response, ERROR_BODY_LIMIT)
            raise upstream_error_from_body(response.status_code, content_type, excerpt)
        return ChatResponse(response, ResponseDecoder(*self._limits), idle_timeout)

    def get_json(
        self, base_url: str, path: str, headers: dict[str, str], timeout: float, query: dict[str, str] | None = None
    ) -> object:
        """GET a JSON document from one of Cursor's hosts (through the reverse proxy when set).
        The status is not checked: an error body simply fails the caller's parsing."""
        url, routing = self.upstream.locate(base_url, path)
        try:
            response = self._session.get(url, params=query, headers={**routing, **headers}, timeout=(timeout, timeout))
            return response.json()
        except requests.exceptions.RequestException as exc:
            raise TransportError(describe_failure(exc)) from exc
        except ValueError as exc:
            raise TransportError(f"not JSON: {exc}") from exc

    def close(self) -> None:
        self._session.close()
