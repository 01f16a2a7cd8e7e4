"""Building Cursor's response frames (PROTOCOL §2, §4), the way the real service sends them."""
from __future__ import annotations

import base64
import gzip
import json

from app.cursor.framing import FLAG_COMPRESSED, FLAG_END_STREAM, encode_frame
from app.cursor.proto import aiserver_pb2

_CONNECT_CODES = {
    "RATE_LIMIT": "resource_exhausted", "USAGE_LIMIT": "resource_exhausted", "RESOURCE_EXHAUSTED": "resource_exhausted",
    "NOT_LOGGED_IN": "permission_denied", "PERMISSIONS": "permission_denied", "PRO_USER_ONLY": "permission_denied",
    "API_KEY": "unauthenticated", "AUTH": "unauthenticated", "UNAUTHORIZED": "unauthenticated",
    "BAD_REQUEST": "invalid_argument", "BAD_MODEL_NAME": "invalid_argument", "NOT_FOUND": "not_found",
}  # fmt: skip


def message_frame(message: aiserver_pb2.StreamChatResponse, compress: bool = False) -> bytes:
    payload = message.SerializeToString()
    return encode_frame(gzip.compress(payload), FLAG_COMPRESSED) if compress else encode_frame(payload)


def text_frame(text: str, compress: bool = False) -> bytes:
    return message_frame(aiserver_pb2.StreamChatResponse(text=text), compress)


def content_start() -> bytes:
    return encode_frame(b"")


def end_frame() -> bytes:
    return encode_frame(b"{}", FLAG_END_STREAM)


def connect_code_for(error_name: str) -> str:
    return next((code for key, code in _CONNECT_CODES.items() if key in error_name), "internal")


def error_payload(error_name: str, title: str, detail: str, *, with_details: bool = True) -> dict:
    """Connect's end-of-stream error, with `debug` mirroring `value` as the real service does."""
    code = connect_code_for(error_name)
    if not with_details:
        return {"error": {"code": code, "message": "Error", "details": []}}
    details = aiserver_pb2.ErrorDetails(
        error=aiserver_pb2.ErrorDetails.Error.Value(error_name),
        details=aiserver_pb2.CustomErrorDetails(title=title, detail=detail, is_retryable=False),
        is_expected=True,
    )
    value = base64.b64encode(details.SerializeToString()).decode().rstrip("=")
    debug = {"error": error_name, "details": {"title": title, "detail": detail, "isRetryable": False}, "isExpected": True}
    return {"error": {"code": code, "message": "Error",
                      "details": [{"type": "aiserver.v1.ErrorDetails", "debug": debug, "value": value}]}}


def error_frame(error_name: str, title: str = "Request failed", detail: str = "The fake was asked to fail.",
                *, compress: bool = False, with_details: bool = True) -> bytes:
    payload = json.dumps(error_payload(error_name, title, detail, with_details=with_details)).encode()
    if compress:
        return encode_frame(gzip.compress(payload), FLAG_END_STREAM | FLAG_COMPRESSED)
    return encode_frame(payload, FLAG_END_STREAM)


def split_text(text: str, size: int = 3) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]
