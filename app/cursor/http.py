"""POSTs to Cursor on a shared `requests.Session`, the way every generation sends them.

Requests are prepared directly and the environment's proxy settings are worked out once per URL:
`Session.request` would merge session settings, cookies and hooks and re-parse the URL on every
call, a measurable share of a chat's CPU (bench/), for requests whose every header we set
ourselves. Failures before a response arrive as the library's errors.
"""

from __future__ import annotations

import requests
from requests.structures import CaseInsensitiveDict

from app.cursor.errors import ReadError, TransportError, UpstreamTimeout

READ_SIZE = 65536


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
