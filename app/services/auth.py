"""Who is calling: the admin, a shared-token user, or someone bringing their own token.

Chat bearers are classified in SPEC §5.2's order. Secret comparisons are constant-time. Error
messages never repeat the bearer value.

Guessing is slow (issue #14 item 9): failed attempts at the admin or shared token are counted per
client address in the store, so every worker and every instance sharing it sees the same count;
past GUESS_LIMIT failures within GUESS_WINDOW_SECONDS the address gets 429 with Retry-After for
any such bearer, the right one included (else a 429 would tell a wrong guess from a right one),
until the window ends. A bearer that is a valid Cursor token or key is a user's own credential,
not a guess: it never counts and is never refused.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Literal

from app import errors
from app.cursor.checksum import is_valid_checksum, repair_checksum
from app.cursor.keys import KeyOptions, decode_key
from app.cursor.session_token import (
    is_api_key,
    parse_claims,
    split_token_and_checksum,
    strip_token_prefix,
    validate_token,
)
from app.services.runtime_config import RuntimeConfig
from app.services.token_pool import NoUsableToken, TokenPool
from app.settings import Settings
from app.store import Store

BEARER_PREFIX = "Bearer "
GUESS_LIMIT = 10
GUESS_WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class ChatCredential:
    """The Cursor token and checksum one chat request will use."""

    token: str
    checksum: str
    source: Literal["pool", "direct", "key"]
    key_options: KeyOptions | None = None  # a dynamic key's overrides of the global options


def bearer_value(header: str | None) -> str | None:
    """The part after the exact, case-sensitive `Bearer ` prefix; None means no credentials."""
    if header is None or not header.startswith(BEARER_PREFIX):
        return None
    return header[len(BEARER_PREFIX) :]


def secret_equals(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


class GuessLimiter:
    """Failed secret attempts per client address: a counter in the store that vanishes
    `window` seconds after the first failure (a fixed window: at most `limit` guesses per
    window and address, across all workers and instances). `limit` 0 turns it off."""

    def __init__(self, store: Store, limit: int = GUESS_LIMIT, window: float = GUESS_WINDOW_SECONDS) -> None:
        self._store = store
        self.limit = limit
        self._window = window

    @staticmethod
    def _key(client: str) -> str:
        return f"auth_failures:{client}"

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again; None when it may now."""
        if self.limit <= 0:
            return None
        failures, left = self._store.hits(self._key(client))
        return max(math.ceil(left), 1) if failures >= self.limit else None

    def failed(self, client: str) -> None:
        if self.limit > 0:
            self._store.hit(self._key(client), self._window)


class Authenticator:
    def __init__(
        self, settings: Settings, admin_token: str, pool: TokenPool, guesses: GuessLimiter | None = None
    ) -> None:
        self._settings = settings
        self._admin_token = admin_token
        self._pool = pool
        self.guesses = guesses

    def is_user_credential(self, bearer: str) -> bool:
        """A valid Cursor token (alone, with a checksum, or in a pasted form) or one of our keys:
        someone's own credential, never a guess at the gateway's secrets."""
        value = bearer.strip()
        if self.token_of(value) is not None:
            return True
        prefix = self._settings.key_prefix
        return value.startswith(prefix) and decode_key(value, prefix) is not None

    def is_admin(self, bearer: str | None) -> bool:
        return bearer is not None and secret_equals(bearer, self._admin_token)

    def is_pool_user(self, bearer: str, config: RuntimeConfig) -> bool:
        """Admin or (when sharing is on) the shared token: both draw from the pool."""
        share = config.share_token
        return self.is_admin(bearer) or (bool(share) and secret_equals(bearer, share))

    def chat_credential(self, header: str | None, config: RuntimeConfig) -> ChatCredential:
        bearer = bearer_value(header)
        if bearer is None:
            raise errors.unauthorized()
        if self.is_pool_user(bearer, config):
            try:
                picked = self._pool.next_token()
            except NoUsableToken as none:
                raise errors.no_usable_token(none.retry_after, none.reasons) from None
            if picked is None:
                raise errors.no_tokens()
            return ChatCredential(picked.token, picked.checksum, "pool")
        if config.enable_dynamic_key and bearer.startswith(self._settings.key_prefix):
            decoded = decode_key(bearer, self._settings.key_prefix)
            if decoded is None:
                raise errors.unauthorized()
            return ChatCredential(decoded.token, decoded.checksum, "key", decoded.options)
        if self._settings.cursor_protocol == "agent":
            agent_credential = self._agent_credential(bearer.strip())
            if agent_credential is not None:
                return agent_credential
        return self.direct_credential(bearer)

    def _agent_credential(self, bearer: str) -> ChatCredential | None:
        """What the agent protocol takes besides `token,checksum` (D26): a Cursor API key
        (`crsr_…`, exchanged for a session token), or a bare session token (no checksum is sent
        on that protocol)."""
        if is_api_key(bearer):
            return ChatCredential(bearer, "", "direct")
        if split_token_and_checksum(bearer, self._settings.token_delimiter, self._settings.use_comma_delimiter):
            return None  # token,checksum: the common path checks both parts
        token = strip_token_prefix(bearer)
        if parse_claims(token) is None:
            return None
        if validate_token(token) is None:
            raise errors.unauthorized("the session token has expired or is not valid yet; sign in to Cursor again")
        return ChatCredential(token, "", "direct")

    def token_of(self, value: str) -> str | None:
        """A valid token from `token` or `token<delimiter>checksum` (SPEC §5.3), or None."""
        parts = split_token_and_checksum(value, self._settings.token_delimiter, self._settings.use_comma_delimiter)
        token = strip_token_prefix(parts[0] if parts else value)
        return token if validate_token(token) is not None else None

    def direct_credential(self, bearer: str) -> ChatCredential:
        """`token<delimiter>checksum` (SPEC §5.2 step 4); the checksum used is the repaired one.
        Forms people paste also work: surrounding whitespace, a `user_…::` or `%3A%3A` cookie
        prefix, a whole `WorkosCursorSessionToken=…` cookie."""
        parts = split_token_and_checksum(
            bearer.strip(), self._settings.token_delimiter, self._settings.use_comma_delimiter
        )
        if parts is None:
            raise errors.unauthorized(
                f"expected the admin token, a key, or <token>{self._settings.token_delimiter}<checksum> "
                "(get a checksum from GET /get-checksum)"
            )
        token = strip_token_prefix(parts[0].strip())
        claims = parse_claims(token)
        if claims is None:
            raise errors.unauthorized("the token part is not a Cursor session token (a JWT starting with eyJ)")
        if validate_token(token) is None:
            raise errors.unauthorized("the session token has expired or is not valid yet; sign in to Cursor again")
        if not is_valid_checksum(parts[1].strip()):
            raise errors.unauthorized(
                "the checksum part is not a valid checksum (72 or 137 characters, see GET /get-checksum)"
            )
        return ChatCredential(token, repair_checksum(parts[1].strip()), "direct")
