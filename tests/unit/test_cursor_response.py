"""Decoding Cursor's responses into events: the real capture at any read split, the frame
priority rules, end-of-stream handling, and Cursor's error reports mapped to statuses
(PROTOCOL §2.5–2.8, §4.2; vectors `capture`, `error_trailer_synthetic`, `error_status_table`)."""

from __future__ import annotations

import base64
import gzip
import json
import random

import pytest

from app.cursor.errors import ProtocolError, UpstreamError
from app.cursor.events import ContentStart, Event, FilledPrompt, StreamEnd, TextDelta, WebReferences
from app.cursor.framing import FLAG_COMPRESSED, FLAG_END_STREAM, HEADER, Frame, FrameDecoder, encode_frame
from app.cursor.proto import aiserver_pb2
from app.cursor.response import (
    ResponseDecoder,
    event_from_frame,
    status_for_error,
    upstream_error_from_body,
    upstream_error_from_connect_error,
)
from tests.unit.vectors import CAPTURE_BYTES, VECTORS

CAPTURE = VECTORS["capture"]
TRAILER = VECTORS["error_trailer_synthetic"]
# The names the vector's `rc4_events` uses for each event type.
KIND = {
    TextDelta: "content",
    FilledPrompt: "debug",
    WebReferences: "webref",
    ContentStart: "content_start",
    StreamEnd: "end",
}


def decode(data: bytes, cuts: list[int]) -> list[Event]:
    """Decode `data` read in pieces ending at the given offsets, then finish."""
    decoder, events, start = ResponseDecoder(), [], 0
    for cut in [*cuts, len(data)]:
        events += decoder.feed(data[start:cut])
        start = cut
    decoder.finish()
    return events


def random_cuts(seed: int) -> list[int]:
    rng, cuts = random.Random(seed), [0]
    while cuts[-1] < len(CAPTURE_BYTES):
        cuts.append(cuts[-1] + rng.randint(1, 700))
    return cuts[1:-1]


def frame_spans() -> list[tuple[int, int, int]]:
    """(flags, payload start, payload end) of every frame in the capture."""
    spans, offset = [], 0
    while offset < len(CAPTURE_BYTES):
        flags, length = HEADER.unpack_from(CAPTURE_BYTES, offset)
        start = offset + HEADER.size
        spans.append((flags, start, start + length))
        offset = start + length
    return spans


def straddling_cuts() -> list[int]:
    """Cuts inside every frame header, in the middle of every gzip payload, and inside the
    first multi-byte UTF-8 character of every text frame."""
    cuts = []
    for flags, start, end in frame_spans():
        cuts.append(start - 3)
        if flags & FLAG_COMPRESSED:
            cuts.append((start + end) // 2)
        lead = next((i for i in range(start, end) if CAPTURE_BYTES[i] >= 0xC0), None)  # UTF-8 lead byte
        if flags == 0 and lead is not None:
            cuts.append(lead + 1)
    return cuts


def test_straddling_cuts_fall_inside_gzip_payloads_and_characters():
    cuts = straddling_cuts()
    gzip_spans = [(start, end) for flags, start, end in frame_spans() if flags & FLAG_COMPRESSED]
    assert len(gzip_spans) == 2 and all(any(start < cut < end for cut in cuts) for start, end in gzip_spans)
    assert sum(0x80 <= CAPTURE_BYTES[cut] < 0xC0 for cut in cuts) >= 70  # the next read starts mid-character


CAPTURE_SPLITS = {
    "whole": [],
    "byte-by-byte": list(range(1, len(CAPTURE_BYTES))),
    "random-7": random_cuts(7),
    "random-2024": random_cuts(2024),
    "straddling": straddling_cuts(),
}


@pytest.mark.parametrize("cuts", CAPTURE_SPLITS.values(), ids=CAPTURE_SPLITS.keys())
def test_real_capture_decodes_exactly_at_any_read_split(cuts):
    events = decode(CAPTURE_BYTES, cuts)
    texts = [event.text for event in events if isinstance(event, TextDelta)]
    assert "".join(texts) == CAPTURE["text"]
    assert len(texts) == CAPTURE["text_frame_count"] == 94
    [prompt] = [event for event in events if isinstance(event, FilledPrompt)]
    assert len(prompt.text) == 14547 and prompt.text.startswith("<|BEGIN_SYSTEM|>")
    [references] = [event for event in events if isinstance(event, WebReferences)]
    assert references.references == (("https://status.openai.com/", "OpenAI Status"),)
    assert references.to_markdown() == CAPTURE["web_refs_markdown"]
    assert [KIND[type(event)] for event in events] == [kind for kind in CAPTURE["rc4_events"] if kind]
    assert events.count(ContentStart()) == 1 and events[-1] == StreamEnd()


def test_capture_frame_by_frame_matches_the_reference_item_sequence():
    events = [event_from_frame(frame) for frame in FrameDecoder().feed(CAPTURE_BYTES)]
    assert [None if event is None else KIND[type(event)] for event in events] == CAPTURE["rc4_events"]


def test_capture_frame_contents_match_the_vector():
    events = [event_from_frame(frame) for frame in FrameDecoder().feed(CAPTURE_BYTES)]
    for described, event in zip(CAPTURE["frames"], events, strict=True):
        if "text" in described:
            assert event == TextDelta(described["text"])
        if "filled_prompt_head" in described:
            assert len(event.text) == described["filled_prompt_length_chars"]
            assert event.text.startswith(described["filled_prompt_head"])
            assert event.text.endswith(described["filled_prompt_tail"])
        if "web_references" in described:
            assert event.references == tuple((ref["url"], ref["title"]) for ref in described["web_references"])


def test_capture_text_and_the_answers_built_from_it():
    events = decode(CAPTURE_BYTES, [])
    text = "".join(event.text for event in events if isinstance(event, TextDelta))
    assert len(text) == CAPTURE["text_length_chars"] and len(text.encode()) == CAPTURE["text_length_utf8_bytes"]
    [references] = [event for event in events if isinstance(event, WebReferences)]
    assert text == CAPTURE["rc4_openai_nonstream_content_without_web_refs"]
    assert references.to_markdown() + text == CAPTURE["rc4_openai_nonstream_content_with_web_refs"]


def message_frame(**fields) -> Frame:
    return Frame(0, aiserver_pb2.StreamChatResponse(**fields).SerializeToString())


def citation(*pairs: tuple[str, str]) -> aiserver_pb2.WebCitation:
    return aiserver_pb2.WebCitation(references=[aiserver_pb2.WebReference(url=u, title=t) for u, t in pairs])


def test_text_wins_over_filled_prompt_and_citations():
    frame = message_frame(text="hi", filled_prompt="prompt", web_citation=citation(("https://a/", "A")))
    assert event_from_frame(frame) == TextDelta("hi")


def test_a_present_but_empty_filled_prompt_still_counts():
    assert event_from_frame(message_frame(text="", filled_prompt="")) == FilledPrompt("")


def test_citations_are_ordered_by_url_bytes_and_a_repeated_url_keeps_its_last_title():
    refs = citation(("https://b/", "B"), ("https://a/", "first"), ("https://Z/", "Z"), ("https://a/", "last"))
    assert event_from_frame(message_frame(web_citation=refs)) == WebReferences(
        (("https://Z/", "Z"), ("https://a/", "last"), ("https://b/", "B"))
    )


def test_an_empty_citation_is_still_a_web_references_event():
    event = event_from_frame(message_frame(web_citation=citation()))
    assert event == WebReferences(()) and event.to_markdown() == "WebReferences:\n\n"


def test_frames_without_output_give_nothing():
    status = aiserver_pb2.StreamChatResponse()
    status.status_updates.updates.add(message="Reading links")
    assert event_from_frame(Frame(0, status.SerializeToString())) is None
    assert event_from_frame(message_frame(is_using_slow_request=False)) is None


@pytest.mark.parametrize("flags", [0, FLAG_COMPRESSED, FLAG_END_STREAM, FLAG_COMPRESSED | FLAG_END_STREAM])
def test_a_zero_length_frame_is_content_start_whatever_the_flags(flags):
    assert event_from_frame(Frame(flags, b"")) == ContentStart()


def test_a_frame_with_reserved_flags_gives_nothing():
    assert event_from_frame(Frame(0x06, b"{not json")) is None


def test_a_data_frame_that_is_not_a_stream_chat_response_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="not a StreamChatResponse"):
        event_from_frame(Frame(0, b"\xff\xff\xff"))


@pytest.mark.parametrize("payload", [b"{}", b'{"metadata":{"x-trace":["1"]}}', b" { } "])
def test_every_end_of_stream_object_without_error_ends_the_stream(payload):
    assert ResponseDecoder().feed(encode_frame(payload, FLAG_END_STREAM)) == [StreamEnd()]


def test_a_compressed_end_of_stream_frame_is_inflated_first():
    frame = encode_frame(gzip.compress(b"{}"), FLAG_COMPRESSED | FLAG_END_STREAM)
    assert ResponseDecoder().feed(frame) == [StreamEnd()]


@pytest.mark.parametrize(
    "payload",
    [b"nope", b"[]", b'"done"', b"\xff{}", b"[" * 100_000],
    ids=["not-json", "array", "string", "bad-utf8", "deep-nesting"],
)
def test_an_end_of_stream_frame_that_is_not_a_json_object_is_a_protocol_error(payload):
    with pytest.raises(ProtocolError, match="not a JSON object"):
        ResponseDecoder().feed(encode_frame(payload, FLAG_END_STREAM))


def test_error_trailer_vector():
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(bytes.fromhex(TRAILER["frame_hex"]))
    error, expected = caught.value, TRAILER["mapped_body"]
    assert error.http_status == TRAILER["mapped_http_status"] == expected["code"] == 500
    assert (error.label, error.detail) == (expected["error"], expected["message"])
    assert (error.connect_code, error.error_name) == ("resource_exhausted", "ERROR_FREE_USER_USAGE_LIMIT")
    assert error.log_text == expected["error"]
    assert json.loads(bytes.fromhex(TRAILER["frame_hex"])[5:]) == TRAILER["json"]
    unpadded = TRAILER["json"]["error"]["details"][0]["value"]
    assert base64.b64decode(unpadded + "=" * (-len(unpadded) % 4)).hex() == TRAILER["error_details_proto_hex"]


def test_error_trailer_without_details_vector():
    variant = TRAILER["no_details_variant"]
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(encode_frame(json.dumps(variant["json"]).encode(), FLAG_END_STREAM))
    status, body = variant["mapped"]
    error = caught.value
    assert (error.http_status, error.label, error.detail, error.error_name) == (status, body["error"], None, None)
    assert error.log_text == "unauthenticated"


def connect_error(
    details: aiserver_pb2.ErrorDetails | None = None, code: object = "internal", padded: bool = False
) -> dict:
    error: dict = {"code": code, "message": "Error"}
    if details is not None:
        value = base64.b64encode(details.SerializeToString()).decode()
        error["details"] = [{"type": "aiserver.v1.ErrorDetails", "value": value if padded else value.rstrip("=")}]
    return error


@pytest.mark.parametrize("name,status", VECTORS["error_status_table"].items())
def test_error_status_table(name, status):
    assert status_for_error(name) == status
    details = aiserver_pb2.ErrorDetails(error=aiserver_pb2.ErrorDetails.Error.Value(name))
    trailer = json.dumps({"error": connect_error(details)}).encode()
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(encode_frame(trailer, FLAG_END_STREAM))
    assert (caught.value.http_status, caught.value.error_name) == (status, name)


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
def test_details_are_read_with_or_without_base64_padding(padded):
    details = aiserver_pb2.ErrorDetails(error=aiserver_pb2.ErrorDetails.Error.Value("ERROR_BAD_API_KEY"))
    details.details.title = "Bad key"  # 13 bytes: the padded base64 ends in "=="
    error = connect_error(details, padded=padded)
    assert error["details"][0]["value"].endswith("==") is padded
    mapped = upstream_error_from_connect_error(error)
    assert (mapped.http_status, mapped.title) == (401, "Bad key")


def test_an_unknown_enum_value_is_500_with_no_name():
    error = upstream_error_from_connect_error(connect_error(aiserver_pb2.ErrorDetails(error=25)))
    assert (error.http_status, error.error_name) == (500, None)


def test_without_custom_details_the_connect_code_is_the_label():
    details = aiserver_pb2.ErrorDetails(error=aiserver_pb2.ErrorDetails.Error.Value("ERROR_NOT_LOGGED_IN"))
    error = upstream_error_from_connect_error(connect_error(details, code="permission_denied"))
    assert (error.http_status, error.title, error.detail, error.label) == (403, None, None, "permission_denied")


@pytest.mark.parametrize(
    "error",
    [
        {"code": "unavailable"},
        {"code": "unavailable", "details": "not a list"},
        {"code": "unavailable", "details": ["not an object"]},
        {"code": "unavailable", "details": [{"value": "!!not base64!!"}]},
        {"code": "unavailable", "details": [{"value": base64.b64encode(b"\x0a\xff").decode()}]},
    ],
    ids=["no-details", "details-not-list", "detail-not-object", "bad-base64", "bad-protobuf"],
)
def test_undecodable_details_give_500_with_the_connect_code(error):
    mapped = upstream_error_from_connect_error(error)
    assert (mapped.http_status, mapped.connect_code) == (500, "unavailable")
    assert (mapped.error_name, mapped.title, mapped.detail) == (None, None, None)


@pytest.mark.parametrize("error", [{}, {"code": 14}, {"code": None}])
def test_a_missing_or_non_string_code_reads_as_unknown(error):
    assert upstream_error_from_connect_error(error).connect_code == "unknown"


def test_an_error_key_that_is_not_an_object_is_still_an_error():
    with pytest.raises(UpstreamError) as caught:
        ResponseDecoder().feed(encode_frame(b'{"error":"boom"}', FLAG_END_STREAM))
    assert (caught.value.http_status, caught.value.connect_code) == (500, "unknown")


def test_an_error_trailer_after_text_raises():
    decoder = ResponseDecoder()
    assert decoder.feed(encode_frame(message_frame(text="partial").payload)) == [TextDelta("partial")]
    with pytest.raises(UpstreamError):
        decoder.feed(bytes.fromhex(TRAILER["frame_hex"]))


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(connect_error(aiserver_pb2.ErrorDetails(error=12), code="unauthenticated")).encode(),
        json.dumps({"error": connect_error(aiserver_pb2.ErrorDetails(error=12), code="unauthenticated")}).encode(),
    ],
    ids=["unary", "wrapped"],
)
def test_non_connect_bodies_holding_a_connect_error_are_mapped_like_trailers(body):
    error = upstream_error_from_body(401, "application/json", body)
    assert (error.http_status, error.connect_code) == (401, "unauthenticated")
    assert error.error_name == "ERROR_AUTH_TOKEN_EXPIRED"


def test_a_unary_error_without_details_is_500_with_its_code():
    error = upstream_error_from_body(403, "application/json", b'{"code":"permission_denied","message":"nope"}')
    assert (error.http_status, error.label) == (500, "permission_denied")


def test_an_uninterpretable_body_is_a_502_naming_the_status_and_an_excerpt():
    error = upstream_error_from_body(503, "text/html", b"<html>\n  <b>Service down</b>\n</html>" + b"x" * 500)
    assert (error.http_status, error.connect_code) == (502, "bad_gateway")
    assert error.detail.startswith("upstream answered HTTP 503: <html> <b>Service down</b> </html>xxx")
    assert len(error.detail) == len("upstream answered HTTP 503: ") + 200


def test_a_200_with_the_wrong_content_type_names_the_content_type():
    error = upstream_error_from_body(200, "text/plain", b"\xffoops")
    assert error.http_status == 502
    assert error.detail == "upstream answered HTTP 200 with content type 'text/plain': \ufffdoops"


def test_an_echoed_session_token_never_reaches_the_message():
    token = VECTORS["jwt"]["token"]
    body = f"<p>Cookie: WorkosCursorSessionToken=user_01%3A%3A{token}; Authorization: Bearer {token}</p>".encode()
    error = upstream_error_from_body(400, "text/html", body)
    assert "eyJ" not in error.detail and "[redacted]" in error.detail


@pytest.mark.parametrize(
    "tail",
    [
        encode_frame(b"x"),  # a whole frame
        b"\x00\x00",  # part of a header
    ],
    ids=["frame", "partial"],
)
def test_anything_after_the_end_of_the_stream_is_a_protocol_error(tail):
    end = encode_frame(b"{}", FLAG_END_STREAM)
    with pytest.raises(ProtocolError, match="after the end"):
        ResponseDecoder().feed(end + tail)
    decoder = ResponseDecoder()
    assert decoder.feed(end) == [StreamEnd()]
    with pytest.raises(ProtocolError, match="after the end"):
        decoder.feed(tail)


def test_a_body_cut_inside_a_frame_fails_at_finish():
    decoder = ResponseDecoder()
    assert decoder.feed(encode_frame(b"\x0a\x05whole") + b"\x00\x00\x00") == [TextDelta("whole")]
    with pytest.raises(ProtocolError, match="ended inside a frame"):
        decoder.finish()


def test_corrupted_gzip_is_reported_not_dropped():
    with pytest.raises(ProtocolError, match="gzip"):
        ResponseDecoder().feed(encode_frame(b"\x1f\x8b\x08\x00garbage", FLAG_COMPRESSED))


def test_limits_reach_the_frame_decoder():
    with pytest.raises(ProtocolError, match="exceeds"):
        ResponseDecoder(max_frame_bytes=10).feed(encode_frame(b"x" * 11))
    with pytest.raises(ProtocolError, match="exceeds"):
        ResponseDecoder(max_decompressed_bytes=10).feed(encode_frame(gzip.compress(b"x" * 11), FLAG_COMPRESSED))
