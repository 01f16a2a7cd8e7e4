"""Fetching image URLs without becoming a way into the operator's network (SSRF).

Only http and https; the host of every hop (each redirect is followed by hand) must resolve to
public addresses only, unless IMAGE_FETCH_ALLOW_PRIVATE is on; a size and a time limit apply.
Known limit: the address is checked, then connected to by name, so a DNS answer that changes
between the two (rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

from app.cursor.client import CursorClient
from app.cursor.images import ImageError

MAX_REDIRECTS = 5


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (module-level so tests can substitute a resolver)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses: not loopback, private, link-local
    (cloud metadata at 169.254.169.254), shared, multicast, reserved or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class ImageFetcher:
    def __init__(self, client: CursorClient, *, allow_private: bool, max_bytes: int, timeout: float) -> None:
        self._client = client
        self._allow_private = allow_private
        self._max_bytes = max_bytes
        self._timeout = timeout

    def fetch(self, url: str) -> bytes:
        """The body at `url`; ImageError saying why when the URL may not or cannot be fetched."""
        for _ in range(MAX_REDIRECTS + 1):
            self._check(url)
            status, location, body = self._client.fetch_once(url, max_bytes=self._max_bytes, timeout=self._timeout)
            if location is None:
                if status >= 400:
                    raise ImageError(f"the image URL answered HTTP {status}")
                if len(body) > self._max_bytes:
                    raise ImageError(f"image is larger than {self._max_bytes} bytes")
                return body
            url = urljoin(url, location)
        raise ImageError(f"more than {MAX_REDIRECTS} redirects")

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImageError("only http and https image URLs can be fetched")
        if self._allow_private:
            return
        try:
            addresses = resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except (OSError, UnicodeError):
            raise ImageError(f"the host {parts.hostname} cannot be resolved") from None
        if not addresses or not all(is_public_address(address) for address in addresses):
            raise ImageError(
                f"the host {parts.hostname} is not a public address (set IMAGE_FETCH_ALLOW_PRIVATE to allow it)"
            )
