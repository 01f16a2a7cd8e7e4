"""Connect framing: frames survive any read split, limits hold against a hostile upstream, and
broken bodies are reported instead of silently truncated (PROTOCOL §2.1–2.4)."""

from __future__ import annotations

import gzip
import itertools
import time
import tracemalloc
import zlib

import pytest

from app.cursor.errors import ProtocolError
from app.cursor.framing import FLAG_COMPRESSED, FLAG_END_STREAM, MIB, Frame, FrameDecoder, encode_frame
from tests.unit.vectors import CAPTURE_BYTES, VECTORS

CAPTURE = VECTORS["capture"]

MIXED_WIRE = [
    encode_frame(b"plain"),
    encode_frame(gzip.compress(b"inflated " * 50), FLAG_COMPRESSED),
    encode_frame(b""),
    encode_frame("多字节".encode()),
    encode_frame(b"{}", FLAG_END_STREAM),
]
MIXED_BODY = b"".join(MIXED_WIRE)
MIXED_FRAMES = [
    Frame(0, b"plain"),
    Frame(FLAG_COMPRESSED, b"inflated " * 50),
    Frame(0, b""),
    Frame(0, "多字节".encode()),
    Frame(FLAG_END_STREAM, b"{}"),
]


def feed_in_pieces(decoder: FrameDecoder, data: bytes, size: int) -> list[Frame]:
    frames = []
    for start in range(0, len(data), size):
        frames += decoder.feed(data[start : start + size])
    return frames


def test_encode_frame_writes_flags_and_a_big_endian_length():
    assert encode_frame(b"x" * 350)[:5] == bytes.fromhex("000000015e")  # PROTOCOL §2.2 example
    request = VECTORS["request"]
    assert encode_frame(bytes.fromhex(request["proto_hex"])).hex() == request["framed_body_hex"]


@pytest.mark.parametrize("cut", range(len(MIXED_BODY) + 1))
def test_a_split_anywhere_gives_the_same_frames(cut):
    decoder = FrameDecoder()
    frames = decoder.feed(MIXED_BODY[:cut]) + decoder.feed(MIXED_BODY[cut:])
    assert frames == MIXED_FRAMES
    assert decoder.buffered == 0 and decoder.finish() is None


def test_one_byte_at_a_time_gives_each_frame_exactly_at_its_last_byte():
    decoder, completed_at = FrameDecoder(), []
    for index in range(len(MIXED_BODY)):
        completed_at += [index] * len(decoder.feed(MIXED_BODY[index : index + 1]))
    assert completed_at == [end - 1 for end in itertools.accumulate(map(len, MIXED_WIRE))]


def test_real_capture_frames_match_the_vector():
    decoder = FrameDecoder()
    frames = decoder.feed(CAPTURE_BYTES)
    assert len(CAPTURE_BYTES) == CAPTURE["stream_bytes"]
    assert len(frames) == CAPTURE["frame_count"] == 100
    assert [frame.flags for frame in frames] == CAPTURE["flags"]
    inflated = [frame.get("decompressed_length", frame["wire_length"]) for frame in CAPTURE["frames"]]
    assert [len(frame.payload) for frame in frames] == inflated
    assert decoder.buffered == CAPTURE["leftover_bytes"] == 0
    assert frames[-1] == Frame(FLAG_END_STREAM, CAPTURE["end_of_stream_trailer"].encode())


def test_real_capture_one_byte_at_a_time():
    assert feed_in_pieces(FrameDecoder(), CAPTURE_BYTES, 1) == FrameDecoder().feed(CAPTURE_BYTES)


@pytest.mark.parametrize("flags", [0, FLAG_COMPRESSED, FLAG_END_STREAM, FLAG_COMPRESSED | FLAG_END_STREAM, 0x80])
def test_zero_length_frames_are_returned_empty_whatever_the_flags(flags):
    assert FrameDecoder().feed(encode_frame(b"", flags)) == [Frame(flags, b"")]


def test_frames_with_reserved_flag_bits_are_skipped_but_their_length_is_honoured():
    body = encode_frame(b"\x1f\x8b not even gzip", 0x04 | FLAG_COMPRESSED) + encode_frame(b"next")
    assert FrameDecoder().feed(body) == [Frame(0, b"next")]


def _gzip_of_zeros(total: int) -> bytes:
    """A gzip member of `total` zero bytes, built without holding them all in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MIB)
    return b"".join(compressor.compress(block) for _ in range(total // MIB)) + compressor.flush()


def test_gzip_bomb_is_refused_without_allocating_its_size():
    bomb = encode_frame(_gzip_of_zeros(100 * MIB), FLAG_COMPRESSED)
    assert len(bomb) < MIB
    decoder = FrameDecoder(max_decompressed_bytes=MIB)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="exceeds"):
            decoder.feed(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MIB  # the 1 MiB cap plus buffers, never near the 100 MiB it inflates to


def test_a_payload_inflating_to_exactly_the_limit_is_accepted_and_one_more_byte_is_not():
    exact = encode_frame(gzip.compress(b"a" * 1024), FLAG_COMPRESSED)
    assert FrameDecoder(max_decompressed_bytes=1024).feed(exact) == [Frame(FLAG_COMPRESSED, b"a" * 1024)]
    with pytest.raises(ProtocolError, match="exceeds"):
        FrameDecoder(max_decompressed_bytes=1023).feed(exact)


def test_oversized_declared_length_is_refused_as_soon_as_the_header_arrives():
    decoder = FrameDecoder(max_frame_bytes=1024)
    assert decoder.feed(b"\x00\x00\x00") == []
    with pytest.raises(ProtocolError, match="1025 bytes exceeds the 1024-byte limit"):
        decoder.feed(b"\x04\x01")  # completes the header of a 1025-byte frame; no payload sent yet


def test_a_frame_at_the_size_limit_is_waited_for():
    decoder = FrameDecoder(max_frame_bytes=1024)
    assert decoder.feed(encode_frame(b"x" * 1024)[:-1]) == []
    assert decoder.buffered == 5 + 1023
    assert decoder.feed(b"x") == [Frame(0, b"x" * 1024)]


@pytest.mark.parametrize(
    "payload,message",
    [
        (b"not gzip at all", "invalid gzip"),
        (gzip.compress(b"hello world" * 20)[:-12], "truncated gzip"),
        (gzip.compress(b"one") + gzip.compress(b"two"), "after the gzip member"),
        (gzip.compress(b"data") + b"\x00", "after the gzip member"),
    ],
    ids=["garbage", "truncated-member", "two-members", "trailing-byte"],
)
def test_corrupted_gzip_payloads_are_reported(payload, message):
    with pytest.raises(ProtocolError, match=message):
        FrameDecoder().feed(encode_frame(payload, FLAG_COMPRESSED))


@pytest.mark.parametrize("tail", [b"\x00\x00", encode_frame(b"partial")[:-3]], ids=["inside-header", "inside-payload"])
def test_a_body_ending_inside_a_frame_is_a_truncation(tail):
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(b"whole") + tail) == [Frame(0, b"whole")]
    assert decoder.buffered == len(tail)
    with pytest.raises(ProtocolError, match="ended inside a frame"):
        decoder.finish()


def test_limits_of_zero_are_refused_because_zlib_would_read_them_as_unlimited():
    with pytest.raises(ValueError):
        FrameDecoder(max_decompressed_bytes=0)


def _best_seconds(body: bytes, read_size: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        feed_in_pieces(FrameDecoder(), body, read_size)
        best = min(best, time.perf_counter() - started)
    return best


def test_large_reads_of_many_small_frames_cost_linear_time():
    """A decoder that re-copies the rest of the buffer per frame is quadratic in the read size:
    about 9x slower per byte with 256 KiB reads than with 4 KiB reads. Ours stays level."""
    body = encode_frame(b"ab") * 100_000
    small_reads, large_reads = _best_seconds(body, 4096), _best_seconds(body, 256 * 1024)
    assert large_reads < 3 * small_reads
