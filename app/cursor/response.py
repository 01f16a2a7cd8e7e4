"""From frames to typed events, and Cursor's error reports to UpstreamError (PROTOCOL §2.5–2.8,
§4.2)."""
from __future__ import annotations

import base64
import binascii
import json

from google.protobuf.message import DecodeError

from app.cursor.errors import ProtocolError, UpstreamError
from app.cursor.events import ContentStart, Event, FilledPrompt, StreamEnd, TextDelta, WebReferences
from app.cursor.framing import MIB, Frame, FrameDecoder
from app.cursor.proto import aiserver_pb2

_ERROR_STATUS = {
    "ERROR_BAD_API_KEY": 401, "ERROR_INVALID_AUTH_ID": 401, "ERROR_AUTH_TOKEN_NOT_FOUND": 401,
    "ERROR_AUTH_TOKEN_EXPIRED": 401, "ERROR_UNAUTHORIZED": 401,
    "ERROR_NOT_LOGGED_IN": 403, "ERROR_NOT_HIGH_ENOUGH_PERMISSIONS": 403, "ERROR_AGENT_REQUIRES_LOGIN": 403,
    "ERROR_PRO_USER_ONLY": 403, "ERROR_TASK_NO_PERMISSIONS": 403,
    "ERROR_NOT_FOUND": 404, "ERROR_USER_NOT_FOUND": 404, "ERROR_TASK_UUID_NOT_FOUND": 404,
    "ERROR_AGENT_ENGINE_NOT_FOUND": 404, "ERROR_GITGRAPH_NOT_FOUND": 404, "ERROR_FILE_NOT_FOUND": 404,
    "ERROR_FREE_USER_RATE_LIMIT_EXCEEDED": 429, "ERROR_PRO_USER_RATE_LIMIT_EXCEEDED": 429,
    "ERROR_OPENAI_RATE_LIMIT_EXCEEDED": 429, "ERROR_OPENAI_ACCOUNT_LIMIT_EXCEEDED": 429,
    "ERROR_GENERIC_RATE_LIMIT_EXCEEDED": 429, "ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT": 429,
    "ERROR_API_KEY_RATE_LIMIT": 429,
    "ERROR_BAD_REQUEST": 400, "ERROR_BAD_MODEL_NAME": 400, "ERROR_SLASH_EDIT_FILE_TOO_LONG": 400,
    "ERROR_FILE_UNSUPPORTED": 400, "ERROR_CLAUDE_IMAGE_TOO_LARGE": 400,
}  # fmt: skip  -- every other value, known or not, is 500 (PROTOCOL §2.6)
_ERROR_ENUM = aiserver_pb2.ErrorDetails.Error


def status_for_error(name: str | None) -> int:
    return _ERROR_STATUS.get(name or "", 500)


def _decode_details(value: object) -> aiserver_pb2.ErrorDetails | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)  # padded or not
        return aiserver_pb2.ErrorDetails.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        return None


def upstream_error_from_connect_error(error: dict) -> UpstreamError:
    """A Connect error object (`{"code", "message", "details": [{"value": …}]}`)."""
    code = error.get("code") if isinstance(error.get("code"), str) else "unknown"
    details = error.get("details")
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else None
    parsed = _decode_details(first.get("value")) if first else None
    if parsed is None:
        return UpstreamError(500, code)
    known = parsed.error in _ERROR_ENUM.values()
    name = _ERROR_ENUM.Name(parsed.error) if known else None
    title = detail = None
    if parsed.HasField("details"):
        title, detail = parsed.details.title, parsed.details.detail
    return UpstreamError(status_for_error(name), code, name, title, detail)


def upstream_error_from_body(status: int, content_type: str, body: bytes) -> UpstreamError:
    """A non-Connect answer (PROTOCOL §2.8): a unary Connect error if it is one, else a 502
    saying what came back."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error") if isinstance(parsed.get("error"), dict) else parsed
        if isinstance(error.get("code"), str):
            return upstream_error_from_connect_error(error)
    excerpt = body[:200].decode("utf-8", "replace").strip()
    kind = content_type or "no content type"
    return UpstreamError(502, "bad_gateway", None, "Bad gateway", f"upstream answered HTTP {status} ({kind}): {excerpt}")


def _end_of_stream(payload: bytes) -> StreamEnd:
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("end-of-stream frame is not JSON") from None
    if isinstance(message, dict) and isinstance(message.get("error"), dict):
        raise upstream_error_from_connect_error(message["error"])
    return StreamEnd()


def event_from_frame(frame: Frame) -> Event | None:
    """One frame's item, in PROTOCOL §4.2's priority order; None for frames with no output
    (status updates, timing, empty messages)."""
    if not frame.payload:
        return ContentStart()
    if frame.flags > 3:
        return None  # reserved flag bits: skipped, as rc4 does
    if frame.end_of_stream:
        return _end_of_stream(frame.payload)
    try:
        message = aiserver_pb2.StreamChatResponse.FromString(frame.payload)
    except DecodeError:
        raise ProtocolError("data frame is not a StreamChatResponse") from None
    if message.text:
        return TextDelta(message.text)
    if message.HasField("filled_prompt"):
        return FilledPrompt(message.filled_prompt)
    if message.HasField("web_citation"):
        by_url = {ref.url: ref.title for ref in message.web_citation.references}
        return WebReferences(tuple(sorted(by_url.items(), key=lambda item: item[0].encode())))
    return None


class ResponseDecoder:
    """Bytes of a StreamChat response body in, events out, whatever the read sizes."""

    def __init__(self, max_frame_bytes: int = 16 * MIB, max_decompressed_bytes: int = 16 * MIB) -> None:
        self._frames = FrameDecoder(max_frame_bytes, max_decompressed_bytes)
        self._ended = False

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for frame in self._frames.feed(data):
            if self._ended:
                raise ProtocolError("data after the end of the stream")
            event = event_from_frame(frame)
            if event is not None:
                events.append(event)
                self._ended = isinstance(event, StreamEnd)
        if self._ended and self._frames.buffered:
            raise ProtocolError("data after the end of the stream")
        return events

    def finish(self) -> None:
        self._frames.finish()
