"""Fetching image URLs without becoming a way into the operator's network (SSRF, issue #14).

One mechanism for every hop (each redirect is followed by hand, at most MAX_REDIRECTS):

- The URL is parsed once, by urllib3's `parse_url`, and must be in plain form: http or https,
  no user name or password, no backslash, whitespace or control character anywhere, and an
  authority that parses to itself (no percent-escapes, no non-ASCII host). Those are the spots
  where URL parsers disagree, so a URL that has them is refused instead of interpreted.
- The host is resolved once; every address it resolves to must be public (not loopback,
  private, link-local, shared, multicast or reserved; an IPv6 address embedding an IPv4 one,
  v4-mapped, v4-compatible, NAT64 64:ff9b::/96 or 6to4 2002::/16, is judged by the embedded
  address), unless IMAGE_FETCH_ALLOW_PRIVATE is on.
- The connection goes to a checked address, never to the name again: the Host header carries
  the name and, for https, the certificate is verified against the name (SNI too). A DNS
  answer that changes between the check and the fetch (rebinding) changes nothing.
- Every fetch has its own connection, closed afterwards: no cookies, no pooled connections,
  no state of any kind shared between fetches or requests.

Proxies (the runtime `proxies` setting; `system` honours HTTP(S)_PROXY and NO_PROXY): through a
SOCKS proxy, and for https through an HTTP proxy (CONNECT), the proxy is asked for the checked
address, so the pin holds. Only a plain-http URL through an HTTP proxy goes by name (a
forwarding proxy routes by the URL it is given, and sending it an address would break virtual
hosts): the name is still checked here, but the proxy resolves it again, so the proxy's own
egress rules must keep it off private networks. With any proxy the name must resolve on this
host too: what cannot be checked is not fetched.

Whatever goes wrong once the network is involved (an address refused, no DNS answer, a closed
port, an HTTP error, a timeout, a body too large or not an image) the client is told one
thing, NOT_FETCHED, so a client cannot map the network through the answers; the detail goes
to the server log. Only what the URL text alone shows (its form) gets its own message.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import certifi
import requests
import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, LocationParseError
from urllib3.util import parse_url

from app.cursor.images import ImageError, inspect_image
from app.cursor.messages import Image
from app.settings import ProxySetting

if TYPE_CHECKING:
    from app.services.vision import ByteBudget

log = logging.getLogger("cursor_api.images")

MAX_REDIRECTS = 5
READ_SIZE = 65536
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
NOT_FETCHED = "the image could not be fetched"
ONLY_HTTP = "only http and https image URLs can be fetched"
NOT_PLAIN = (
    "the image URL is not in plain form (no user name or password, backslash, whitespace, "
    "control character, percent-escape or non-ASCII character in the host)"
)
_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
_UNPLAIN = re.compile(r"[\x00-\x20\x7f\\]|\s")  # controls, space, backslash, any whitespace
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a site's own translator


class _Unreachable(Exception):
    """No connection to one address: the next checked one is tried."""


class FetchFailed(ImageError):
    """A failure that depends on the network or on what the remote answered: the client only
    ever sees NOT_FETCHED, `detail` is for the log."""

    def __init__(self, detail: str) -> None:
        super().__init__(NOT_FETCHED)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Target:
    """One parsed image URL, the only reading of it anything here uses."""

    url: str  # as parsed (normalised, without fragment): what redirects are resolved against
    scheme: str
    host: str  # lower-case; an IPv6 literal without brackets
    port: int
    authority: str  # the Host header: host[:port] as the URL gives them
    request_uri: str  # path and query

    @property
    def shown(self) -> str:
        """The URL for the log, without its query (which may hold a signature)."""
        return f"{self.scheme}://{self.authority}{self.request_uri.split('?', 1)[0]}"


def parse_image_url(url: str) -> Target:
    """The URL's one reading; ImageError (ONLY_HTTP or NOT_PLAIN) for anything else."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise ImageError(ONLY_HTTP)
    if _UNPLAIN.search(url):
        raise ImageError(NOT_PLAIN)
    try:
        parsed = parse_url(url)
    except (LocationParseError, ValueError):
        raise ImageError(NOT_PLAIN) from None
    raw_authority = re.match(r"[^/?#]*", rest)
    host = parsed.host or ""
    if (
        parsed.auth is not None
        or raw_authority is None
        or raw_authority.group().lower() != (parsed.netloc or "")
        or parsed.port == 0
        or not _plain_host(host)
    ):
        raise ImageError(NOT_PLAIN)
    scheme = parsed.scheme or ""
    return Target(
        url=parsed._replace(fragment=None).url,
        scheme=scheme,
        host=host.strip("[]"),
        port=parsed.port or (443 if scheme == "https" else 80),
        authority=parsed.netloc or "",
        request_uri=parsed.request_uri,
    )


def _plain_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])  # refuses zone ids ("%eth0") too
        except ValueError:
            return False
        return True
    return bool(_HOST.fullmatch(host))


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order, each once. The only name
    resolution of a fetch (module-level so tests can substitute a resolver)."""
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and is routed to: v4-mapped (::ffff:a.b.c.d),
    6to4 (2002:aabb:ccdd::/48), NAT64 (64:ff9b::a.b.c.d) or v4-compatible (::a.b.c.d, which
    includes :: and ::1 as 0.0.0.0 and 0.0.0.1: never public either)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if int(ip) >> 32 == 0 or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses: not loopback, private, link-local
    (cloud metadata at 169.254.169.254), shared, multicast, reserved or unspecified, and for
    an IPv6 address that embeds an IPv4 one, only when the embedded address is public."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        ip = embedded_ipv4(ip) or ip
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def proxy_for(setting: ProxySetting, url: str) -> str | None:
    """The proxy a fetch of `url` goes through, as the upstream calls choose it: none, the
    configured URL, or the environment's (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) for `system`."""
    if setting.mode == "none":
        return None
    if setting.mode == "url":
        return setting.url
    return requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url)) or None


def certificate_authorities(setting: ProxySetting) -> dict[str, str]:
    """Where the trusted CAs are: certifi's bundle, as requests uses; with the `system` setting
    also REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, as a requests session trusting the environment."""
    location = certifi.where()
    if setting.mode == "system":
        location = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or location
    return {"ca_cert_dir": location} if os.path.isdir(location) else {"ca_certs": location}


class ImageFetcher:
    def __init__(self, proxies: ProxySetting, *, allow_private: bool, max_bytes: int, timeout: float) -> None:
        self._proxies = proxies
        self._allow_private = allow_private
        self._max_bytes = max_bytes
        self._timeout = timeout

    def fetch(self, url: str, budget: ByteBudget | None = None) -> Image:
        """The image at `url`: at most IMAGE_MAX_BYTES, within `budget` (the request's bytes,
        taken as they arrive), and an image (app/cursor/images.py). Raises ImageError: ONLY_HTTP
        or NOT_PLAIN for the URL's form, FetchFailed (NOT_FETCHED) for everything the network
        or the answer decides, and the budget's OverBudget once the request is over its total."""
        target = parse_image_url(url)
        first = target
        deadline = time.monotonic() + self._timeout
        try:
            for _ in range(MAX_REDIRECTS + 1):
                answer = self._hop(target, deadline, budget)
                if isinstance(answer, bytes):
                    try:
                        return inspect_image(answer)
                    except ImageError as unusable:
                        raise FetchFailed(f"the answer is not a usable image: {unusable}") from None
                try:
                    target = parse_image_url(urljoin(target.url, answer))
                except ImageError as refused:
                    raise FetchFailed(f"redirect to {answer[:200]!r} refused: {refused}") from None
            raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
        except FetchFailed as failure:
            hop = "" if target is first else f" (at {target.shown})"
            log.warning("image %s not fetched%s: %s", first.shown, hop, failure.detail)
            raise

    def _checked_addresses(self, target: Target) -> list[str]:
        try:
            addresses = resolve(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise FetchFailed(f"the host {target.host} cannot be resolved ({exc})") from None
        if not addresses:
            raise FetchFailed(f"the host {target.host} resolves to no address")
        if not self._allow_private:
            refused = [address for address in addresses if not is_public_address(address)]
            if refused:
                raise FetchFailed(
                    f"the host {target.host} resolves to {', '.join(refused)}: not a public address "
                    "(IMAGE_FETCH_ALLOW_PRIVATE allows it)"
                )
        return addresses

    def _hop(self, target: Target, deadline: float, budget: ByteBudget | None) -> bytes | str:
        """One GET: the body, or the Location of a redirect."""
        addresses = self._checked_addresses(target)
        proxy = proxy_for(self._proxies, target.url)
        if proxy is not None and target.scheme == "http" and not _is_socks(proxy):
            candidates: list[str | None] = [None]  # a forwarding proxy: by name (see the module doc)
        else:
            candidates = list(addresses)
        failures = []
        for address in candidates:
            try:
                with self._exchange(target, address, proxy, deadline) as response:
                    return self._answer(response, deadline, budget)
            except _Unreachable as unreachable:
                failures.append(str(unreachable))
        raise FetchFailed("; ".join(failures))

    @contextmanager
    def _exchange(
        self, target: Target, address: str | None, proxy: str | None, deadline: float
    ) -> Iterator[urllib3.BaseHTTPResponse]:
        """The response to a GET sent to `address` (None: by name, through a forwarding proxy),
        on a connection of its own, closed on leaving. _Unreachable when no connection could
        be made (the caller tries the next checked address)."""
        left = max(deadline - time.monotonic(), 0.001)
        timeout = urllib3.Timeout(connect=left, read=left)
        headers = {"Host": target.authority, "Accept-Encoding": "identity"}
        tls: dict[str, Any] = {}
        if target.scheme == "https":
            tls = {"server_hostname": target.host, "assert_hostname": target.host, "cert_reqs": "CERT_REQUIRED"}
            tls.update(certificate_authorities(self._proxies))
        manager: urllib3.PoolManager | None = None
        pool: urllib3.HTTPConnectionPool
        if proxy is None:
            assert address is not None
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    address, target.port, timeout=timeout, maxsize=1, retries=False, **tls
                )
            else:
                pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, maxsize=1, retries=False)
        else:
            manager = _proxy_manager(proxy, timeout)
            pool = manager.connection_from_host(address or target.host, target.port, target.scheme, pool_kwargs=tls)
        response: urllib3.BaseHTTPResponse | None = None
        try:
            try:
                response = pool.urlopen(
                    "GET",
                    target.url if address is None else target.request_uri,
                    headers=headers,
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,
                    decode_content=False,
                    timeout=timeout,
                )
            except ConnectTimeoutError as exc:  # NewConnectionError included
                raise _Unreachable(f"cannot connect to {address or target.host}: {exc}") from None
            except (HTTPError, OSError, http.client.HTTPException, ValueError) as exc:
                raise FetchFailed(f"request to {address or target.host} failed: {exc!r}") from None
            yield response
        finally:
            if response is not None:
                response.close()
            pool.close()
            if manager is not None:
                manager.clear()

    def _answer(self, response: urllib3.BaseHTTPResponse, deadline: float, budget: ByteBudget | None) -> bytes | str:
        status = response.status
        if status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            if not location:
                raise FetchFailed(f"HTTP {status} without a Location")
            return location
        if not 200 <= status < 300:
            raise FetchFailed(f"HTTP {status}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise FetchFailed(f"announces {declared} bytes, more than IMAGE_MAX_BYTES ({self._max_bytes})")
        if declared.isdigit() and budget is not None:
            budget.check(int(declared))
        return self._read(response, deadline, budget)

    def _read(self, response: urllib3.BaseHTTPResponse, deadline: float, budget: ByteBudget | None) -> bytes:
        """The body, read as it arrives and stopped as soon as a limit is passed. One copy:
        BytesIO hands its buffer over without copying it."""
        body = io.BytesIO()
        size = 0
        sock = getattr(getattr(response, "connection", None), "sock", None)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchFailed("took longer than IMAGE_FETCH_TIMEOUT")
            if sock is not None:
                sock.settimeout(left)
            try:
                chunk = response.read1(READ_SIZE, decode_content=False)
            except (HTTPError, OSError, http.client.HTTPException, ValueError) as exc:
                raise FetchFailed(f"reading the body failed: {exc!r}") from None
            if not chunk:
                return body.getvalue()
            size += len(chunk)
            if size > self._max_bytes:
                raise FetchFailed(f"more than IMAGE_MAX_BYTES ({self._max_bytes})")
            if budget is not None:
                budget.take(len(chunk))
            body.write(chunk)


def _is_socks(proxy: str) -> bool:
    return urlsplit(proxy).scheme.lower().startswith("socks")


def _proxy_manager(proxy: str, timeout: urllib3.Timeout) -> urllib3.PoolManager:
    if _is_socks(proxy):
        from urllib3.contrib.socks import SOCKSProxyManager

        return SOCKSProxyManager(proxy, num_pools=1, timeout=timeout, retries=False)
    return urllib3.ProxyManager(proxy, num_pools=1, timeout=timeout, retries=False)
