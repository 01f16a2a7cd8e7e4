"""The fake refuses what Cursor refuses: a fake that accepts anything proves nothing."""
from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

import pytest
import requests

from app.cursor.checksum import build_checksum, random_hash
from app.cursor.convert import build_chat_request, encode_chat_body
from app.cursor.messages import ChatMessage
from app.cursor.client import chat_headers

CHAT = "/aiserver.v1.AiService/StreamChat"
TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig"


def valid(text: str = "hi", **options) -> tuple[bytes, dict]:
    request = build_chat_request([ChatMessage("user", text)], model_name="gpt-4o", default_instructions="x",
                                 web_search=False, slow_pool=False, **options)
    return encode_chat_body(request), chat_headers(TOKEN, build_checksum(random_hash(), random_hash()), {})


def post(fake, body: bytes, headers: dict, path: str = CHAT) -> requests.Response:
    return requests.post(fake.url + path, data=body, headers=headers, timeout=10)


def test_valid_request_is_accepted_and_recorded(upstream):
    body, headers = valid("hello")
    response = post(upstream, body, headers)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/connect+proto"
    [record] = upstream.chat_requests()
    assert record["accepted"] and record["scenario"] == "echo"
    assert "should_cache" in record["present_fields"] and record["request"]["conversation"][0]["text"] == "hello"


@pytest.mark.parametrize("change,status,reason", [
    (lambda b, h: (b, {**h, "Content-Type": "application/proto"}), 415, "content type"),
    (lambda b, h: (b, {**h, "connect-protocol-version": "2"}), 400, "connect-protocol-version"),
    (lambda b, h: (b, {**h, "Authorization": "Bearer nope"}), 401, "bearer"),
    (lambda b, h: (b, {**h, "x-cursor-checksum": "x" * 137}), 400, "checksum"),
    (lambda b, h: (b, {k: v for k, v in h.items() if k != "x-cursor-checksum"}), 400, "checksum"),
    (lambda b, h: (b, {**h, "x-request-id": "something-else"}), 400, "x-request-id"),
    (lambda b, h: (b[:-1], h), 400, "envelope"),
    (lambda b, h: (b"\x01" + b[1:], h), 400, "envelope"),
    (lambda b, h: (struct.pack(">BI", 0, 3) + b"\xff\xff\xff", h), 400, "GetChatRequest"),
], ids=["content-type", "protocol-version", "bearer", "bad-checksum", "no-checksum", "request-id", "short-body",
        "compressed-flag", "not-protobuf"])
def test_malformed_requests_are_refused_with_a_reason(upstream, change, status, reason):
    body, headers = change(*valid())
    response = post(upstream, body, headers)
    assert response.status_code == status
    [record] = upstream.chat_requests()
    assert not record["accepted"] and reason in record["reason"]


def test_chunked_and_content_length_together_are_refused(upstream):
    body, headers = valid()
    address = urlsplit(upstream.url)
    raw = [f"POST {CHAT} HTTP/1.1", f"Host: {address.netloc}", f"Content-Length: {len(body)}", "Transfer-Encoding: chunked"]
    raw += [f"{name}: {value}" for name, value in headers.items() if name not in ("Connection",)]
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(raw) + "\r\n\r\n").encode() + chunked)
        assert sock.recv(100).startswith(b"HTTP/1.1 400")


def test_semantic_errors_answer_with_a_bad_request_trailer(upstream):
    body, headers = valid()
    response = post(upstream, body, headers, path="/aiserver.v1.AiService/StreamChatWeb")  # no use_web
    assert response.status_code == 200 and response.content[0] == 2  # an end-of-stream frame
    assert b"ERROR_BAD_REQUEST" in response.content
    assert "use_web" in upstream.chat_requests()[0]["reason"]


def test_unknown_path_is_404(upstream):
    assert post(upstream, b"", {}, path="/aiserver.v1.AiService/Nope").status_code == 404


def test_capture_is_replayed_byte_for_byte(upstream):
    from tests.unit.vectors import CAPTURE_BYTES

    body, headers = valid("fake:capture:100")
    assert post(upstream, body, headers).content == CAPTURE_BYTES


def test_cut_leaves_the_chunked_body_unterminated(upstream):
    body, headers = valid("fake:cut")
    address = urlsplit(upstream.url)
    request = [f"POST {CHAT} HTTP/1.1", f"Host: {address.netloc}", f"Content-Length: {len(body)}"]
    request += [f"{name}: {value}" for name, value in headers.items()]
    received = b""
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode() + body)
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200") and b"Before the cut" in received
    assert not received.endswith(b"0\r\n\r\n")
