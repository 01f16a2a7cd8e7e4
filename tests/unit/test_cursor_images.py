"""Image checks without an imaging library (PROTOCOL §3.6, decision D23)."""
from __future__ import annotations

import base64
import struct

import pytest

from app.cursor.images import ImageError, decode_data_url, gif_frame_count, inspect_image, sniff_format
from tests.api.test_chat_upstream import png

GIF_FRAME = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00"


def gif(frames: int, width: int = 7, height: int = 9) -> bytes:
    header = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00" * 6  # 2-colour table
    extension = b"\x21\xf9\x04\x00\x00\x00\x00\x00"
    return header + (extension + GIF_FRAME) * frames + b"\x3b"


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def webp(chunk: bytes, body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(body)) + b"WEBP" + chunk + struct.pack("<I", len(body)) + body


def test_dimensions_of_each_format():
    assert (inspect_image(png(3, 2)).width, inspect_image(png(3, 2)).height) == (3, 2)
    assert (inspect_image(jpeg(640, 480)).width, inspect_image(jpeg(640, 480)).height) == (640, 480)
    assert (inspect_image(gif(1)).width, inspect_image(gif(1)).height) == (7, 9)
    vp8 = webp(b"VP8 ", b"\x00" * 3 + b"\x9d\x01\x2a" + struct.pack("<HH", 100, 50) + b"\x00" * 4)
    assert (inspect_image(vp8).width, inspect_image(vp8).height) == (100, 50)
    lossless = webp(b"VP8L", b"\x2f" + (99 | (49 << 14)).to_bytes(4, "little"))
    assert (inspect_image(lossless).width, inspect_image(lossless).height) == (100, 50)
    extended = webp(b"VP8X", b"\x00" * 4 + (299).to_bytes(3, "little") + (199).to_bytes(3, "little"))
    assert (inspect_image(extended).width, inspect_image(extended).height) == (300, 200)


def test_known_format_with_unreadable_dimensions_is_kept_without_them():
    image = inspect_image(b"\xff\xd8\xff\xe0")
    assert image.width is None and image.height is None


def test_gif_frames_are_counted_by_walking_blocks():
    assert gif_frame_count(gif(1)) == 1 and gif_frame_count(gif(3)) == 3
    with pytest.raises(ImageError, match="animated"):
        inspect_image(gif(2))
    with pytest.raises(ImageError, match="corrupt"):
        gif_frame_count(gif(1)[:-5])


def test_unknown_bytes_are_refused_whatever_the_declared_type():
    with pytest.raises(ImageError, match="unsupported"):
        inspect_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert sniff_format(b"GIF87a....") == "gif" and sniff_format(b"BM....") is None


def test_data_urls():
    data, declared = decode_data_url("data:image/png;base64," + base64.b64encode(png(1, 1)).decode(), 1024)
    assert data == png(1, 1) and "png" in declared
    for url, reason in (("data:image/png;base64,%%%", "base64"), ("data:image/bmp;base64,AAAA", "type"),
                        ("data:image/png,AAAA", "base64"), ("data:image/png;base64,AAA", "base64")):
        with pytest.raises(ImageError, match=reason):
            decode_data_url(url, 1024)
    with pytest.raises(ImageError, match="larger"):
        decode_data_url("data:image/png;base64," + base64.b64encode(b"x" * 2048).decode(), 1024)
