"""The checks the real service applies to a chat request. Each failure says how the service
answers: an HTTP error (headers and framing) or an error trailer (a well-formed request that
makes no sense)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from app.cursor.checksum import is_valid_checksum
from app.cursor.framing import HEADER
from app.cursor.proto import aiserver_pb2
from tests.fake_cursor.http import Request

CHAT_PATHS = {"/aiserver.v1.AiService/StreamChat": False, "/aiserver.v1.AiService/StreamChatWeb": True}
ALWAYS_PRESENT = ("allow_long_file_scan", "is_bash", "can_handle_filenames_after_language_ids",
                  "long_context_mode", "is_eval", "runnable_code_blocks", "should_cache")  # fmt: skip
_JWT = re.compile(r"[^.\s]+\.[^.\s]+\.[^.\s]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_HUMAN = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_HUMAN
_AI = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_AI


@dataclass
class Rejection(Exception):
    status: int  # 200 means: answered with an error trailer
    code: str
    reason: str


def check_http(request: Request) -> None:
    """Headers and framing: what a Connect server refuses before reading the message."""
    if request.method != "POST":
        raise Rejection(405, "unimplemented", f"method {request.method} not allowed")
    if request.header("Content-Type") != "application/connect+proto":
        raise Rejection(415, "invalid_argument", f"content type {request.header('Content-Type')!r}")
    if request.header("connect-protocol-version") != "1":
        raise Rejection(400, "invalid_argument", "connect-protocol-version must be 1")
    auth = request.header("Authorization") or ""
    if not (auth.startswith("Bearer ") and _JWT.fullmatch(auth[len("Bearer "):])):
        raise Rejection(401, "unauthenticated", "missing or malformed bearer token")
    checksum = request.header("x-cursor-checksum") or ""
    if len(checksum) not in (72, 137) or not is_valid_checksum(checksum):
        raise Rejection(400, "invalid_argument", "invalid checksum")
    if len(request.framing) != 1:
        raise Rejection(400, "invalid_argument", f"request framing {request.framing or 'missing'}")
    trace = re.fullmatch(r"Root=(.+)", request.header("x-amzn-trace-id") or "")
    if not trace or not _UUID.fullmatch(trace.group(1)) or request.header("x-request-id") != trace.group(1):
        raise Rejection(400, "invalid_argument", "x-request-id must equal the x-amzn-trace-id UUID")
    if not re.fullmatch(r"[0-9a-f]{64}", request.header("x-client-key") or ""):
        raise Rejection(400, "invalid_argument", "x-client-key must be 64 hex characters")
    for name in ("x-cursor-client-version", "x-ghost-mode", "x-cursor-timezone"):
        if not request.header(name):
            raise Rejection(400, "invalid_argument", f"missing header {name}")


def parse_message(body: bytes) -> aiserver_pb2.GetChatRequest:
    """Exactly one uncompressed envelope holding a GetChatRequest."""
    if len(body) < HEADER.size:
        raise Rejection(400, "invalid_argument", "body shorter than an envelope header")
    flags, length = HEADER.unpack_from(body)
    if flags != 0 or length != len(body) - HEADER.size:
        raise Rejection(400, "invalid_argument", f"expected one uncompressed envelope (flags {flags}, length {length})")
    try:
        return aiserver_pb2.GetChatRequest.FromString(body[HEADER.size:])
    except DecodeError:
        raise Rejection(400, "invalid_argument", "body is not a GetChatRequest") from None


def check_semantics(message: aiserver_pb2.GetChatRequest, web: bool) -> None:
    """What the service refuses with an ERROR_BAD_REQUEST trailer."""
    conversation = message.conversation
    if not conversation:
        raise Rejection(200, "invalid_argument", "empty conversation")
    for index, entry in enumerate(conversation):
        expected = _HUMAN if index % 2 == 0 else _AI
        if entry.type != expected:
            raise Rejection(200, "invalid_argument", f"conversation[{index}] breaks HUMAN/AI alternation")
        if not entry.bubble_id:
            raise Rejection(200, "invalid_argument", f"conversation[{index}] has no bubble_id")
    if conversation[-1].type != _HUMAN:
        raise Rejection(200, "invalid_argument", "conversation must end with a HUMAN message")
    if not message.model_details.model_name or not message.model_details.HasField("azure_state"):
        raise Rejection(200, "invalid_argument", "model_details needs model_name and azure_state")
    if not message.request_id or not message.conversation_id:
        raise Rejection(200, "invalid_argument", "request_id and conversation_id are required")
    missing = [name for name in ALWAYS_PRESENT if not message.HasField(name)]
    if missing:
        raise Rejection(200, "invalid_argument", f"fields not present: {', '.join(missing)}")
    if web and message.use_web != "full_search":
        raise Rejection(200, "invalid_argument", "StreamChatWeb needs use_web=full_search")
    if not web and message.HasField("use_web"):
        raise Rejection(200, "invalid_argument", "StreamChat must not set use_web")
