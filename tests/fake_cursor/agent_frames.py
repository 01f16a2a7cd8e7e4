"""Frames and errors of the agent protocol (AGENT_WIRE §4-§6) built from the fake's own schema.

Errors carry an `aiserver.v1.ErrorDetails` (the fake's copy, with the 2026 enum values of
PROTOCOL_AGENT §4.2 and CustomErrorDetails field 10) and the bare top-level message "Error",
as the real service sends them: a client must classify on the details."""

from __future__ import annotations

import base64
import gzip
import json

from app.cursor.framing import FLAG_COMPRESSED, FLAG_END_STREAM, encode_frame
from tests.fake_cursor.frames import CONNECT_CODES
from tests.fake_cursor.proto import agent_fake_pb2 as pb

AgentError = pb.ErrorDetails.Error

# Cursor's real "Update Required" answer to a stale client (jcode#399, PROTOCOL_AGENT §10): these
# values serialize to exactly the 156 bytes of that capture. Note the detail: "latest version
# at", not AGENT_WIRE §6's "latest version of Cursor at".
UPDATE_REQUIRED_ERROR = "ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT"
UPDATE_REQUIRED_TITLE = "Update Required"
UPDATE_REQUIRED_DETAIL = (
    "Your version of Cursor is no longer supported. Please update to the latest version at "
    "cursor.com/downloads to continue."
)
UPDATE_REQUIRED_ACTION = "payment"

# Connect codes of the 2026 error classes the legacy table (frames.CONNECT_CODES) does not know,
# and the one it reads differently: NOT_LOGGED_IN is 401 on api2 in 2026 (thalamus, §4.2 addendum).
_AGENT_CODES = {
    "ERROR_NOT_LOGGED_IN": "unauthenticated",
    "ERROR_TIMEOUT": "deadline_exceeded",
    "ERROR_BAD_USER_API_KEY": "unauthenticated",
    "ERROR_CONVERSATION_TOO_LONG": "invalid_argument",
    "ERROR_USAGE_PRICING_REQUIRED": "resource_exhausted",
    "ERROR_USAGE_PRICING_REQUIRED_CHANGEABLE": "resource_exhausted",
    "ERROR_RATE_LIMITED": "resource_exhausted",
    "ERROR_RATE_LIMITED_CHANGEABLE": "resource_exhausted",
    "ERROR_HOOKS_BLOCKED": "permission_denied",
    "ERROR_CUSTOM": "internal",
}
RETRYABLE = frozenset(
    {"ERROR_TIMEOUT", "ERROR_RATE_LIMITED", "ERROR_RATE_LIMITED_CHANGEABLE", "ERROR_RESOURCE_EXHAUSTED",
     "ERROR_GENERIC_RATE_LIMIT_EXCEEDED"}
)  # fmt: skip
# Connect's HTTP mapping for unary errors (AGENT_WIRE §1).
HTTP_STATUS = {
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "already_exists": 409,
    "resource_exhausted": 429,
    "internal": 500,
    "unavailable": 503,
    "deadline_exceeded": 504,
    "unimplemented": 404,
}


def error_name(name: str) -> str:
    """`BAD_API_KEY` or `ERROR_BAD_API_KEY` -> `ERROR_BAD_API_KEY`; ValueError if the schema has
    no such value."""
    full = name if name.startswith("ERROR_") else f"ERROR_{name}"
    AgentError.Value(full)  # raises ValueError for an unknown name
    return full


def connect_code(name: str) -> str:
    return _AGENT_CODES.get(name) or CONNECT_CODES.get(name, "internal")


def error_detail(name: str, title: str, detail: str, action_required: str = "") -> dict:
    """One `details` entry: the base64 ErrorDetails (no padding, as the service sends it) and the
    `debug` mirror of it."""
    custom = pb.CustomErrorDetails(title=title, detail=detail)
    debug_details: dict = {"title": title, "detail": detail}
    if action_required:
        custom.analytics_metadata.action_required = action_required
        debug_details["analyticsMetadata"] = {"actionRequired": action_required}
    else:
        custom.is_retryable = name in RETRYABLE
        debug_details["isRetryable"] = custom.is_retryable
    details = pb.ErrorDetails(error=AgentError.Value(name), details=custom, is_expected=True)
    value = base64.b64encode(details.SerializeToString()).decode().rstrip("=")
    debug = {"error": name, "details": debug_details, "isExpected": True}
    return {"type": "aiserver.v1.ErrorDetails", "debug": debug, "value": value}


def error_body(name: str, title: str, detail: str, action_required: str = "", code: str = "") -> dict:
    """The Connect error object {code, message: "Error", details: [ErrorDetails]}."""
    return {
        "code": code or connect_code(name),
        "message": "Error",
        "details": [error_detail(name, title, detail, action_required)],
    }


def update_required_body() -> dict:
    return error_body(
        UPDATE_REQUIRED_ERROR,
        UPDATE_REQUIRED_TITLE,
        UPDATE_REQUIRED_DETAIL,
        UPDATE_REQUIRED_ACTION,
        "resource_exhausted",
    )


def plain_error(code: str, message: str) -> dict:
    """A Connect error without details (AGENT_WIRE §6: seqno, first message, state, ...)."""
    return {"code": code, "message": message}


def end_stream(error: dict | None = None) -> bytes:
    """The end-of-stream frame: `{}`, or `{"error": ...}`."""
    if error is None:
        return END_OK
    data = json.dumps({"error": error}, separators=(",", ":"), ensure_ascii=False).encode()
    return encode_frame(data, FLAG_END_STREAM)


END_OK = encode_frame(b"{}", FLAG_END_STREAM)


def frame(message: pb.AgentServerMessage, compress: bool = False) -> bytes:
    payload = message.SerializeToString()
    if compress:
        return encode_frame(gzip.compress(payload, mtime=0), FLAG_COMPRESSED)
    return encode_frame(payload)


def update(compress: bool = False, **fields) -> bytes:
    """A frame of one interaction_update, e.g. `update(text_delta=pb.TextDelta(text="hi"))`."""
    return frame(pb.AgentServerMessage(interaction_update=pb.InteractionUpdate(**fields)), compress)


HEARTBEAT = update(heartbeat=pb.Heartbeat())
STEP_STARTED = update(step_started=pb.StepStarted())
STEP_COMPLETED = update(step_completed=pb.StepCompleted())


def text_delta(text: str, compress: bool = False) -> bytes:
    return update(compress, text_delta=pb.TextDelta(text=text))


def thinking_delta(text: str) -> bytes:
    return update(thinking_delta=pb.ThinkingDelta(text=text))


def token_delta(tokens: int) -> bytes:
    return update(token_delta=pb.TokenDelta(tokens=tokens))


def turn_ended(usage: dict[str, int]) -> bytes:
    return update(turn_ended=pb.TurnEnded(**usage))


def checkpoint(blob_ids: list[bytes]) -> bytes:
    state = pb.ConversationStateStructure(root_prompt_messages_json=blob_ids, mode=1, agent_type="agent")
    return frame(pb.AgentServerMessage(conversation_checkpoint_update=state))
