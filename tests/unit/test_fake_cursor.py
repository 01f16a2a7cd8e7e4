"""The fake refuses what Cursor refuses and sends exactly what each scenario promises: a fake
that accepts anything proves nothing. Everything goes over the wire to a FakeCursor subprocess;
responses are decoded here with struct and gzip, not with the gateway's decoder."""

from __future__ import annotations

import base64
import gzip
import json
import resource
import selectors
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from app.cursor.proto import aiserver_pb2
from tests.fake_cursor import scenarios
from tests.fake_cursor.frames import BOMB_INFLATED_BYTES, error_frame
from tests.fake_cursor.harness import ROOT, FakeCursor, make_chat_request_body
from tests.fake_cursor.request import Request
from tests.fake_cursor.server import Recorder
from tests.fake_cursor.validation import ALWAYS_PRESENT, CHAT_PATH, WEB_PATH
from tests.unit.vectors import CAPTURE_BYTES, VECTORS

CONNECT = "application/connect+proto"
HUMAN = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_HUMAN
AI = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_AI


@pytest.fixture(scope="module")
def fake_service() -> FakeCursor:
    with FakeCursor() as service:
        yield service


@pytest.fixture
def cursor(fake_service: FakeCursor) -> FakeCursor:
    """The module's fake with an empty record for this test."""
    fake_service.clear()
    return fake_service


# -- talking to the fake -------------------------------------------------------------------


@dataclass
class Raw:
    """A response as it came off the socket: each chunk of the chunked body is one server write."""

    status: int
    headers: dict[str, str]  # names lower-cased
    chunks: list[bytes]
    terminated: bool  # the terminating zero-length chunk arrived

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def encode_request(url: str, path: str, body: bytes, headers: dict[str, str], framing: str = "length") -> bytes:
    """An HTTP/1.1 request with the body framed as asked: length, chunked, both or neither."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if framing in ("length", "both"):
        lines.append(f"Content-Length: {len(body)}")
    if framing in ("chunked", "both"):
        lines.append("Transfer-Encoding: chunked")
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_response(data: bytes) -> Raw:
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    if "content-length" in headers:
        return Raw(int(status_line.split()[1]), headers, [rest], True)
    chunks, terminated = [], False
    while rest:
        size_line, found, after = rest.partition(b"\r\n")
        if not found:
            break  # cut inside a chunk-size line
        size = int(size_line, 16)
        if size == 0:
            terminated = True
            break
        chunks.append(after[:size])  # shorter than `size` when cut inside the chunk
        rest = after[size + 2 :]
    return Raw(int(status_line.split()[1]), headers, chunks, terminated)


def exchange(url: str, request: bytes) -> Raw:
    """Send one request on a fresh connection and read until the server closes it."""
    address = urlsplit(url)
    received = bytearray()
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            received += chunk
    return parse_response(bytes(received))


def chat_raw(fake: FakeCursor, text: str, *, path: str = CHAT_PATH, framing: str = "length") -> Raw:
    body, headers = make_chat_request_body(text, web=path == WEB_PATH)
    return exchange(fake.url, encode_request(fake.url, path, body, headers, framing))


def post(
    fake: FakeCursor, body: bytes, headers: dict[str, str], path: str = CHAT_PATH, method: str = "POST", **options
) -> requests.Response:
    return requests.request(method, fake.url + path, data=body, headers=headers, timeout=10, **options)


def only_record(fake: FakeCursor) -> dict:
    [record] = fake.requests()
    return record


# -- decoding what came back -----------------------------------------------------------------


def frames_of(body: bytes, inflate: bool = True) -> list[tuple[int, bytes]]:
    """(flags, payload) per envelope; gzip payloads inflated. The body must hold whole frames."""
    frames, offset = [], 0
    while offset < len(body):
        flags, length = struct.unpack_from(">BI", body, offset)
        payload = body[offset + 5 : offset + 5 + length]
        assert len(payload) == length, "truncated frame"
        frames.append((flags, gzip.decompress(payload) if inflate and flags & 1 else payload))
        offset += 5 + length
    return frames


def message(payload: bytes) -> aiserver_pb2.StreamChatResponse:
    return aiserver_pb2.StreamChatResponse.FromString(payload)


def texts(frames: list[tuple[int, bytes]]) -> list[str]:
    return [message(payload).text for flags, payload in frames if not flags & 2 and message(payload).text]


def trailer(frames: list[tuple[int, bytes]]) -> dict:
    flags, payload = frames[-1]
    assert flags & 2, "the last frame is not an end-of-stream frame"
    return json.loads(payload)


def error_details(end: dict) -> aiserver_pb2.ErrorDetails:
    value = end["error"]["details"][0]["value"]
    assert "=" not in value  # the service sends base64 without padding
    return aiserver_pb2.ErrorDetails.FromString(base64.b64decode(value + "=" * (-len(value) % 4)))


def text_frame_bytes(text: str) -> bytes:
    payload = aiserver_pb2.StreamChatResponse(text=text).SerializeToString()
    return struct.pack(">BI", 0, len(payload)) + payload


END = struct.pack(">BI", 2, 2) + b"{}"
CONTENT_START = struct.pack(">BI", 0, 0)


# -- starting, health, control API -----------------------------------------------------------


def test_ready_line_and_health(cursor):
    assert urlsplit(cursor.url).hostname == "127.0.0.1" and urlsplit(cursor.url).port
    health = requests.get(f"{cursor.url}/__fake/health", timeout=10).json()
    assert health["ok"] is True and health["connections"] >= 1


def test_ready_file_gets_the_url(tmp_path):
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_cursor", "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("fake-cursor listening on http://127.0.0.1:")
        assert ready.read_text() == line.removeprefix("fake-cursor listening on ")
    finally:
        process.terminate()
        process.wait(timeout=5)
        process.stdout.close()


def test_control_api_lists_and_clears(cursor):
    post(cursor, *make_chat_request_body("one"))
    assert len(cursor.requests()) == 1
    assert requests.delete(f"{cursor.url}/__fake/requests", timeout=10).json() == {"cleared": True}
    assert cursor.requests() == []
    assert requests.get(f"{cursor.url}/__fake/nothing", timeout=10).status_code == 404
    assert cursor.requests() == []  # control calls are not recorded


def test_records_are_bounded_oldest_dropped():
    recorder = Recorder(limit=3)
    for index in range(5):
        recorder.add(Request("POST", f"/{index}", "", {}, b""))
    assert [record["path"] for record in recorder.all()] == ["/2", "/3", "/4"]


# -- a valid request -------------------------------------------------------------------------


def test_valid_request_is_accepted_and_recorded(cursor):
    body, headers = make_chat_request_body("hello")
    response = post(cursor, body, headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONNECT and response.headers["Transfer-Encoding"] == "chunked"
    frames = frames_of(response.content)
    assert frames[0] == (0, b"") and texts(frames) == ["Ech", "o: ", "hel", "lo"] and trailer(frames) == {}

    record = only_record(cursor)
    assert (record["accepted"], record["reason"], record["scenario"]) == (True, None, "echo")
    assert record["path"] == CHAT_PATH and record["method"] == "POST"
    assert record["headers"]["x-cursor-checksum"] == headers["x-cursor-checksum"]  # name case as sent
    assert record["headers"]["Content-Type"] == CONNECT
    assert record["body_hex"] == body.hex() and record["body_length"] == len(body)
    assert record["request"]["conversation"][0]["text"] == "hello"
    assert record["request"]["model_details"] == {"model_name": "gpt-4o", "azure_state": {}}
    assert record["present_fields"] == [
        "conversation",
        "explicit_context",
        "model_details",
        "request_id",
        "allow_long_file_scan",
        "is_bash",
        "conversation_id",
        "can_handle_filenames_after_language_ids",
        "long_context_mode",
        "is_eval",
        "runnable_code_blocks",
        "should_cache",
    ]


def test_web_request_is_accepted_on_stream_chat_web(cursor):
    assert trailer(frames_of(chat_raw(cursor, "hi", path=WEB_PATH).body)) == {}
    record = only_record(cursor)
    assert (
        record["accepted"] and record["request"]["use_web"] == "full_search" and "use_web" in record["present_fields"]
    )


def test_short_checksum_form_is_accepted(cursor):
    body, headers = make_chat_request_body("hi")
    headers["x-cursor-checksum"] = headers["x-cursor-checksum"][:72]
    assert post(cursor, body, headers).status_code == 200 and only_record(cursor)["accepted"]


def test_chunked_request_body_is_accepted(cursor):
    assert chat_raw(cursor, "hi", framing="chunked").status == 200
    record = only_record(cursor)
    assert record["accepted"] and record["headers"]["Transfer-Encoding"] == "chunked"


def test_large_body_is_recorded_by_length_only(cursor):
    body, headers = make_chat_request_body("x" * 70_000)
    assert post(cursor, body, headers).status_code == 200
    record = only_record(cursor)
    assert record["accepted"] and record["body_hex"] is None and record["body_length"] == len(body)


def test_images_are_recorded_as_base64(cursor):
    body, headers = make_chat_request_body("look")
    request = aiserver_pb2.GetChatRequest.FromString(body[5:])
    request.conversation[0].images.add(data=b"\x89PNG\r\n\x1a\n", dimension={"width": 2, "height": 3})
    assert post(cursor, reframe(request), headers).status_code == 200
    [image] = only_record(cursor)["request"]["conversation"][0]["images"]
    assert image == {"data": base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(), "dimension": {"width": 2, "height": 3}}


# -- refused at the HTTP level ---------------------------------------------------------------


def reframe(request: aiserver_pb2.GetChatRequest) -> bytes:
    payload = request.SerializeToString()
    return struct.pack(">BI", 0, len(payload)) + payload


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


INVALID_CHECKSUMS = [case["checksum"] for case in VECTORS["checksum"]["validate"] if not case["valid"]]

Change = Callable[[bytes, dict], tuple]  # (body, headers) -> (body, headers[, path[, method]])
HTTP_REJECTIONS: list[tuple[str, Change, int, str, str]] = [
    ("get", lambda b, h: (b, h, CHAT_PATH, "GET"), 405, "unimplemented", "method GET"),
    ("unknown-path", lambda b, h: (b, h, "/aiserver.v1.AiService/StreamChatNope"), 404, "unimplemented", "unknown path"),
    ("content-type", lambda b, h: (b, {**h, "Content-Type": "application/proto"}), 415, "invalid_argument", "content type"),
    ("content-type-params", lambda b, h: (b, {**h, "Content-Type": f"{CONNECT}; charset=utf-8"}), 415, "invalid_argument", "content type"),
    ("no-content-type", lambda b, h: (b, without(h, "Content-Type")), 415, "invalid_argument", "content type"),
    ("protocol-version", lambda b, h: (b, {**h, "connect-protocol-version": "2"}), 400, "invalid_argument", "connect-protocol-version"),
    ("no-protocol-version", lambda b, h: (b, without(h, "connect-protocol-version")), 400, "invalid_argument", "connect-protocol-version"),
    ("no-auth", lambda b, h: (b, without(h, "Authorization")), 401, "unauthenticated", "Bearer"),
    ("basic-auth", lambda b, h: (b, {**h, "Authorization": "Basic eA=="}), 401, "unauthenticated", "Bearer"),
    ("two-part-jwt", lambda b, h: (b, {**h, "Authorization": "Bearer a.b"}), 401, "unauthenticated", "Bearer"),
    ("empty-jwt-part", lambda b, h: (b, {**h, "Authorization": "Bearer a..c"}), 401, "unauthenticated", "Bearer"),
    ("token-comma-checksum", lambda b, h: (b, {**h, "Authorization": h["Authorization"] + "," + h["x-cursor-checksum"]}),
     401, "unauthenticated", "Bearer"),
    ("no-checksum", lambda b, h: (b, without(h, "x-cursor-checksum")), 400, "invalid_argument", "invalid checksum"),
    ("junk-checksum", lambda b, h: (b, {**h, "x-cursor-checksum": "x" * 137}), 400, "invalid_argument", "invalid checksum"),
    *[(f"checksum-vector-{index}", lambda b, h, value=value: (b, {**h, "x-cursor-checksum": value}), 400,
       "invalid_argument", "invalid checksum") for index, value in enumerate(INVALID_CHECKSUMS)],
    ("empty-body", lambda b, h: (b"", h), 400, "invalid_argument", "envelope"),
    ("short-envelope", lambda b, h: (b[:-1], h), 400, "invalid_argument", "envelope"),
    ("long-envelope", lambda b, h: (b + b"\x00", h), 400, "invalid_argument", "envelope"),
    ("two-envelopes", lambda b, h: (b + b, h), 400, "invalid_argument", "envelope"),
    ("compressed-flag", lambda b, h: (b"\x01" + b[1:], h), 400, "invalid_argument", "envelope"),
    ("end-stream-flag", lambda b, h: (b"\x02" + b[1:], h), 400, "invalid_argument", "envelope"),
    ("not-protobuf", lambda b, h: (struct.pack(">BI", 0, 3) + b"\xff\xff\xff", h), 400, "invalid_argument", "GetChatRequest"),
]  # fmt: skip


@pytest.mark.parametrize(
    "change,status,code,reason", [case[1:] for case in HTTP_REJECTIONS], ids=[case[0] for case in HTTP_REJECTIONS]
)
def test_http_level_rejections(cursor, change, status, code, reason):
    body, headers, *where = change(*make_chat_request_body("hi"))
    response = post(cursor, body, headers, *where)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()
    assert error["code"] == code and reason in error["message"]
    record = only_record(cursor)
    assert not record["accepted"] and record["reason"] == error["message"]


@pytest.mark.parametrize("framing", ["both", "neither"])
def test_body_framing_must_be_exactly_one_of_length_or_chunked(cursor, framing):
    response = chat_raw(cursor, "hi", framing=framing)
    assert response.status == 400 and json.loads(response.body)["code"] == "invalid_argument"
    record = only_record(cursor)
    assert not record["accepted"] and "body framing" in record["reason"]
    if framing == "both":  # the fake still saw both headers, as sent
        assert {"Content-Length", "Transfer-Encoding"} <= set(record["headers"])


# -- refused with an ERROR_BAD_REQUEST trailer -----------------------------------------------


def edit(change: Callable[[aiserver_pb2.GetChatRequest], object]) -> Change:
    def apply(body: bytes, headers: dict) -> tuple:
        request = aiserver_pb2.GetChatRequest.FromString(body[5:])
        change(request)
        return reframe(request), headers

    return apply


def add_message(kind: int) -> Callable[[aiserver_pb2.GetChatRequest], object]:
    return lambda request: request.conversation.add(text="x", type=kind, bubble_id="b")


SEMANTIC_REJECTIONS: list[tuple[str, Change, str]] = [
    ("empty-conversation", edit(lambda r: r.ClearField("conversation")), "empty conversation"),
    ("starts-with-ai", edit(lambda r: setattr(r.conversation[0], "type", AI)), "alternation"),
    ("unspecified-type", edit(lambda r: setattr(r.conversation[0], "type", 0)), "alternation"),
    ("two-humans", edit(add_message(HUMAN)), "alternation"),
    ("ends-with-ai", edit(add_message(AI)), "end with a HUMAN"),
    ("no-bubble-id", edit(lambda r: r.conversation[0].ClearField("bubble_id")), "bubble_id"),
    ("no-model-name", edit(lambda r: r.model_details.ClearField("model_name")), "model_name"),
    ("no-model-details", edit(lambda r: r.ClearField("model_details")), "model_name"),
    ("no-azure-state", edit(lambda r: r.model_details.ClearField("azure_state")), "azure_state"),
    ("no-request-id", edit(lambda r: r.ClearField("request_id")), "request_id"),
    ("no-conversation-id", edit(lambda r: r.ClearField("conversation_id")), "conversation_id"),
    *[(f"no-{name}", edit(lambda r, name=name: r.ClearField(name)), name) for name in ALWAYS_PRESENT],
    ("use-web-on-stream-chat", edit(lambda r: setattr(r, "use_web", "full_search")), "must not set use_web"),
    ("request-id-header", lambda b, h: (b, {**h, "x-request-id": "something-else"}), "x-request-id"),
    ("trace-id-header", lambda b, h: (b, {**h, "x-amzn-trace-id": "Root=nope"}), "x-request-id"),
    ("no-trace-id", lambda b, h: (b, without(h, "x-amzn-trace-id")), "x-request-id"),
    ("client-key-short", lambda b, h: (b, {**h, "x-client-key": "ab" * 31}), "x-client-key"),
    ("client-key-upper", lambda b, h: (b, {**h, "x-client-key": h["x-client-key"].upper().replace("A", "G")}), "x-client-key"),
    ("no-client-version", lambda b, h: (b, without(h, "x-cursor-client-version")), "x-cursor-client-version"),
    ("no-ghost-mode", lambda b, h: (b, without(h, "x-ghost-mode")), "x-ghost-mode"),
]  # fmt: skip


def assert_bad_request_trailer(response: requests.Response) -> str:
    """One end-of-stream frame saying ERROR_BAD_REQUEST, in a 200; returns its detail."""
    assert response.status_code == 200 and response.headers["Content-Type"] == CONNECT
    [(flags, payload)] = frames_of(response.content)
    assert flags == 2
    end = json.loads(payload)
    assert end["error"]["code"] == "invalid_argument" and end["error"]["message"] == "Error"
    details = error_details(end)
    assert details.error == aiserver_pb2.ErrorDetails.ERROR_BAD_REQUEST and details.details.title == "Bad request"
    return details.details.detail


@pytest.mark.parametrize(
    "change,reason", [case[1:] for case in SEMANTIC_REJECTIONS], ids=[case[0] for case in SEMANTIC_REJECTIONS]
)
def test_semantic_rejections_answer_with_a_bad_request_trailer(cursor, change, reason):
    body, headers = change(*make_chat_request_body("hi"))
    detail = assert_bad_request_trailer(post(cursor, body, headers))
    record = only_record(cursor)
    assert not record["accepted"] and record["reason"] == detail and reason in detail
    assert record["present_fields"] is not None  # it was decoded: the message itself is on record


@pytest.mark.parametrize("use_web", [None, "partial"])
def test_stream_chat_web_needs_full_search(cursor, use_web):
    body, headers = make_chat_request_body("hi", web=True)
    request = aiserver_pb2.GetChatRequest.FromString(body[5:])
    if use_web is None:
        request.ClearField("use_web")
    else:
        request.use_web = use_web
    assert "use_web=full_search" in assert_bad_request_trailer(post(cursor, reframe(request), headers, WEB_PATH))


# -- choosing a scenario ---------------------------------------------------------------------


def test_directive_is_the_first_fake_token_anywhere_in_the_message(cursor):
    frames = frames_of(chat_raw(cursor, "please fake:text:Hi you, then fake:oneshot").body)
    assert texts(frames) == ["Hi", " you,", " then", " fake:oneshot"]  # text: takes the rest of the message
    assert frames_of(chat_raw(cursor, "xfake:oneshot and fake:gzip").body)[1][0] == 1  # xfake: is no token
    assert [record["scenario"] for record in cursor.requests()] == ["text", "gzip"]


def test_directive_only_in_the_last_user_message(cursor):
    body, headers = make_chat_request_body("fake:oneshot")
    request = aiserver_pb2.GetChatRequest.FromString(body[5:])
    request.conversation.add(text="ok", type=AI, bubble_id="b2")
    request.conversation.add(text="plain", type=HUMAN, bubble_id="b3")
    assert texts(frames_of(post(cursor, reframe(request), headers).content)) == ["Ech", "o: ", "pla", "in"]


@pytest.mark.parametrize(
    "text,reason",
    [
        ("fake:nope", "unknown fake scenario"),
        ("fake:ticks:x", "not a number"),
        ("fake:ticks:1:2:3", "at most 2"),
        ("fake:slow_headers:-1", "not negative"),
        ("fake:error", "not an ErrorDetails"),
        ("fake:error:ERROR_NOPE", "not an ErrorDetails"),
        ("fake:error:ERROR_BAD_API_KEY:zip", "gzip"),
        ("fake:http_error:200", "error status"),
        ("fake:capture:0", "at least 1"),
        ("fake:text:", "WORDS"),
    ],
)
def test_directives_the_fake_cannot_follow_are_bad_requests(cursor, text, reason):
    body, headers = make_chat_request_body(text)
    detail = assert_bad_request_trailer(post(cursor, body, headers))
    record = only_record(cursor)
    assert reason in detail and record["reason"] == detail
    assert record["accepted"]  # the request itself was fine: the test asked for something impossible


def test_failing_accounts_always_answer_their_error(cursor):
    claims = base64.urlsafe_b64encode(b'{"sub":"auth0|user_ratelimited_7"}').rstrip(b"=").decode()
    body, headers = make_chat_request_body("hello")
    headers["Authorization"] = f"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{claims}.sig"
    end = trailer(frames_of(post(cursor, body, headers).content))
    assert error_details(end).error == aiserver_pb2.ErrorDetails.ERROR_FREE_USER_RATE_LIMIT_EXCEEDED


# -- what each scenario sends ----------------------------------------------------------------


def test_text_sends_one_frame_per_word_each_in_its_own_write(cursor):
    raw = chat_raw(cursor, "fake:text:A B C")
    assert raw.status == 200 and raw.headers["content-type"] == CONNECT and raw.terminated
    assert raw.chunks == [CONTENT_START, text_frame_bytes("A"), text_frame_bytes(" B"), text_frame_bytes(" C"), END]


def test_chunks_are_separate_paced_writes(cursor):
    started = time.monotonic()
    raw = chat_raw(cursor, "fake:chunks:Hello |wor|ld")
    assert time.monotonic() - started >= 3 * scenarios.CHUNK_PAUSE
    assert raw.chunks == [text_frame_bytes("Hello "), text_frame_bytes("wor"), text_frame_bytes("ld"), END]


def test_oneshot_is_a_single_write(cursor):
    [chunk] = chat_raw(cursor, "fake:oneshot").chunks
    frames = frames_of(chunk)
    assert frames[0] == (0, b"") and "".join(texts(frames)) == scenarios.ONESHOT_TEXT and trailer(frames) == {}


def test_gzip_frames_are_compressed(cursor):
    raw = chat_raw(cursor, "fake:gzip")
    frames = frames_of(raw.body)
    assert [flags for flags, _ in frames] == [0, 1, 1, 1, 2]
    assert all(payload[:2] == b"\x1f\x8b" for flags, payload in frames_of(raw.body, inflate=False) if flags == 1)
    assert texts(frames) == list(scenarios.GZIP_PIECES)


def test_unicode_cuts_characters_and_gzip_members_across_writes(cursor):
    raw = chat_raw(cursor, "fake:unicode")
    body = raw.body
    frames = frames_of(body)
    assert "".join(texts(frames)) == scenarios.UNICODE_TEXT and trailer(frames) == {}
    spans, offset = [], 0  # (start, end, flags) of each frame in the body
    for flags, payload in frames_of(body, inflate=False):
        spans.append((offset, offset + 5 + len(payload), flags))
        offset += 5 + len(payload)
    boundaries = [sum(len(chunk) for chunk in raw.chunks[:i]) for i in range(1, len(raw.chunks))]
    split_chars = [
        b
        for b in boundaries
        for start, end, flags in spans
        if flags == 0 and start + 5 < b < end and body[b] & 0xC0 == 0x80
    ]  # a UTF-8 continuation byte
    split_gzip = [b for b in boundaries for start, end, flags in spans if flags == 1 and start + 5 < b < end]
    assert split_chars and split_gzip


def test_web_citation_comes_gzipped_before_the_text(cursor):
    frames = frames_of(chat_raw(cursor, "fake:web").body)
    assert frames[0][0] == 1
    references = [(ref.url, ref.title) for ref in message(frames[0][1]).web_citation.references]
    assert references == list(scenarios.WEB_REFERENCES)
    assert dict(sorted(dict(references).items())) == {"https://a.example/1": "A", "https://b.example/2": "B two"}
    assert "".join(texts(frames)) == scenarios.WEB_TEXT and trailer(frames) == {}


def test_prompt_frame_comes_gzipped_before_the_text(cursor):
    frames = frames_of(chat_raw(cursor, "fake:prompt").body)
    assert frames[0][0] == 1 and message(frames[0][1]).filled_prompt == scenarios.FILLED_PROMPT
    assert "".join(texts(frames)) == scenarios.PROMPT_TEXT


@pytest.mark.parametrize(
    "name,code",
    [
        ("ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", "resource_exhausted"),
        ("ERROR_FREE_USER_USAGE_LIMIT", "resource_exhausted"),
        ("ERROR_NOT_LOGGED_IN", "permission_denied"),
        ("ERROR_BAD_API_KEY", "unauthenticated"),
        ("ERROR_AUTH_TOKEN_EXPIRED", "unauthenticated"),
        ("ERROR_BAD_MODEL_NAME", "invalid_argument"),
        ("ERROR_OPENAI", "internal"),
    ],
)
@pytest.mark.parametrize("compressed", [False, True])
def test_error_is_an_immediate_connect_error_trailer(cursor, name, code, compressed):
    raw = chat_raw(cursor, f"fake:error:{name}" + (":gzip" if compressed else ""))
    [(flags, payload)] = frames_of(raw.body)
    assert raw.status == 200 and flags == (3 if compressed else 2)
    end = json.loads(payload)
    assert set(end) == {"error"} and end["error"]["code"] == code and end["error"]["message"] == "Error"
    [entry] = end["error"]["details"]
    assert entry["type"] == "aiserver.v1.ErrorDetails"
    details = error_details(end)
    assert aiserver_pb2.ErrorDetails.Error.Name(details.error) == name and details.is_expected
    assert details.details.title == scenarios.ERROR_TITLE and details.details.detail
    assert entry["debug"] == {
        "error": name,
        "isExpected": True,
        "details": {"title": details.details.title, "detail": details.details.detail, "isRetryable": False},
    }


def test_error_trailer_is_byte_exact_with_the_protocol_vector():
    vector = VECTORS["error_trailer_synthetic"]
    debug = vector["json"]["error"]["details"][0]["debug"]
    built = error_frame(debug["error"], debug["details"]["title"], debug["details"]["detail"])
    assert built.hex() == vector["frame_hex"]


def test_error_mid_sends_text_then_the_trailer(cursor):
    raw = chat_raw(cursor, "fake:error_mid:ERROR_GENERIC_RATE_LIMIT_EXCEEDED")
    frames = frames_of(raw.body)
    assert texts(frames) == list(scenarios.MID_ERROR_PIECES) and len(raw.chunks) == len(frames)
    assert trailer(frames)["error"]["code"] == "resource_exhausted"


def test_error_nodetails_has_an_empty_details_list(cursor):
    [(flags, payload)] = frames_of(chat_raw(cursor, "fake:error_nodetails").body)
    assert flags == 2 and json.loads(payload) == {"error": {"code": "internal", "message": "Error", "details": []}}


def test_cut_drops_the_connection_without_the_terminating_chunk(cursor):
    raw = chat_raw(cursor, "fake:cut")
    assert raw.status == 200 and not raw.terminated
    frames = frames_of(raw.body)
    assert "".join(texts(frames)) == "".join(scenarios.CUT_PIECES)
    assert not any(flags & 2 for flags, _ in frames)  # no end-of-stream frame either


def test_cut_mid_frame_promises_more_than_it_sends(cursor):
    raw = chat_raw(cursor, "fake:cut_mid_frame")
    assert not raw.terminated
    first, rest = raw.chunks
    assert texts(frames_of(first)) == ["Whole frame. "]
    _flags, length = struct.unpack_from(">BI", rest)
    assert length == scenarios.CUT_MID_FRAME_PROMISED and len(rest) - 5 < length


def test_slow_headers_delays_the_status_line(cursor):
    body, headers = make_chat_request_body("fake:slow_headers:0.3")
    started = time.monotonic()
    with post(cursor, body, headers, stream=True) as response:
        assert time.monotonic() - started >= 0.3 and response.status_code == 200
        assert texts(frames_of(response.raw.read())) == ["Slo", "w b", "ut ", "her", "e."]


def test_slow_first_frame_sends_headers_at_once(cursor):
    body, headers = make_chat_request_body("fake:slow_first_frame:0.4")
    started = time.monotonic()
    with post(cursor, body, headers, stream=True) as response:
        assert time.monotonic() - started < 0.3 and response.headers["Content-Type"] == CONNECT
        content = response.raw.read()
        assert time.monotonic() - started >= 0.4
    assert texts(frames_of(content)) == [scenarios.LATE_TEXT]


def test_silence_pauses_between_frames(cursor):
    body, headers = make_chat_request_body("fake:silence:0.3")
    with post(cursor, body, headers, stream=True) as response:
        first = response.raw.read(len(text_frame_bytes(scenarios.SILENCE_PIECES[0])))
        started = time.monotonic()
        rest = response.raw.read()
        assert time.monotonic() - started >= 0.25
    assert texts(frames_of(first + rest)) == list(scenarios.SILENCE_PIECES)


def test_a_client_leaving_during_a_silence_is_recorded_at_once(cursor):
    body, headers = make_chat_request_body("fake:silence:30")
    address = urlsplit(cursor.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(encode_request(cursor.url, CHAT_PATH, body, headers))
        received = b""
        while scenarios.SILENCE_PIECES[0].encode() not in received:  # headers and frame are two writes
            received += sock.recv(65536)
    closed_at = time.time()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not only_record(cursor).get("client_closed"):
        time.sleep(0.02)
    record = only_record(cursor)
    assert record.get("client_closed") and record["client_closed_at"] - closed_at < 1


def test_empty_is_an_empty_chunked_200(cursor):
    raw = chat_raw(cursor, "fake:empty")
    assert (raw.status, raw.headers["content-type"], raw.headers["transfer-encoding"]) == (200, CONNECT, "chunked")
    assert raw.chunks == [] and raw.terminated


@pytest.mark.parametrize("status", [403, 503])
def test_http_error_is_a_cdn_html_page(cursor, status):
    raw = chat_raw(cursor, f"fake:http_error:{status}")
    assert raw.status == status and raw.headers["content-type"] == "text/html"
    assert int(raw.headers["content-length"]) == len(raw.body) and raw.body.startswith(b"<html>")


def test_garbage_after_end_adds_seven_bytes_after_the_end_frame(cursor):
    raw = chat_raw(cursor, "fake:garbage_after_end")
    *answer, junk = raw.chunks
    assert len(junk) == 7 and raw.terminated
    frames = frames_of(b"".join(answer))
    assert "".join(texts(frames)) == "Complete answer." and trailer(frames) == {}


def test_bomb_inflates_to_64_mib(cursor):
    frames = frames_of(chat_raw(cursor, "fake:bomb").body, inflate=False)
    flags, packed = frames[2]
    assert flags == 1 and len(packed) < 128 * 1024 and trailer(frames) == {}
    inflater, inflated, head = zlib.decompressobj(16 + zlib.MAX_WBITS), 0, b""
    while packed:
        out = inflater.decompress(packed, 1 << 22)
        head = head or out[:5]
        inflated += len(out)
        packed = inflater.unconsumed_tail
    assert inflated == BOMB_INFLATED_BYTES and head[0] == 0x0A  # StreamChatResponse.text


def test_huge_frame_declares_a_gigabyte(cursor):
    raw = chat_raw(cursor, "fake:huge_frame")
    flags, length = struct.unpack_from(">BI", raw.body)
    assert (flags, length) == (0, 1 << 30) and len(raw.body) < 1000 and raw.terminated


@pytest.mark.parametrize("directive,size", [("fake:capture", len(CAPTURE_BYTES)), ("fake:capture:1000", 1000)])
def test_capture_is_replayed_byte_for_byte(cursor, directive, size):
    raw = chat_raw(cursor, directive)
    assert raw.body == CAPTURE_BYTES and raw.terminated
    assert [len(chunk) for chunk in raw.chunks[:-1]] == [size] * (len(raw.chunks) - 1)


def test_big_sends_kilobyte_frames_in_large_writes(cursor):
    raw = chat_raw(cursor, "fake:big:100000")
    frames = frames_of(raw.body)
    sent = texts(frames)
    assert set(sent) == {scenarios.BIG_FRAME_TEXT} and 100_000 <= len("".join(sent)) < 100_000 + 1024
    assert len(raw.chunks[0]) > 32 * 1024 and trailer(frames) == {}


def test_ticks_come_at_the_interval(cursor):
    started = time.monotonic()
    raw = chat_raw(cursor, "fake:ticks:3:50")
    assert time.monotonic() - started >= 0.15
    assert [texts(frames_of(chunk)) for chunk in raw.chunks] == [["tick 0 "], ["tick 1 "], ["tick 2 "], []]


# -- many at once ----------------------------------------------------------------------------


def test_a_thousand_concurrent_slow_streams(cursor):
    streams, pause = 1000, 1.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < streams + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, streams + 200), hard))
    address = urlsplit(cursor.url)
    body, headers = make_chat_request_body(f"fake:slow_first_frame:{pause}")
    request = encode_request(cursor.url, CHAT_PATH, body, headers)
    selector, received = selectors.DefaultSelector(), {}
    started = time.monotonic()
    try:
        for _ in range(streams):
            sock = socket.create_connection((address.hostname, address.port), timeout=10)
            sock.sendall(request)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            received[sock] = bytearray()
        while selector.get_map() and time.monotonic() - started < 30:
            for key, _ in selector.select(timeout=1):
                chunk = key.fileobj.recv(65536)
                received[key.fileobj] += chunk
                if not chunk:
                    selector.unregister(key.fileobj)
    finally:
        for sock in received:
            sock.close()
        selector.close()
    elapsed = time.monotonic() - started
    responses = [parse_response(bytes(data)) for data in received.values()]
    assert all(r.terminated and texts(frames_of(r.body)) == [scenarios.LATE_TEXT] for r in responses)
    assert pause <= elapsed < pause + 8  # one after another it would take 1000 s


def test_a_silence_works_on_a_descriptor_above_1023():
    """1000+ streams give the fake descriptors select() cannot take; the Wire's wait must not care."""
    from gevent import socket as gsocket

    from tests.fake_cursor.wire import Wire

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip("cannot open descriptors above 1023 here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1300), hard))
    ours, theirs = gsocket.socketpair()
    high = gsocket.socket(fileno=__import__("os").dup2(ours.fileno(), 1200))
    try:
        started = time.monotonic()
        Wire(high).wait(0.05)  # nothing to read: the whole silence
        assert time.monotonic() - started >= 0.05
        theirs.close()
        with pytest.raises(ConnectionResetError):
            Wire(high).wait(5)  # the other side left: noticed at once
    finally:
        for sock in (high, ours, theirs):
            sock.close()
