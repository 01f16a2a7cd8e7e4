"""Connect envelopes (PROTOCOL §2.1): 1 flag byte, u32be length, payload.

Flags: bit 0 = payload is gzip-compressed, bit 1 = end-of-stream (JSON payload). The other six
bits are reserved by Connect; a frame using them is skipped, as rc4 does.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from app.cursor.errors import ProtocolError

FLAG_COMPRESSED = 0x01
FLAG_END_STREAM = 0x02
RESERVED_FLAGS = 0xFF & ~(FLAG_COMPRESSED | FLAG_END_STREAM)
HEADER = struct.Struct(">BI")
MIB = 1024 * 1024


def encode_frame(payload: bytes, flags: int = 0) -> bytes:
    """One envelope around `payload` (the request body is exactly one, flags 0)."""
    return HEADER.pack(flags, len(payload)) + payload


@dataclass(frozen=True, slots=True)
class Frame:
    """One envelope as received; `payload` is already gunzipped when bit 0 was set."""

    flags: int
    payload: bytes

    @property
    def end_of_stream(self) -> bool:
        return bool(self.flags & FLAG_END_STREAM)


def gunzip_bounded(data: bytes | memoryview, limit: int) -> bytes:
    """Inflate exactly one gzip member without ever producing more than `limit` bytes, so a gzip
    bomb costs at most the limit in memory. Anything but one complete member is an error: a
    corrupted stream must be reported, not truncated silently (rc4 dropped such frames)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise ProtocolError(f"invalid gzip payload: {exc}") from None
    if not inflater.eof:
        # decompress() only stops short of the end of input when the output reached the cap.
        if len(inflated) == limit:
            raise ProtocolError(f"gzip payload exceeds the {limit}-byte limit once inflated")
        raise ProtocolError("truncated gzip payload")
    if inflater.unused_data:
        raise ProtocolError("unexpected bytes after the gzip member in one frame")
    return inflated


class FrameDecoder:
    """Turns a response body into frames, whatever the read sizes: a partial frame waits for
    the next `feed`. Frames with reserved flags are skipped as rc4 does, or refused with
    `strict_flags` (the agent generation, where only Connect's flags are expected).

    Consumed bytes are dropped once per `feed` (CPython deletes from the front of a bytearray
    without moving the rest), and payloads are copied once out of a memoryview, so 64 KiB reads
    of many small frames cost linear time. After a ProtocolError the body is broken: discard
    the decoder."""

    def __init__(
        self, max_frame_bytes: int = 16 * MIB, max_decompressed_bytes: int = 16 * MIB, *, strict_flags: bool = False
    ) -> None:
        if max_frame_bytes < 0 or max_decompressed_bytes < 1:
            # zlib reads a max_length of 0 as "unlimited", which would disable the bomb guard.
            raise ValueError("frame limits must be positive")
        self._max_frame = max_frame_bytes
        self._max_inflated = max_decompressed_bytes
        self._strict_flags = strict_flags
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame waiting for more data."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Every frame completed by `data`, in order."""
        self._buffer += data
        frames: list[Frame] = []
        offset = 0
        with memoryview(self._buffer) as view:
            while len(view) - offset >= HEADER.size:
                flags, length = HEADER.unpack_from(view, offset)
                if length > self._max_frame:
                    raise ProtocolError(f"frame of {length} bytes exceeds the {self._max_frame}-byte limit")
                start = offset + HEADER.size
                if start + length > len(view):
                    break
                offset = start + length
                frame = self._frame(flags, view[start:offset])
                if frame is not None:
                    frames.append(frame)
        del self._buffer[:offset]
        return frames

    def finish(self) -> None:
        """The body ended: anything still buffered is a truncated frame."""
        if self._buffer:
            raise ProtocolError(f"response ended inside a frame ({len(self._buffer)} bytes left over)")

    def _frame(self, flags: int, payload: memoryview) -> Frame | None:
        if flags & RESERVED_FLAGS and self._strict_flags:
            # e.g. a gRPC-Web trailer (0x80): skipping it would hide how the stream really ended.
            raise ProtocolError(f"frame with unsupported flags 0x{flags:02x}")
        if not payload:
            return Frame(flags, b"")  # rc4 classifies empty frames by length alone (ContentStart)
        if flags & RESERVED_FLAGS:
            return None  # a payload we cannot interpret: skipped, its length honoured
        if flags & FLAG_COMPRESSED:
            return Frame(flags, gunzip_bounded(payload, self._max_inflated))
        return Frame(flags, payload.tobytes())
