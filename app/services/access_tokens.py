"""Cursor API keys (`crsr_…`) as credentials (D26, PROTOCOL_AGENT §8): a key is exchanged for a
session token once and the token kept in the store until near its expiry, so many chats, on
every worker and instance, share one exchange. Any other credential is its own access token."""

from __future__ import annotations

import hashlib
import time

from app.cursor.agent.api_keys import exchange_api_key
from app.cursor.errors import CursorError, UpstreamError
from app.cursor.session_token import is_api_key
from app.errors import ApiError
from app.settings import ProxySetting
from app.store import Store

EXCHANGED_KEY = "exchanged-token:"
RENEW_BEFORE_SECONDS = 3600  # exchange again an hour before the token expires


class AccessTokens:
    def __init__(self, store: Store, clients, api2_base_url: str, timeout: float) -> None:
        self._store = store
        self._clients = clients
        self._base_url = api2_base_url
        self._timeout = timeout

    def access_token(self, credential: str, proxies: ProxySetting) -> str:
        """The session token to send for `credential`. Raises ApiError 401 when Cursor refuses
        a key, 502 when the exchange fails otherwise."""
        if not is_api_key(credential):
            return credential
        # The store holds a digest, never the key itself.
        key = EXCHANGED_KEY + hashlib.sha256(credential.encode()).hexdigest()
        cached = self._store.get(key)
        if cached and cached["expires_at"] - RENEW_BEFORE_SECONDS > time.time():
            return cached["access_token"]
        try:
            exchanged = exchange_api_key(self._clients.get(proxies).session, self._base_url, credential, self._timeout)
        except UpstreamError as exc:
            status = 401 if exc.http_status == 401 else 502
            raise ApiError(status, "api_key_exchange_failed", exc.detail or exc.label) from None
        except CursorError as exc:
            raise ApiError(502, "api_key_exchange_failed", f"Cursor API key exchange failed: {exc}") from None
        self._store.put(key, {"access_token": exchanged.access_token, "expires_at": exchanged.expires_at})
        return exchanged.access_token
