"""The checks the real service applies to a chat request. A failure is a Rejection that says how
the service answers: an HTTP error with a Connect JSON body (headers and framing, refused before
the message is read), or an ERROR_BAD_REQUEST trailer in a 200 (a well-framed request that
makes no sense)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from app.cursor.framing import HEADER
from app.cursor.proto import aiserver_pb2
from tests.fake_cursor.request import Request

CHAT_PATH = "/aiserver.v1.AiService/StreamChat"
WEB_PATH = "/aiserver.v1.AiService/StreamChatWeb"
CHAT_PATHS = {CHAT_PATH: False, WEB_PATH: True}  # path -> is the web-search RPC
CONNECT_PROTO = "application/connect+proto"
ALWAYS_PRESENT = ("allow_long_file_scan", "is_bash", "can_handle_filenames_after_language_ids",
                  "long_context_mode", "is_eval", "runnable_code_blocks", "should_cache")  # fmt: skip

_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")  # three base64url parts, nothing else
_TRACE = re.compile(r"Root=([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_CLIENT_KEY = re.compile(r"[0-9a-f]{64}")
_HUMAN = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_HUMAN
_AI = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_AI


@dataclass
class Rejection(Exception):
    status: int  # HTTP status; 200 means: answered with an ERROR_BAD_REQUEST trailer
    code: str  # Connect code
    reason: str

    @classmethod
    def bad_request(cls, reason: str) -> Rejection:
        return cls(200, "invalid_argument", reason)


def check_route(request: Request) -> None:
    if request.path not in CHAT_PATHS:
        raise Rejection(404, "unimplemented", f"unknown path {request.path}")
    if request.method != "POST":
        raise Rejection(405, "unimplemented", f"method {request.method} not allowed")


def check_http(request: Request) -> None:
    """Headers and body framing: what a Connect server refuses before reading the message."""
    if request.header("Content-Type") != CONNECT_PROTO:
        raise Rejection(
            415, "invalid_argument", f"content type {request.header('Content-Type')!r} is not {CONNECT_PROTO}"
        )
    if request.header("connect-protocol-version") != "1":
        raise Rejection(400, "invalid_argument", "connect-protocol-version must be 1")
    auth = request.header("Authorization") or ""
    if not (auth.startswith("Bearer ") and _JWT.fullmatch(auth.removeprefix("Bearer "))):
        raise Rejection(401, "unauthenticated", "missing or malformed Authorization: Bearer <jwt>")
    if not _valid_checksum(request.header("x-cursor-checksum") or ""):
        raise Rejection(400, "invalid_argument", "invalid checksum")
    if len(request.framing) != 1:
        raise Rejection(
            400,
            "invalid_argument",
            f"body framing must be Content-Length or chunked, got {request.framing or 'neither'}",
        )


def _valid_checksum(checksum: str) -> bool:
    from app.cursor.checksum import is_valid_checksum  # lazily: written alongside this fake

    return len(checksum) in (72, 137) and is_valid_checksum(checksum)


def parse_message(body: bytes) -> aiserver_pb2.GetChatRequest:
    """Exactly one uncompressed envelope holding a GetChatRequest."""
    if len(body) < HEADER.size:
        raise Rejection(400, "invalid_argument", f"body of {len(body)} bytes is not an envelope")
    flags, length = HEADER.unpack_from(body)
    if flags != 0 or length != len(body) - HEADER.size:
        raise Rejection(
            400,
            "invalid_argument",
            f"expected one uncompressed envelope: flags {flags}, length {length}, body {len(body)} bytes",
        )
    try:
        return aiserver_pb2.GetChatRequest.FromString(body[HEADER.size :])
    except DecodeError:
        raise Rejection(400, "invalid_argument", "envelope payload is not a GetChatRequest") from None


def check_semantics(request: Request, message: aiserver_pb2.GetChatRequest) -> None:
    """What the service answers with an ERROR_BAD_REQUEST trailer."""
    reason = (
        _conversation(message)
        or _model_and_ids(message)
        or _always_present(message)
        or _use_web(message, web=CHAT_PATHS[request.path])
        or _tracing_headers(request)
    )
    if reason:
        raise Rejection.bad_request(reason)


def _conversation(message: aiserver_pb2.GetChatRequest) -> str | None:
    conversation = message.conversation
    if not conversation:
        return "empty conversation"
    for index, entry in enumerate(conversation):
        if entry.type != (_HUMAN if index % 2 == 0 else _AI):
            return f"conversation[{index}] breaks the HUMAN/AI alternation starting with HUMAN"
        if not entry.bubble_id:
            return f"conversation[{index}] has no bubble_id"
    if conversation[-1].type != _HUMAN:
        return "conversation must end with a HUMAN message"
    return None


def _model_and_ids(message: aiserver_pb2.GetChatRequest) -> str | None:
    if not message.model_details.model_name:
        return "model_details.model_name is empty"
    if not message.model_details.HasField("azure_state"):
        return "model_details.azure_state is not present"
    if not message.request_id:
        return "request_id is empty"
    if not message.conversation_id:
        return "conversation_id is empty"
    return None


def _always_present(message: aiserver_pb2.GetChatRequest) -> str | None:
    missing = [name for name in ALWAYS_PRESENT if not message.HasField(name)]
    return f"fields not present: {', '.join(missing)}" if missing else None


def _use_web(message: aiserver_pb2.GetChatRequest, web: bool) -> str | None:
    if web and message.use_web != "full_search":
        return "StreamChatWeb needs use_web=full_search"
    if not web and message.HasField("use_web"):
        return "StreamChat must not set use_web"
    return None


def _tracing_headers(request: Request) -> str | None:
    trace = _TRACE.fullmatch(request.header("x-amzn-trace-id") or "")
    if not trace or request.header("x-request-id") != trace.group(1):
        return "x-request-id must equal the UUID in x-amzn-trace-id (Root=<uuid>)"
    if not _CLIENT_KEY.fullmatch(request.header("x-client-key") or ""):
        return "x-client-key must be 64 lower-case hex characters"
    for name in ("x-cursor-client-version", "x-ghost-mode"):
        if not request.header(name):
            return f"header {name} is missing"
    return None
