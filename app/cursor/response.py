"""From frames to typed events, and Cursor's error reports to UpstreamError (PROTOCOL §2.5–2.8,
§4.2)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable

from google.protobuf.message import DecodeError

from app.cursor.errors import ProtocolError, UpstreamError
from app.cursor.events import ContentStart, Event, FilledPrompt, StreamEnd, TextDelta, WebReferences
from app.cursor.framing import MIB, RESERVED_FLAGS, Frame, FrameDecoder
from app.cursor.proto import aiserver_pb2

_STATUS_BY_ERROR: dict[str, int] = {
    f"ERROR_{name}": status
    for status, names in {
        400: (
            "BAD_MODEL_NAME",
            "SLASH_EDIT_FILE_TOO_LONG",
            "FILE_UNSUPPORTED",
            "CLAUDE_IMAGE_TOO_LARGE",
            "BAD_REQUEST",
        ),
        401: (
            "BAD_API_KEY",
            "INVALID_AUTH_ID",
            "AUTH_TOKEN_NOT_FOUND",
            "AUTH_TOKEN_EXPIRED",
            "UNAUTHORIZED",
            "BAD_USER_API_KEY",  # newer than rc4 (PROTOCOL_AGENT §4.2)
        ),
        403: (
            "NOT_LOGGED_IN",
            "NOT_HIGH_ENOUGH_PERMISSIONS",
            "TASK_NO_PERMISSIONS",
            "AGENT_REQUIRES_LOGIN",
            "PRO_USER_ONLY",
        ),
        404: (
            "USER_NOT_FOUND",
            "TASK_UUID_NOT_FOUND",
            "AGENT_ENGINE_NOT_FOUND",
            "GITGRAPH_NOT_FOUND",
            "FILE_NOT_FOUND",
            "NOT_FOUND",
        ),
        429: (
            "FREE_USER_RATE_LIMIT_EXCEEDED",
            "PRO_USER_RATE_LIMIT_EXCEEDED",
            "OPENAI_RATE_LIMIT_EXCEEDED",
            "OPENAI_ACCOUNT_LIMIT_EXCEEDED",
            "GENERIC_RATE_LIMIT_EXCEEDED",
            "GPT_4_VISION_PREVIEW_RATE_LIMIT",
            "API_KEY_RATE_LIMIT",
            "RATE_LIMITED",  # newer than rc4 (PROTOCOL_AGENT §4.2), mapped like its kind
            "RATE_LIMITED_CHANGEABLE",
        ),
    }.items()
    for name in names
}
"""PROTOCOL §2.6 (plus the agent era's rate-limit and user-API-key names). Every other value,
named or not, is 500 — including the usage limits."""

_ERROR_ENUM = aiserver_pb2.ErrorDetails.Error
_EXCERPT_CHARS = 200
# A JWT (header segments always start `eyJ`): a proxy page may echo the request's Authorization
# or cookie header, and an error message must never carry a session token.
_TOKEN_LIKE = re.compile(r"eyJ[A-Za-z0-9_.%-]{8,}")


def status_for_error(name: str | None) -> int:
    """The HTTP status rc4 answers for an ErrorDetails enum name (500 when unknown)."""
    return _STATUS_BY_ERROR.get(name or "", 500)


def _parse_error_details(value: object) -> aiserver_pb2.ErrorDetails | None:
    """`details[0].value`: standard base64 without padding per rc4; padded input is accepted
    too (PROTOCOL §2.6 Recommend)."""
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        return aiserver_pb2.ErrorDetails.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        return None


def _enum_name(value: int) -> str | None:
    try:
        return _ERROR_ENUM.Name(value)
    except ValueError:  # proto3 enums are open: newer servers send values we do not know
        return None


def upstream_error_from_connect_error(error: dict) -> UpstreamError:
    """A Connect error object (`{"code", "message", "details": [{"value": …}]}`) mapped per
    PROTOCOL §2.7; `message` is always "Error" and `details[].debug` repeats `value`, so both
    are ignored."""
    code = error.get("code")
    code = code if isinstance(code, str) else "unknown"
    details = error.get("details")
    first = details[0] if isinstance(details, list) and details else None
    parsed = _parse_error_details(first.get("value")) if isinstance(first, dict) else None
    if parsed is None:
        return UpstreamError(500, code)
    name = _enum_name(parsed.error)
    if not parsed.HasField("details"):
        return UpstreamError(status_for_error(name), code, name)
    custom = parsed.details
    return UpstreamError(status_for_error(name), code, name, custom.title, custom.detail)


ConnectErrorMapping = Callable[[dict], UpstreamError]
"""How a generation reads a Connect error object; the legacy one is PROTOCOL §2.7's."""


def _json_or_none(data: bytes) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting depth
        return None


def _connect_error_in(body: bytes) -> dict | None:
    """The Connect error in a unary error body: `{"code", …}` or `{"error": {"code", …}}`."""
    parsed = _json_or_none(body)
    if not isinstance(parsed, dict):
        return None
    nested = parsed.get("error")
    error = nested if isinstance(nested, dict) else parsed
    return error if isinstance(error.get("code"), str) else None


def _excerpt(body: bytes) -> str:
    """At most 200 characters of the body on one line, with anything token-like masked."""
    text = _TOKEN_LIKE.sub("[redacted]", body.decode("utf-8", "replace"))
    return " ".join(text.split())[:_EXCERPT_CHARS]


def upstream_error_from_body(
    status: int, content_type: str, body: bytes, to_error: ConnectErrorMapping = upstream_error_from_connect_error
) -> UpstreamError:
    """An answer that is not a Connect stream (PROTOCOL §2.8): mapped through §2.7 (or the
    generation's own `to_error`) when it is a unary Connect error, else a 502 saying what came
    back."""
    error = _connect_error_in(body)
    if error is not None:
        return to_error(error)
    # A 200 is only here because of its content type, so that is what the message names.
    answer = f"HTTP {status}" if status != 200 else f"HTTP 200 with content type {content_type!r}"
    if status == 429:  # a plain rate limit (a CDN's or a proxy's): still a rate limit (issue #14)
        return UpstreamError(429, "resource_exhausted", detail=f"upstream answered {answer}: {_excerpt(body)}")
    return UpstreamError(502, "bad_gateway", detail=f"upstream answered {answer}: {_excerpt(body)}")


def end_of_stream(payload: bytes, to_error: ConnectErrorMapping = upstream_error_from_connect_error) -> StreamEnd:
    """Every end-of-stream frame ends the stream (PROTOCOL §2.5 Recommend): `{}`, or any object
    without `error` (e.g. only `metadata`), is a clean end; an `error` is raised, mapped by the
    generation's `to_error`."""
    message = _json_or_none(payload)
    if not isinstance(message, dict):
        raise ProtocolError("end-of-stream frame is not a JSON object")
    if "error" in message:
        error = message["error"]
        raise to_error(error if isinstance(error, dict) else {})
    return StreamEnd()


def _web_references(citation: aiserver_pb2.WebCitation) -> WebReferences:
    by_url = {reference.url: reference.title for reference in citation.references}  # last title wins
    return WebReferences(tuple(sorted(by_url.items(), key=lambda item: item[0].encode("utf-8"))))


def event_from_frame(frame: Frame) -> Event | None:
    """One frame's event in PROTOCOL §4.2's priority order; None for frames with no output
    (status updates, timing, empty messages, reserved flags)."""
    if not frame.payload:
        return ContentStart()  # by length alone, whatever the flags (rc4)
    if frame.flags & RESERVED_FLAGS:
        return None
    if frame.end_of_stream:
        return end_of_stream(frame.payload)
    try:
        message = aiserver_pb2.StreamChatResponse.FromString(frame.payload)
    except DecodeError:
        raise ProtocolError("data frame is not a StreamChatResponse") from None
    if message.text:
        return TextDelta(message.text)
    if message.HasField("filled_prompt"):
        return FilledPrompt(message.filled_prompt)
    if message.HasField("web_citation"):
        return _web_references(message.web_citation)
    return None


class ResponseDecoder:
    """Bytes of a StreamChat response body in, events out, whatever the read sizes.

    Anything after StreamEnd is a ProtocolError: garbage after the end means a broken upstream,
    and silently ignoring it would hide that."""

    def __init__(self, max_frame_bytes: int = 16 * MIB, max_decompressed_bytes: int = 16 * MIB) -> None:
        self._frames = FrameDecoder(max_frame_bytes, max_decompressed_bytes)
        self._ended = False

    def feed(self, data: bytes) -> list[Event]:
        """The events completed by `data`; raises UpstreamError for an error trailer."""
        if self._ended and data:
            raise ProtocolError("data after the end of the stream")
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
        """The body ended: raises ProtocolError when it ended inside a frame."""
        self._frames.finish()
