"""Image checks without an imaging library (PROTOCOL §3.6, SPEC §6.7, decision D23).

The format is decided by the bytes, never by a declared type (stricter than rc4 on purpose:
an allowed image we cannot use is a 400, not something silently forwarded); dimensions come
from the headers; a GIF is walked block by block to count its frames (animated GIFs are
refused). Every refusal is an ImageError whose message is a short reason for the client.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable

from app.cursor.messages import Image

_DATA_URL_TYPES = ("png", "jpeg", "jpg", "webp", "gif")
_INT32_MAX = 2**31 - 1  # ImageProto.Dimension fields are int32
# SOFn frame headers carry the size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RST0-7, SOI: bare markers
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9
_GIF_EXTENSION, _GIF_IMAGE, _GIF_TRAILER = 0x21, 0x2C, 0x3B

Size = tuple[int, int]


class ImageError(ValueError):
    """Why an image cannot be used, in a few words for the client."""


def data_url_size(url: str, max_bytes: int) -> int:
    """The number of bytes a `data:image/…;base64,…` URL decodes to, worked out from the length
    of its text without decoding it; ImageError when it is not such a URL or decodes to more
    than `max_bytes`."""
    start = _base64_start(url)
    length = len(url) - start
    padding = (url.endswith("=") + url.endswith("==")) if length else 0
    size = length // 4 * 3 - padding if length % 4 == 0 else length * 3 // 4
    if size > max_bytes:
        raise ImageError(f"image is larger than {max_bytes} bytes")
    return size


def _base64_start(url: str) -> int:
    """Where the base64 text of a data URL starts (just after its only "base64,")."""
    marker = url.find("base64,")
    if marker < 0 or url.find("base64,", marker + 1) >= 0:
        raise ImageError("not a base64 data URL")
    declared = url[:marker].lower()
    if not any(kind in declared for kind in _DATA_URL_TYPES):
        raise ImageError("unsupported image type (use png, jpeg, webp or gif)")
    return marker + len("base64,")


def decode_data_url(url: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of a `data:image/…;base64,…` URL and its declared prefix (lower-cased).

    The size is checked on the encoded text first, so a huge string is refused before any
    decoding work. Base64 must be canonical (padding present and exact, no stray trailing
    bits), as rc4's decoder demands.
    """
    size = data_url_size(url, max_bytes)
    start = _base64_start(url)
    data = _strict_b64decode(url[start:])
    if len(data) != size or len(data) > max_bytes:
        raise ImageError("not valid base64")
    return data, url[: start - len("base64,")].lower()


def _strict_b64decode(encoded: str) -> bytes:
    """Canonical base64 only, decoded once and never re-encoded whole: strict mode refuses
    foreign characters, missing padding and data after it; what it still accepts, extra
    padding (`AAAA=`) and stray bits before the padding (`AB==`), is refused by the length
    and by re-encoding the last quantum alone."""
    if len(encoded) % 4:
        raise ImageError("not valid base64")
    try:
        data = binascii.a2b_base64(encoded, strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise ImageError("not valid base64") from None
    padding = encoded.endswith("=") + encoded.endswith("==")
    if padding and base64.b64encode(data[-(3 - padding) :]) != encoded[-4:].encode("ascii"):
        raise ImageError("not valid base64")
    return data


def sniff_format(data: bytes) -> str | None:
    """The format named by the magic bytes: "png", "jpeg", "webp" or "gif"; None for anything
    else (which Cursor's models would not accept either)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _png_size(data: bytes) -> Size | None:
    """IHDR is always the first chunk: width and height at offset 16."""
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _jpeg_size(data: bytes) -> Size | None:
    """Walk the marker segments after SOI to the first SOFn frame header. Reaching the scan
    data or the end first means there is no size to read."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
        elif marker in _JPEG_NO_LENGTH:
            position += 2
        elif marker in (_JPEG_SOS, _JPEG_EOI):
            return None
        elif marker in _JPEG_SOF:
            if position + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        else:
            (length,) = struct.unpack(">H", data[position + 2 : position + 4])
            position += 2 + length
    return None


def _webp_size(data: bytes) -> Size | None:
    """The first chunk after `WEBP` decides: lossy `VP8 ` (14-bit sizes after the start code),
    lossless `VP8L` (14-bit sizes minus one after the 0x2F signature) or extended `VP8X`
    (24-bit canvas sizes minus one)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _color_table_bytes(flags: int) -> int:
    """Size of the colour table announced by a packed-fields byte (0 when there is none)."""
    return 3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0


def _skip_sub_blocks(data: bytes, position: int) -> int:
    """Position after a chain of length-prefixed sub-blocks ending with a zero-length one."""
    while True:
        if position >= len(data):
            raise ImageError("corrupt GIF")
        size = data[position]
        position += 1 + size
        if size == 0:
            return position


def gif_frame_count(data: bytes) -> int:
    """Image descriptors in a GIF, found by walking its blocks. A byte search for 0x2C would
    also count commas inside pixel data and comments."""
    if len(data) < 13:
        raise ImageError("corrupt GIF")
    position = 13 + _color_table_bytes(data[10])  # header, logical screen, global colour table
    frames = 0
    while position < len(data):
        introducer = data[position]
        if introducer == _GIF_TRAILER:
            return frames
        if introducer == _GIF_EXTENSION:  # introducer, label, then sub-blocks
            position = _skip_sub_blocks(data, position + 2)
        elif introducer == _GIF_IMAGE:  # descriptor, local colour table, LZW code size, sub-blocks
            if position + 10 > len(data):
                raise ImageError("corrupt GIF")
            position += 10 + _color_table_bytes(data[position + 9])
            position = _skip_sub_blocks(data, position + 1)
            frames += 1
        else:
            raise ImageError("corrupt GIF")
    raise ImageError("corrupt GIF")


def _single_frame_gif_size(data: bytes) -> Size:
    """The logical screen of a GIF with exactly one frame; ImageError for any other GIF."""
    frames = gif_frame_count(data)
    if frames == 0:
        raise ImageError("GIF contains no image")
    if frames > 1:
        raise ImageError("animated GIF is not supported")
    return struct.unpack("<HH", data[6:10])


_SIZE_READERS: dict[str, Callable[[bytes], Size | None]] = {
    "png": _png_size,
    "jpeg": _jpeg_size,
    "webp": _webp_size,
    "gif": _single_frame_gif_size,
}


def _sendable(size: Size | None) -> Size | None:
    """Header values that are zero or beyond int32 are not real sizes; such an image goes
    without dimensions, as rc4 sends one it cannot decode."""
    if size is None or not all(0 < side <= _INT32_MAX for side in size):
        return None
    return size


def inspect_image(data: bytes) -> Image:
    """The image with its dimensions when they can be read; ImageError when it is not a PNG,
    JPEG, WebP or single-frame GIF."""
    kind = sniff_format(data)
    if kind is None:
        raise ImageError("unsupported image format (use png, jpeg, webp or gif)")
    size = _sendable(_SIZE_READERS[kind](data))
    if size is None:
        return Image(data)
    return Image(data, size[0], size[1])
