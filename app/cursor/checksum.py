"""The `x-cursor-checksum` header and its timestamp header (PROTOCOL §5.1–5.3).

A checksum is `tsheader(8) + device_hash(64 hex) [+ "/" + mac_hash(64 hex)]`. The hashes
identify a "machine" and must stay stable per token; only the timestamp header changes, every
1000 seconds.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import time
from typing import Callable

_SEED = 165
_HEX64 = r"[0-9a-fA-F]{64}"
_CHECKSUM_CHARS = re.compile(r"[A-Za-z0-9+/=]*")
_VALID_SHORT = re.compile(rf".{{8}}{_HEX64}", re.S)
_VALID_LONG = re.compile(rf".{{8}}{_HEX64}/{_HEX64}", re.S)
_LEGACY = re.compile(rf"{_HEX64}/{_HEX64}")


def kiloseconds(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 1000)


def tsheader(now: float | None = None) -> str:
    """8 characters encoding floor(now / 1000), obfuscated by chained XOR/add (pitfall P1)."""
    ks = kiloseconds(now)
    plain = [(ks >> 8) & 0xFF, ks & 0xFF, (ks >> 24) & 0xFF, (ks >> 16) & 0xFF, (ks >> 8) & 0xFF, ks & 0xFF]
    previous = _SEED
    obfuscated = bytearray()
    for index, byte in enumerate(plain):
        previous = ((byte ^ previous) + index) % 256  # chained on the output byte
        obfuscated.append(previous)
    return base64.b64encode(bytes(obfuscated)).decode("ascii")


def decode_tsheader(header: str) -> int | None:
    """The kiloseconds a timestamp header encodes, or None when it is not one. The URL-safe
    alphabet is accepted too, as later Cursor clients use it (PROTOCOL Appendix D)."""
    if len(header) != 8:
        return None
    try:
        data = base64.b64decode(header.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(data) != 6:
        return None
    previous = _SEED
    plain = []
    for index, byte in enumerate(data):
        plain.append(((byte - index) % 256) ^ previous)
        previous = byte  # chained on the input byte
    if plain[0] != plain[4] or plain[1] != plain[5]:
        return None
    return plain[2] << 24 | plain[3] << 16 | plain[4] << 8 | plain[5]


def hash_of(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def random_hash() -> str:
    """A fresh opaque machine hash: SHA-256 of 32 random bytes, lower-case hex."""
    return hash_of(os.urandom(32))


def build_checksum(device_hash: str, mac_hash: str | None = None, now: float | None = None) -> str:
    suffix = f"/{mac_hash}" if mac_hash else ""
    return f"{tsheader(now)}{device_hash}{suffix}"


def is_valid_checksum(checksum: str) -> bool:
    """Acceptable for authentication: 72 or 137 characters with a decodable timestamp header
    (its time is not compared with now). The 129-character legacy form is repairable only."""
    if not _CHECKSUM_CHARS.fullmatch(checksum):
        return False
    if not (_VALID_SHORT.fullmatch(checksum) or _VALID_LONG.fullmatch(checksum)):
        return False
    return decode_tsheader(checksum[:8]) is not None


def repair_checksum(checksum: str, now: float | None = None, new_hash: Callable[[], str] = random_hash) -> str:
    """Keep the hashes, put a current timestamp header in front; 137 characters always.
    A 72-character input gains a new MAC hash; anything unusable becomes a new checksum."""
    header = tsheader(now)
    if _CHECKSUM_CHARS.fullmatch(checksum):
        if _VALID_LONG.fullmatch(checksum):
            return f"{header}{checksum[8:]}"
        if _LEGACY.fullmatch(checksum):
            return f"{header}{checksum}"
        if _VALID_SHORT.fullmatch(checksum):
            return f"{header}{checksum[8:]}/{new_hash()}"
    mac_hash = new_hash()  # drawn first, as rc4 does (the repair vectors pin the order)
    return f"{header}{new_hash()}/{mac_hash}"


def with_fresh_tsheader(checksum: str, now: float | None = None) -> str:
    """The stored checksum as it is sent now (equivalent to rc4's periodic refresh)."""
    return tsheader(now) + checksum[8:]


def checksum_kiloseconds(checksum: str) -> int | None:
    return decode_tsheader(checksum[:8])
