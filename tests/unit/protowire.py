"""A tiny protobuf wire reader for tests: fields by NUMBER, independent of any schema, so a test
can prove which field numbers the gateway's bytes use (names can be wrong in both places)."""

from __future__ import annotations

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


def fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """(number, wire type, value) of every top-level field, in wire order."""
    out: list[tuple[int, int, int | bytes]] = []
    offset = 0
    while offset < len(data):
        key, offset = _varint(data, offset)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == VARINT:
            value, offset = _varint(data, offset)
        elif wire_type == LENGTH_DELIMITED:
            length, offset = _varint(data, offset)
            value, offset = data[offset : offset + length], offset + length
        elif wire_type == FIXED64:
            value, offset = data[offset : offset + 8], offset + 8
        elif wire_type == FIXED32:
            value, offset = data[offset : offset + 4], offset + 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        out.append((number, wire_type, value))
    return out


def numbers(data: bytes) -> set[int]:
    return {number for number, _, _ in fields(data)}


def values(data: bytes, *path: int) -> list[int | bytes]:
    """Every value reached by following field numbers (repeated fields fan out)."""
    current: list[int | bytes] = [data]
    for number in path:
        current = [value for item in current if isinstance(item, bytes) for n, _, value in fields(item) if n == number]
    return current


def one(data: bytes, *path: int) -> int | bytes:
    found = values(data, *path)
    assert len(found) == 1, f"field path {path}: {len(found)} values"
    return found[0]


def text(data: bytes, *path: int) -> str:
    value = one(data, *path)
    assert isinstance(value, bytes)
    return value.decode("utf-8")


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field, for bytes our schema cannot build (unknown kinds, extra fields)."""
    return varint(number << 3 | LENGTH_DELIMITED) + varint(len(payload)) + payload
