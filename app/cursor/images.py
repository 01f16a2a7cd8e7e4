"""Image checks without an imaging library (PROTOCOL §3.6, decision D23).

The format is decided by the bytes, never by a declared type; dimensions come from the
headers; a GIF is walked block by block to count its frames (animated GIFs are refused).
"""
from __future__ import annotations

import base64
import binascii
import struct

from app.cursor.messages import Image

_DATA_URL_TYPES = ("png", "jpeg", "jpg", "webp", "gif")


class ImageError(ValueError):
    """Why an image cannot be used, in a few words for the client."""


def decode_data_url(url: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of a `data:image/…;base64,…` URL and its declared prefix (lower-cased)."""
    pieces = url.split("base64,")
    if len(pieces) != 2:
        raise ImageError("not a base64 data URL")
    declared, encoded = pieces[0].lower(), pieces[1]
    if not any(kind in declared for kind in _DATA_URL_TYPES):
        raise ImageError("unsupported image type (use png, jpeg, webp or gif)")
    if len(encoded) > (max_bytes + 2) // 3 * 4:  # refuse before decoding a huge string
        raise ImageError(f"image is larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("not valid base64") from None
    if len(data) > max_bytes:
        raise ImageError(f"image is larger than {max_bytes} bytes")
    return data, declared


def sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if position + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width, height
        position += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while True:
        if position >= len(data):
            raise ImageError("corrupt GIF")
        size = data[position]
        position += 1 + size
        if size == 0:
            return position


def gif_frame_count(data: bytes) -> int:
    """Image descriptors in a GIF, found by walking its blocks (not by searching bytes)."""
    if len(data) < 13:
        raise ImageError("corrupt GIF")
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0)
    frames = 0
    while position < len(data):
        introducer = data[position]
        if introducer == 0x3B:  # trailer
            return frames
        if introducer == 0x21:  # extension: label, then sub-blocks
            position = _skip_sub_blocks(data, position + 2)
        elif introducer == 0x2C:  # image descriptor, optional local colour table, LZW data
            if position + 10 > len(data):
                raise ImageError("corrupt GIF")
            local = data[position + 9]
            position += 10 + (3 * 2 ** ((local & 0x07) + 1) if local & 0x80 else 0)
            position = _skip_sub_blocks(data, position + 1)  # +1: LZW minimum code size
            frames += 1
        else:
            raise ImageError("corrupt GIF")
    raise ImageError("corrupt GIF")


def inspect_image(data: bytes) -> Image:
    """The image with its dimensions when they can be read; ImageError when it is not a PNG,
    JPEG, WebP or single-frame GIF."""
    kind = sniff_format(data)
    if kind is None:
        raise ImageError("unsupported image format (use png, jpeg, webp or gif)")
    if kind == "gif":
        if gif_frame_count(data) > 1:
            raise ImageError("animated GIF is not supported")
        size = struct.unpack("<HH", data[6:10])
    else:
        size = {"png": _png_size, "jpeg": _jpeg_size, "webp": _webp_size}[kind](data)
    if size is None:
        return Image(data)
    return Image(data, size[0], size[1])
