"""Building Cursor's response frames (PROTOCOL §2, §4) the way the real service sends them."""

from __future__ import annotations

import base64
import functools
import gzip
import json
import zlib

from app.cursor.framing import FLAG_COMPRESSED, FLAG_END_STREAM, encode_frame
from app.cursor.proto import aiserver_pb2

ErrorEnum = aiserver_pb2.ErrorDetails.Error

# The Connect code the service pairs with each ErrorDetails value; anything not listed is
# "internal". Usage limits are resource_exhausted even though rc4 maps them to HTTP 500.
_CONNECT_CODE_GROUPS: dict[str, tuple[str, ...]] = {
    "resource_exhausted": (
        "ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", "ERROR_PRO_USER_RATE_LIMIT_EXCEEDED", "ERROR_FREE_USER_USAGE_LIMIT",
        "ERROR_PRO_USER_USAGE_LIMIT", "ERROR_OPENAI_RATE_LIMIT_EXCEEDED", "ERROR_OPENAI_ACCOUNT_LIMIT_EXCEEDED",
        "ERROR_GENERIC_RATE_LIMIT_EXCEEDED", "ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT", "ERROR_API_KEY_RATE_LIMIT",
        "ERROR_RESOURCE_EXHAUSTED",
    ),
    "unauthenticated": (
        "ERROR_BAD_API_KEY", "ERROR_INVALID_AUTH_ID", "ERROR_AUTH_TOKEN_NOT_FOUND", "ERROR_AUTH_TOKEN_EXPIRED",
        "ERROR_UNAUTHORIZED",
    ),
    "permission_denied": (
        "ERROR_NOT_LOGGED_IN", "ERROR_NOT_HIGH_ENOUGH_PERMISSIONS", "ERROR_TASK_NO_PERMISSIONS",
        "ERROR_AGENT_REQUIRES_LOGIN", "ERROR_PRO_USER_ONLY",
    ),
    "invalid_argument": (
        "ERROR_BAD_REQUEST", "ERROR_BAD_MODEL_NAME", "ERROR_SLASH_EDIT_FILE_TOO_LONG", "ERROR_FILE_UNSUPPORTED",
        "ERROR_CLAUDE_IMAGE_TOO_LARGE",
    ),
    "not_found": (
        "ERROR_USER_NOT_FOUND", "ERROR_TASK_UUID_NOT_FOUND", "ERROR_AGENT_ENGINE_NOT_FOUND",
        "ERROR_GITGRAPH_NOT_FOUND", "ERROR_FILE_NOT_FOUND", "ERROR_NOT_FOUND",
    ),
}  # fmt: skip
CONNECT_CODES: dict[str, str] = {name: code for code, names in _CONNECT_CODE_GROUPS.items() for name in names}

BOMB_INFLATED_BYTES = 64 * 1024 * 1024


def _gzip(data: bytes) -> bytes:
    # mtime=0 like the real service's frames, so the same reply is always the same bytes
    return gzip.compress(data, mtime=0)


def message_frame(message: aiserver_pb2.StreamChatResponse, compress: bool = False) -> bytes:
    payload = message.SerializeToString()
    return encode_frame(_gzip(payload), FLAG_COMPRESSED) if compress else encode_frame(payload)


def text_frame(text: str, compress: bool = False) -> bytes:
    # An empty text would serialize to nothing: a zero-length frame, which means ContentStart.
    assert text, "a text frame needs text"
    return message_frame(aiserver_pb2.StreamChatResponse(text=text), compress)


def text_frames(pieces: list[str], compress: bool = False) -> list[bytes]:
    return [text_frame(piece, compress) for piece in pieces if piece]


def content_start() -> bytes:
    return encode_frame(b"")


def end_frame() -> bytes:
    return encode_frame(b"{}", FLAG_END_STREAM)


def split_text(text: str, size: int = 3) -> list[str]:
    """Pieces of `size` characters: slicing a str never cuts a UTF-8 sequence."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def connect_code_for(error_name: str) -> str:
    return CONNECT_CODES.get(error_name, "internal")


def error_enum(name: str) -> int:
    """The ErrorDetails value for `name` (ValueError for a name the schema does not have)."""
    return ErrorEnum.Value(name)


def error_payload(error_name: str, title: str, detail: str) -> dict:
    """Connect's end-of-stream error, `debug` mirroring `value` as the real service's does."""
    details = aiserver_pb2.ErrorDetails(
        error=error_enum(error_name),
        details=aiserver_pb2.CustomErrorDetails(title=title, detail=detail, is_retryable=False),
        is_expected=True,
    )
    value = base64.b64encode(details.SerializeToString()).decode().rstrip("=")  # the service omits padding
    debug = {
        "error": error_name,
        "details": {"title": title, "detail": detail, "isRetryable": False},
        "isExpected": True,
    }
    return {
        "error": {
            "code": connect_code_for(error_name),
            "message": "Error",
            "details": [{"type": "aiserver.v1.ErrorDetails", "debug": debug, "value": value}],
        }
    }


def end_of_stream(payload: dict, compress: bool = False) -> bytes:
    # compact JSON, byte for byte what the service sends (protocol_vectors error_trailer_synthetic)
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if compress:
        return encode_frame(_gzip(data), FLAG_END_STREAM | FLAG_COMPRESSED)
    return encode_frame(data, FLAG_END_STREAM)


def error_frame(error_name: str, title: str, detail: str, compress: bool = False) -> bytes:
    return end_of_stream(error_payload(error_name, title, detail), compress)


def bad_request_frame(reason: str) -> bytes:
    """How the service answers a well-framed request that makes no sense."""
    return error_frame("ERROR_BAD_REQUEST", "Bad request", reason)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@functools.cache
def bomb_frame() -> bytes:
    """A gzip frame whose StreamChatResponse inflates to exactly 64 MiB (~64 KiB on the wire).
    Compressed piecewise so the fake never holds the 64 MiB itself; built once."""
    text_length = BOMB_INFLATED_BYTES - 5  # tag byte + a 4-byte varint length precede the text
    head = b"\x0a" + _varint(text_length)
    assert len(head) == 5
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [deflater.compress(head)]
    block = b"x" * (1 << 20)
    for start in range(0, text_length, len(block)):
        parts.append(deflater.compress(block[: min(len(block), text_length - start)]))
    parts.append(deflater.flush())
    return encode_frame(b"".join(parts), FLAG_COMPRESSED)
