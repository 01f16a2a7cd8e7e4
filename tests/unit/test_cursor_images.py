"""Image checks without an imaging library (PROTOCOL §3.6, SPEC §6.7, decision D23).

Every image here is built by hand, byte by byte, so each header field under test is visible.
"""

from __future__ import annotations

import base64
import struct
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cursor.images import (
    ImageError,
    data_url_size,
    decode_data_url,
    gif_frame_count,
    inspect_image,
    sniff_format,
)


def size_of(data: bytes) -> tuple[int | None, int | None]:
    image = inspect_image(data)
    assert image.data == data
    return image.width, image.height


# -- builders --------------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_head(width: int, height: int) -> bytes:
    """Signature and IHDR (8-bit RGB): all a reader of the size needs."""
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def png(width: int, height: int) -> bytes:
    """A complete RGB PNG: IHDR, zlib-compressed IDAT scanlines, IEND, with real CRCs."""
    scanlines = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return png_head(width, height) + png_chunk(b"IDAT", zlib.compress(scanlines)) + png_chunk(b"IEND", b"")


def segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def jpeg(width: int, height: int, sof: int = 0xC0) -> bytes:
    """SOI, APP0 (JFIF), DQT, a DHT whose bytes would read as a size if C4 were taken for a
    SOF, the SOFn frame header, SOS with a little scan data, EOI."""
    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + bytes(range(1, 65)))
    dht = segment(0xC4, b"\x00" + b"\x00\x01" * 8 + b"\x00")
    frame = segment(sof, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    scan = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34\xff\x00\x56"
    return b"\xff\xd8" + app0 + dqt + dht + frame + scan + b"\xff\xd9"


def webp(chunk: bytes, body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(body)) + b"WEBP" + chunk + struct.pack("<I", len(body)) + body


def vp8(width: int, height: int) -> bytes:
    """Lossy: 3-byte frame tag, start code 9d 01 2a, 14-bit width and height (2 scale bits)."""
    return webp(b"VP8 ", b"\x50\x01\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width | 0x4000, height) + b"\x00" * 4)


def vp8l(width: int, height: int) -> bytes:
    """Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each."""
    return webp(b"VP8L", b"\x2f" + ((width - 1) | ((height - 1) << 14)).to_bytes(4, "little") + b"\x00")


def vp8x(width: int, height: int) -> bytes:
    """Extended: flags, 3 reserved bytes, canvas width-1 and height-1 in 24 bits each."""
    return webp(b"VP8X", b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))


GIF_COLORS = b"\x00\x00\x00\xff\xff\xff"  # a 2-entry colour table (size code 0)
GIF_LOOP = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # application extension, 2 sub-blocks
GIF_COMMENT = b"\x21\xfe\x03,,;\x02,;\x00"  # comment sub-blocks full of 0x2c and 0x3b bytes
GIF_CONTROL = b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control extension


def gif_frame(local_table: bool = False) -> bytes:
    """Image descriptor (1x1 at 0,0), optional local colour table, LZW code size 2 and one
    data sub-block containing a 0x2c byte, then the terminator."""
    descriptor = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + (b"\x80" if local_table else b"\x00")
    return descriptor + (GIF_COLORS if local_table else b"") + b"\x02\x03\x44\x2c\x01\x00"


def gif(frames: int, width: int = 7, height: int = 9, version: bytes = b"GIF89a") -> bytes:
    screen = struct.pack("<HH", width, height) + b"\x80\x00\x00"  # global colour table, size code 0
    body = b"".join(GIF_CONTROL + gif_frame(local_table=index % 2 == 1) for index in range(frames))
    return version + screen + GIF_COLORS + GIF_LOOP + GIF_COMMENT + body + b"\x3b"


def data_url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


# -- formats and dimensions --------------------------------------------------------------------


def test_format_is_sniffed_from_magic_bytes():
    assert [sniff_format(data) for data in (png(1, 1), jpeg(1, 1), vp8(1, 1), gif(1))] == ["png", "jpeg", "webp", "gif"]
    assert sniff_format(b"GIF87a" + b"\x00" * 7) == "gif"
    for other in (b"", b"BM\x00\x00", b"RIFF\x00\x00\x00\x00WAVE", b"<svg/>", b"\x89PNG"):
        assert sniff_format(other) is None


def test_png_dimensions():
    assert size_of(png(3, 2)) == (3, 2)
    assert size_of(png(1, 300)) == (1, 300)


def test_jpeg_dimensions_from_the_sof_after_other_segments():
    assert size_of(jpeg(640, 480)) == (640, 480)
    assert size_of(jpeg(17, 5, sof=0xC2)) == (17, 5)  # progressive
    assert size_of(jpeg(9, 8, sof=0xCF)) == (9, 8)


def test_jpeg_fill_bytes_and_bare_markers_are_skipped():
    data = jpeg(33, 44)
    padded = data[:2] + b"\xff\xff" + data[2:]  # fill bytes before the first marker
    assert size_of(padded) == (33, 44)
    with_restart_marker = data[:2] + b"\xff\xd0" + data[2:]
    assert size_of(with_restart_marker) == (33, 44)


def test_webp_dimensions_for_each_chunk_kind():
    assert size_of(vp8(100, 50)) == (100, 50)
    assert size_of(vp8l(100, 50)) == (100, 50)
    assert size_of(vp8l(16384, 1)) == (16384, 1)
    assert size_of(vp8x(300, 200)) == (300, 200)
    assert size_of(vp8x(2**24, 1)) == (2**24, 1)


def test_single_frame_gif_dimensions_from_the_logical_screen():
    assert size_of(gif(1)) == (7, 9)
    assert size_of(gif(1, 640, 480, version=b"GIF87a")) == (640, 480)


def test_known_format_with_unreadable_dimensions_is_kept_without_them():
    unreadable = [
        b"\x89PNG\r\n\x1a\n",  # no IHDR
        png_head(0, 5),  # zero is not a size
        png_head(2**31, 1),  # beyond the int32 of ImageProto.Dimension
        b"\xff\xd8\xff\xe0",  # truncated JPEG
        b"\xff\xd8" + segment(0xDA, b"\x00") + b"\xff\xd9",  # scan before any SOF
        jpeg(5, 0),  # height defined later by DNL
        webp(b"ALPH", b"\x00" * 10),  # unknown first chunk
        webp(b"VP8 ", b"\x00" * 3 + b"\x00\x00\x00" + b"\x10\x00\x10\x00"),  # bad start code
        webp(b"VP8L", b"\x00" * 5),  # bad signature
    ]
    for data in unreadable:
        assert size_of(data) == (None, None), data[:16]


# -- GIF frames ----------------------------------------------------------------------------------


def test_gif_frames_are_counted_by_walking_blocks():
    assert [gif_frame_count(gif(count)) for count in (0, 1, 2, 3)] == [0, 1, 2, 3]
    assert gif(1).count(b"\x2c") > 1  # a byte search would miscount


def test_gif_without_global_colour_table():
    data = b"GIF89a" + struct.pack("<HH", 4, 4) + b"\x00\x00\x00" + gif_frame() + b"\x3b"
    assert gif_frame_count(data) == 1 and size_of(data) == (4, 4)


def test_animated_gif_is_refused():
    with pytest.raises(ImageError, match=r"^animated GIF is not supported$"):
        inspect_image(gif(2))


def test_gif_without_any_image_is_refused():
    with pytest.raises(ImageError, match="no image"):
        inspect_image(gif(0))


@pytest.mark.parametrize(
    "data",
    [
        gif(1)[:-1],  # no trailer
        gif(1)[:-4],  # cut inside the image data
        gif(1)[:12],  # cut inside the logical screen descriptor
        gif(1)[:20],  # cut inside the global colour table / extension
        b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x00\x00\x00" + b"\x99\x3b",  # unknown block
        b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x00\x00\x00" + b"\x2c\x00\x00",  # short descriptor
        b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x00\x00\x00" + b"\x21",  # extension without a label
    ],
)
def test_corrupt_gif_is_refused(data):
    with pytest.raises(ImageError, match=r"^corrupt GIF$"):
        inspect_image(data)


# -- unknown content ---------------------------------------------------------------------------


def test_unknown_bytes_are_refused_whatever_the_declared_type():
    svg, _ = decode_data_url(data_url(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "png"), 1024)
    for data in (svg, b"", b"BM" + b"\x00" * 60):
        with pytest.raises(ImageError, match="unsupported image format"):
            inspect_image(data)


def test_the_bytes_decide_the_format_not_the_declared_type():
    data, declared = decode_data_url(data_url(png(4, 3), "gif"), 1024)
    assert "gif" in declared and size_of(data) == (4, 3)


# -- data URLs -----------------------------------------------------------------------------------


def test_data_url_is_decoded_with_its_lower_cased_declared_prefix():
    data, declared = decode_data_url("data:image/PNG;base64," + base64.b64encode(png(1, 1)).decode(), 1024)
    assert data == png(1, 1) and declared == "data:image/png;"


@pytest.mark.parametrize("kind", ["png", "jpeg", "jpg", "webp", "gif", "x-PNG", "Jpeg"])
def test_declared_types_accepted(kind):
    assert decode_data_url(data_url(b"abc", kind), 1024)[0] == b"abc"


@pytest.mark.parametrize(
    "url, reason",
    [
        ("data:image/bmp;base64,AAAA", "^unsupported image type"),
        ("data:image/svg+xml;base64,AAAA", "^unsupported image type"),
        ("data:image/png,AAAA", "^not a base64 data URL$"),
        ("data:image/png;base64,AAAA;base64,AAAA", "^not a base64 data URL$"),
        ("data:image/png;base64,%%%%", "^not valid base64$"),
        ("data:image/png;base64,AAA", "^not valid base64$"),  # missing padding
        ("data:image/png;base64,AAAA=", "^not valid base64$"),  # excess padding
        ("data:image/png;base64,AB==", "^not valid base64$"),  # non-zero trailing bits
        ("data:image/png;base64,AA-_", "^not valid base64$"),  # URL-safe alphabet
        ("data:image/png;base64,AAAA\nAAAA", "^not valid base64$"),  # line breaks
        ("data:image/png;base64,AAAA é", "^not valid base64$"),
    ],
)
def test_bad_data_urls_are_refused(url, reason):
    with pytest.raises(ImageError, match=reason):
        decode_data_url(url, 1024)


def test_size_limit_on_the_decoded_bytes():
    assert len(decode_data_url(data_url(b"x" * 1024), 1024)[0]) == 1024
    with pytest.raises(ImageError, match=r"^image is larger than 1024 bytes$"):
        decode_data_url(data_url(b"x" * 1025), 1024)


def test_a_huge_string_is_refused_before_decoding():
    with pytest.raises(ImageError, match="larger"):  # not "not valid base64": never decoded
        decode_data_url("data:image/png;base64," + "!" * 5000, 1024)


def test_image_error_is_a_value_error():
    assert issubclass(ImageError, ValueError)


def test_data_url_size_is_known_without_decoding():
    for size in range(0, 40):
        url = data_url(bytes(range(size)))
        assert data_url_size(url, 1024) == size == len(decode_data_url(url, 1024)[0])
    assert data_url_size("data:image/png;base64," + "!" * 400, 1024) == 300  # not even base64: measured
    with pytest.raises(ImageError, match=r"^image is larger than 2 bytes$"):
        data_url_size(data_url(b"abc"), 2)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="AB/+9z=-_\n é", max_size=14))
def test_only_canonical_base64_is_decoded(text):
    # Canonical: what encoding the decoded bytes gives back, character for character.
    try:
        expected: bytes | None = base64.b64decode(text, validate=True)
        if base64.b64encode(expected) != text.encode("ascii"):
            expected = None
    except ValueError:
        expected = None
    url = "data:image/png;base64," + text
    if expected is None:
        with pytest.raises(ImageError, match=r"^not valid base64$"):
            decode_data_url(url, 1024)
    else:
        assert decode_data_url(url, 1024)[0] == expected


def test_a_data_url_is_decoded_without_copies_of_it():
    # Issue #14: the text is decoded once and never re-encoded whole. What may be held at once:
    # the base64 text cut from the URL and the decoded bytes (1.75 times the URL), not the four
    # or five copies a split, an ASCII re-encoding and a full re-encoding comparison make.
    url = data_url(png(1, 1) + b"\0" * (3 * 1024 * 1024))
    tracemalloc.start()
    try:
        data, _declared = decode_data_url(url, 4 * 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(data) > 3 * 1024 * 1024
    assert peak < 2 * len(url), f"peak {peak} for a URL of {len(url)} characters"
