"""Who is calling: the admin, a shared-token user, or someone bringing their own token.

Chat bearers are classified in SPEC §5.2's order. Secret comparisons are constant-time. Error
messages never repeat the bearer value.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from app import errors
from app.cursor.checksum import is_valid_checksum, repair_checksum
from app.cursor.keys import KeyOptions, decode_key
from app.cursor.session_token import parse_claims, split_token_and_checksum, strip_token_prefix, validate_token
from app.services.runtime_config import RuntimeConfig
from app.services.token_pool import NoUsableToken, TokenPool
from app.settings import Settings

BEARER_PREFIX = "Bearer "


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


class Authenticator:
    def __init__(self, settings: Settings, admin_token: str, pool: TokenPool) -> None:
        self._settings = settings
        self._admin_token = admin_token
        self._pool = pool

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
        return self.direct_credential(bearer)

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
