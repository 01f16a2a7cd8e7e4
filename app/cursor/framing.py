"""Connect envelopes (PROTOCOL §2.1): 1 flag byte, u32be length, payload.

Flags: bit 0 = payload is gzip-compressed, bit 1 = end-of-stream (JSON payload).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from app.cursor.errors import ProtocolError

FLAG_COMPRESSED = 0x01
FLAG_END_STREAM = 0x02
HEADER = struct.Struct(">BI")


def encode_frame(payload: bytes, flags: int = 0) -> bytes:
    """One envelope around `payload` (the request body is exactly one, flags 0)."""
    return HEADER.pack(flags, len(payload)) + payload

MIB = 1024 * 1024
_COMPACT_AT = 1 * MIB  # drop consumed bytes once this many piled up at the front


@dataclass(frozen=True, slots=True)
class Frame:
    flags: int
    payload: bytes  # already gunzipped when the compressed flag was set

    @property
    def end_of_stream(self) -> bool:
        return bool(self.flags & FLAG_END_STREAM)


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Decompress one gzip member without ever producing more than `limit` bytes, so a gzip
    bomb costs at most the limit in memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit)
        if inflater.unconsumed_tail:
            raise ProtocolError(f"gzip frame inflates beyond the {limit}-byte limit")
        out += inflater.flush()
    except zlib.error as exc:
        raise ProtocolError(f"invalid gzip frame: {exc}") from None
    if not inflater.eof:
        raise ProtocolError("truncated gzip frame")
    if inflater.unused_data:
        raise ProtocolError("unexpected bytes after the gzip data in a frame")
    return out


class FrameDecoder:
    """Turns a byte stream into frames, whatever the read sizes: partial frames wait for the
    next `feed`. Consumed bytes are dropped in bulk, so many small frames in a large read cost
    linear time."""

    def __init__(self, max_frame_bytes: int = 16 * MIB, max_decompressed_bytes: int = 16 * MIB) -> None:
        self._max_frame = max_frame_bytes
        self._max_inflated = max_decompressed_bytes
        self._buffer = bytearray()
        self._offset = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer) - self._offset

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        buffer, offset = self._buffer, self._offset
        while len(buffer) - offset >= HEADER.size:
            flags, length = HEADER.unpack_from(buffer, offset)
            if length > self._max_frame:
                raise ProtocolError(f"frame of {length} bytes exceeds the {self._max_frame}-byte limit")
            end = offset + HEADER.size + length
            if end > len(buffer):
                break
            payload = bytes(buffer[offset + HEADER.size:end])
            offset = end
            if flags & FLAG_COMPRESSED and payload:
                payload = gunzip_bounded(payload, self._max_inflated)
            frames.append(Frame(flags, payload))
        if offset >= _COMPACT_AT or offset == len(buffer):
            del buffer[:offset]
            offset = 0
        self._offset = offset
        return frames

    def finish(self) -> None:
        """The body ended: anything still buffered is a truncated frame."""
        if self.buffered:
            raise ProtocolError(f"response ended inside a frame ({self.buffered} bytes left over)")
