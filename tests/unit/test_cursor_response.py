"""Decoding Cursor's responses: framing across reads, the real capture, error trailers and
their statuses, and the limits that keep a hostile upstream from hurting a worker
(PROTOCOL §2, §4; vectors `capture`, `error_trailer_synthetic`, `error_status_table`)."""
from __future__ import annotations

import base64
import gzip
import json
import random
import tracemalloc

import pytest

from app.cursor.errors import ProtocolError, UpstreamError
from app.cursor.events import ContentStart, FilledPrompt, StreamEnd, TextDelta, WebReferences
from app.cursor.framing import FLAG_COMPRESSED, FLAG_END_STREAM, FrameDecoder, encode_frame
from app.cursor.proto import aiserver_pb2
from app.cursor.response import ResponseDecoder, event_from_frame, status_for_error, upstream_error_from_body
from app.cursor.framing import Frame
from tests.unit.vectors import CAPTURE_BYTES, VECTORS

CAPTURE = VECTORS["capture"]
TRAILER = VECTORS["error_trailer_synthetic"]
KINDS = {TextDelta: "content", FilledPrompt: "debug", WebReferences: "webref", ContentStart: "content_start", StreamEnd: "end"}


def decode_in_pieces(data: bytes, sizes) -> list:
    decoder, events, offset = ResponseDecoder(), [], 0
    for size in sizes:
        events += decoder.feed(data[offset:offset + size])
        offset += size
    events += decoder.feed(data[offset:])
    decoder.finish()
    return events


def random_sizes(seed: int, total: int) -> list[int]:
    rng = random.Random(seed)
    sizes = []
    while sum(sizes) < total:
        sizes.append(rng.randint(1, 300))
    return sizes


@pytest.mark.parametrize("sizes", [[], [1] * len(CAPTURE_BYTES), random_sizes(7, len(CAPTURE_BYTES)), random_sizes(99, len(CAPTURE_BYTES))],
                         ids=["whole", "byte-by-byte", "random-7", "random-99"])
def test_real_capture_decodes_exactly_at_any_read_size(sizes):
    events = decode_in_pieces(CAPTURE_BYTES, sizes)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == CAPTURE["text"]
    assert sum(isinstance(e, TextDelta) for e in events) == CAPTURE["text_frame_count"] == 94
    [prompt] = [e for e in events if isinstance(e, FilledPrompt)]
    assert len(prompt.text) == 14547 and prompt.text.startswith("<|BEGIN_SYSTEM|>")
    [references] = [e for e in events if isinstance(e, WebReferences)]
    assert references.references == (("https://status.openai.com/", "OpenAI Status"),)
    assert references.to_markdown() == CAPTURE["web_refs_markdown"]
    assert sum(isinstance(e, ContentStart) for e in events) == 1
    assert isinstance(events[-1], StreamEnd)


def test_capture_frame_by_frame_matches_the_reference_item_sequence():
    frames = FrameDecoder().feed(CAPTURE_BYTES)
    assert len(frames) == CAPTURE["frame_count"]
    assert [frame.flags for frame in frames] == CAPTURE["flags"]
    kinds = [None if (event := event_from_frame(frame)) is None else KINDS[type(event)] for frame in frames]
    assert kinds == CAPTURE["rc4_events"]


def test_multibyte_text_split_inside_a_character_and_a_gzip_member():
    text = "你好🙂é"
    body = encode_frame(gzip.compress(aiserver_pb2.StreamChatResponse(text=text).SerializeToString()), FLAG_COMPRESSED)
    events = decode_in_pieces(body + encode_frame(b"{}", FLAG_END_STREAM), [1] * len(body))
    assert events == [TextDelta(text), StreamEnd()]


def test_error_trailer_vector():
    frame = bytes.fromhex(TRAILER["frame_hex"])
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(frame)
    error = caught.value
    expected = TRAILER["mapped_body"]
    assert error.http_status == TRAILER["mapped_http_status"] == expected["code"]
    assert (error.label, error.detail) == (expected["error"], expected["message"])
    assert error.error_name == "ERROR_FREE_USER_USAGE_LIMIT"
    assert error.log_text == expected["error"]
    details = base64.b64decode(TRAILER["json"]["error"]["details"][0]["value"] + "==")
    assert details.hex() == TRAILER["error_details_proto_hex"]


def test_error_trailer_without_details_vector():
    variant = TRAILER["no_details_variant"]
    payload = json.dumps(variant["json"]).encode()
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(encode_frame(payload, FLAG_END_STREAM))
    status, body = variant["mapped"]
    assert (caught.value.http_status, caught.value.label, caught.value.detail) == (status, body["error"], None)
    assert caught.value.log_text == "unauthenticated"


@pytest.mark.parametrize("name,status", VECTORS["error_status_table"].items())
def test_error_status_table(name, status):
    assert status_for_error(name) == status
    details = aiserver_pb2.ErrorDetails(error=aiserver_pb2.ErrorDetails.Error.Value(name))
    value = base64.b64encode(details.SerializeToString()).decode()  # padded: accepted too
    trailer = json.dumps({"error": {"code": "x", "details": [{"value": value}]}}).encode()
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(encode_frame(trailer, FLAG_END_STREAM))
    assert caught.value.http_status == status


def test_unknown_error_enum_is_500():
    trailer = json.dumps({"error": {"code": "internal", "details": [{"value": base64.b64encode(b"\x08\x19").decode()}]}})
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(encode_frame(trailer.encode(), FLAG_END_STREAM))
    assert caught.value.http_status == 500 and caught.value.error_name is None


def test_end_of_stream_with_only_metadata_ends_the_stream():
    assert ResponseDecoder().feed(encode_frame(b'{"metadata":{"x":["1"]}}', FLAG_END_STREAM)) == [StreamEnd()]


def test_status_frames_produce_nothing():
    status = aiserver_pb2.StreamChatResponse()
    status.status_updates.updates.add(message="Reading links")
    assert event_from_frame(Frame(0, status.SerializeToString())) is None


def test_gzip_bomb_is_refused_within_the_limit():
    bomb = encode_frame(gzip.compress(b"\x00" * (100 * 1024 * 1024), 9), FLAG_COMPRESSED)
    tracemalloc.start()
    with pytest.raises(ProtocolError, match="limit"):
        FrameDecoder(max_decompressed_bytes=1024 * 1024).feed(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # never near the 100 MiB the bomb inflates to


def test_oversized_declared_length_is_refused_at_once():
    with pytest.raises(ProtocolError, match="exceeds"):
        FrameDecoder(max_frame_bytes=1024).feed(b"\x00\x40\x00\x00\x00" + b"x" * 10)


@pytest.mark.parametrize("body,message", [
    (encode_frame(aiserver_pb2.StreamChatResponse(text="whole").SerializeToString()) + b"\x00\x00\x00", "ended inside a frame"),
    (encode_frame(b"not gzip", FLAG_COMPRESSED), "gzip"),
    (encode_frame(b"\xff\xff\xff", 0), "StreamChatResponse"),
    (encode_frame(b"{}", FLAG_END_STREAM) + encode_frame(b"x"), "after the end"),
    (encode_frame(b"nope", FLAG_END_STREAM), "not JSON"),
])
def test_malformed_bodies_raise_protocol_errors(body, message):
    decoder = ResponseDecoder()
    with pytest.raises(ProtocolError, match=message):
        decoder.feed(body)
        decoder.finish()


def test_non_connect_bodies():
    html = upstream_error_from_body(503, "text/html", b"<html>down</html>")
    assert html.http_status == 502 and "503" in html.detail and "down" in html.detail
    unary = upstream_error_from_body(401, "application/json", json.dumps({"code": "unauthenticated", "message": "no"}).encode())
    assert (unary.http_status, unary.label) == (500, "unauthenticated")
