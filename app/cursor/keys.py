"""Dynamic API keys (PROTOCOL §7): a token, its device hashes and per-key options packed into
one self-contained bearer, byte-compatible with keys issued by the reference.

Key = prefix + custom base64 (alphabet a–z A–Z 0–9 - _, no padding) of a `key.KeyConfig`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from app.cursor.checksum import tsheader
from app.cursor.proto import key_pb2
from app.cursor.session_token import AUDIENCE, ISSUER, JWT_HEADER, SCOPE, parse_claims

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
ASSUMED_LIFETIME = 2592000000  # rc4 stores no `time`; it assumes exp - time is 30 000 days
USAGE_DEFAULT, USAGE_DISABLED, USAGE_ALL, USAGE_CUSTOM = range(4)
_VALID = frozenset(ALPHABET)


def encode_key_base64(data: bytes) -> str:
    """URL-safe base64 without padding, with letter case swapped: the reference's alphabet."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=").swapcase()


def decode_key_base64(text: str) -> bytes | None:
    """The bytes of a custom-base64 text, or None: a bearer is untrusted input, so anything the
    reference would refuse (empty, 4n+1 characters, foreign characters) is refused here too."""
    if not text or len(text) % 4 == 1 or not _VALID.issuperset(text):
        return None
    try:
        return base64.urlsafe_b64decode(text.swapcase() + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class KeyOptions:
    """Per-key overrides; None means the field is absent and the global setting applies."""

    disable_vision: bool | None = None
    enable_slow_pool: bool | None = None
    include_web_references: bool | None = None
    usage_check: tuple[int, tuple[str, ...]] | None = None  # (type, model ids)


@dataclass(frozen=True, slots=True)
class DecodedKey:
    """What a key stands for: the rebuilt session token, a checksum with a fresh timestamp
    header (keys outlive the header's validity), and the key's own option overrides."""

    token: str
    checksum: str
    options: KeyOptions


def build_key(token: str, checksum: str, options: KeyOptions, prefix: str = "sk-") -> str:
    """The key for a valid token and its repaired 137-character checksum."""
    claims = parse_claims(token)
    if claims is None or len(checksum) != 137:
        raise ValueError("build_key needs a valid token and a repaired checksum")
    config = key_pb2.KeyConfig()
    info = config.auth_token
    info.sub, info.exp, info.randomness = claims.sub, claims.exp, claims.randomness
    info.signature = token.split(".")[2]
    info.machine_id = bytes.fromhex(checksum[8:72])
    info.mac_id = bytes.fromhex(checksum[73:137])
    for field in ("disable_vision", "enable_slow_pool", "include_web_references"):
        value = getattr(options, field)
        if value is not None:
            setattr(config, field, value)  # an explicit false is written (proto3 optional)
    if options.usage_check is not None:
        kind, models = options.usage_check
        config.usage_check_models.SetInParent()  # present even for TYPE_DEFAULT
        config.usage_check_models.type = kind  # type: ignore[assignment]  # an enum value
        if kind == USAGE_CUSTOM:
            config.usage_check_models.model_ids.extend(models)
    return prefix + encode_key_base64(config.SerializeToString())


def _rebuilt_token(info: key_pb2.KeyConfig.TokenInfo) -> str:
    payload = {
        "sub": info.sub, "time": str(info.exp - ASSUMED_LIFETIME), "randomness": info.randomness,
        "exp": info.exp, "iss": ISSUER, "scope": SCOPE, "aud": AUDIENCE,
    }  # fmt: skip
    encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{JWT_HEADER}.{encoded}.{info.signature}"


def decode_key(key: str, prefix: str = "sk-", now: float | None = None) -> DecodedKey | None:
    """The token, a checksum with a current header, and the options of a key; None for
    anything that is not one of our keys."""
    if not key.startswith(prefix):
        return None
    raw = decode_key_base64(key[len(prefix) :])
    if raw is None:
        return None
    try:
        config = key_pb2.KeyConfig.FromString(raw)
    except DecodeError:
        return None
    if not config.HasField("auth_token"):
        return None
    info = config.auth_token
    checksum = tsheader(now) + info.machine_id.hex() + (f"/{info.mac_id.hex()}" if info.mac_id else "")
    usage = None
    if config.HasField("usage_check_models"):
        usage = (config.usage_check_models.type, tuple(config.usage_check_models.model_ids))
    options = KeyOptions(
        disable_vision=config.disable_vision if config.HasField("disable_vision") else None,
        enable_slow_pool=config.enable_slow_pool if config.HasField("enable_slow_pool") else None,
        include_web_references=config.include_web_references if config.HasField("include_web_references") else None,
        usage_check=usage,
    )
    return DecodedKey(_rebuilt_token(info), checksum, options)
