"""Cursor session tokens: JWT shape, claims, validation, prefixes (PROTOCOL §5.4, SPEC §7.1).

The signature is never verified (it is Cursor's HS256 secret); validation is the reference's
structural check, so obviously wrong values are refused before they reach Cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass

JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
ISSUER = "https://authentication.cursor.sh"
SCOPE = "openid profile email offline_access"
AUDIENCE = "https://cursor.com"
_RANDOMNESS = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}")  # 18 characters
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The seven claims rc4 requires; `time` arrives as a string of digits and is kept as int."""

    sub: str
    time: int
    randomness: str
    exp: int
    iss: str
    scope: str
    aud: str

    @property
    def user_id(self) -> str:
        """`auth0|user_01X` → `user_01X`; the whole `sub` when it has no `|`."""
        parts = self.sub.split("|")
        return parts[1] if len(parts) > 1 else self.sub


def strip_token_prefix(value: str) -> str:
    """Keep what follows the last `:` or the last `%3A`, whichever ends later (cookie values
    are `user_…%3A%3A<jwt>`)."""
    colon = value.rfind(":") + 1
    encoded = value.rfind("%3A")
    encoded_end = encoded + 3 if encoded >= 0 else 0
    return value[max(colon, encoded_end) :]


def _decode_payload(segment: str) -> dict | None:
    """Base64url without padding (rc4 refuses `=`), UTF-8 JSON, an object."""
    if not _BASE64URL.fullmatch(segment):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: a bearer nesting JSON deeply
        return None
    return payload if isinstance(payload, dict) else None


def parse_claims(token: str) -> TokenClaims | None:
    """The claims when the token has the right shape (three parts, the fixed header, a payload
    with the seven keys of the right JSON types); no time or value checks."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != JWT_HEADER:
        return None
    payload = _decode_payload(parts[1])
    if payload is None:
        return None
    strings = ("sub", "time", "randomness", "iss", "scope", "aud")
    if not all(isinstance(payload.get(key), str) for key in strings):
        return None
    exp = payload.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        return None
    issued = payload["time"]
    if not (issued.isascii() and issued.isdigit()):  # a string of decimal digits, nothing else
        return None
    return TokenClaims(
        payload["sub"], int(issued), payload["randomness"], exp, payload["iss"], payload["scope"], payload["aud"]
    )


def token_expiry(token: str) -> int | None:
    """The `exp` claim of any three-part JWT, with none of parse_claims' shape checks: tokens
    Cursor issues (an exchanged API key's) are used as they come, and only their expiry matters."""
    parts = token.split(".")
    payload = _decode_payload(parts[1]) if len(parts) == 3 else None
    exp = payload.get("exp") if payload else None
    return exp if isinstance(exp, int) and not isinstance(exp, bool) else None


def validate_token(token: str, now: float | None = None) -> TokenClaims | None:
    """The claims when the token passes the reference's checks (SPEC §7.1), else None."""
    claims = parse_claims(token)
    if claims is None:
        return None
    now = time.time() if now is None else now
    if not (claims.time <= now <= claims.exp):
        return None
    if not _RANDOMNESS.fullmatch(claims.randomness):
        return None
    if (claims.iss, claims.scope, claims.aud) != (ISSUER, SCOPE, AUDIENCE):
        return None
    return claims


def split_token_and_checksum(value: str, delimiter: str = ",", comma_fallback: bool = True) -> tuple[str, str] | None:
    """Split `token<delimiter>checksum` at the last delimiter (a custom one falls back to the
    last comma when allowed); None when there is none. No prefix stripping here."""
    if not delimiter:
        raise ValueError("the token delimiter must not be empty")
    position = value.rfind(delimiter)
    if position < 0 and comma_fallback and delimiter != ",":
        delimiter, position = ",", value.rfind(",")
    if position < 0:
        return None
    return value[:position], value[position + len(delimiter) :]


def usage_cookie(token: str) -> str:
    """The web host's session cookie, written with a literal `%3A%3A` (pitfall P10). Callers
    pass validated tokens; an unparsable one gets an empty user id rather than an exception."""
    claims = parse_claims(token)
    user_id = claims.user_id if claims else ""
    return f"WorkosCursorSessionToken={user_id}%3A%3A{token}"


API_KEY_PREFIX = "crsr_"


def is_api_key(value: str) -> bool:
    """A Cursor API key (`crsr_…`): exchanged for a session token on the agent protocol (D26)."""
    return value.startswith(API_KEY_PREFIX)
