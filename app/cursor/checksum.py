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
from collections.abc import Callable

_SEED = 165
# Hex digits and "/" are inside the base64 alphabet, so these shapes also enforce §5.2's
# "every character in [A-Za-z0-9+/=]". The first 8 characters are shape-checked only here.
_HEADER = r"[A-Za-z0-9+/=]{8}"
_HEX64 = r"[0-9a-fA-F]{64}"
_SHORT = re.compile(_HEADER + _HEX64)  # 72 characters
_LONG = re.compile(_HEADER + _HEX64 + "/" + _HEX64)  # 137 characters
_LEGACY = re.compile(_HEX64 + "/" + _HEX64)  # 129 characters: no header, repairable only


def kiloseconds(now: float | None = None) -> int:
    """floor(unix seconds / 1000): the unit of the timestamp header."""
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
    if plain[0] != plain[4] or plain[1] != plain[5]:  # the redundancy that makes it checkable
        return None
    return plain[2] << 24 | plain[3] << 16 | plain[4] << 8 | plain[5]


def hash_of(seed: bytes) -> str:
    """Lower-case hex SHA-256: how machine hashes are made from random seeds."""
    return hashlib.sha256(seed).hexdigest()


def random_hash() -> str:
    """A fresh opaque machine hash: SHA-256 of 32 random bytes (PROTOCOL §5.3)."""
    return hash_of(os.urandom(32))


def build_checksum(device_hash: str, mac_hash: str | None = None, now: float | None = None) -> str:
    """The 137-character form, or the 72-character one when there is no MAC hash."""
    suffix = f"/{mac_hash}" if mac_hash else ""
    return f"{tsheader(now)}{device_hash}{suffix}"


def is_valid_checksum(checksum: str) -> bool:
    """Acceptable for authentication: 72 or 137 characters with a decodable timestamp header
    (its time is not compared with now). The 129-character legacy form is repairable only."""
    if not (_SHORT.fullmatch(checksum) or _LONG.fullmatch(checksum)):
        return False
    return decode_tsheader(checksum[:8]) is not None


def repair_checksum(checksum: str, now: float | None = None, new_hash: Callable[[], str] = random_hash) -> str:
    """Keep the hashes, put a current timestamp header in front; 137 characters always
    (PROTOCOL §5.2 table). A 72-character input gains a new MAC hash; anything unusable becomes
    a new checksum. The old header is not checked: repairing is how a stale one is replaced."""
    header = tsheader(now)
    if _LONG.fullmatch(checksum):
        return header + checksum[8:]
    if _LEGACY.fullmatch(checksum):
        return header + checksum
    if _SHORT.fullmatch(checksum):
        return f"{header}{checksum[8:]}/{new_hash()}"
    mac_hash = new_hash()  # drawn before the device hash, as rc4 does (the vectors pin the order)
    return f"{header}{new_hash()}/{mac_hash}"


def with_fresh_tsheader(checksum: str, now: float | None = None) -> str:
    """The stored checksum as it is sent now (equivalent to rc4's periodic refresh)."""
    return tsheader(now) + checksum[8:]


def checksum_kiloseconds(checksum: str) -> int | None:
    """The time in a checksum's header, or None when the header does not decode."""
    return decode_tsheader(checksum[:8])
