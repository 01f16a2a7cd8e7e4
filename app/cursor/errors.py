"""What can go wrong talking to Cursor, as one exception hierarchy.

The gateway maps these to HTTP answers in one place (app/services/chat.py); this module only
says what happened, with the facts needed to report it.
"""

from __future__ import annotations


class CursorError(Exception):
    """Base class: any failure of an upstream call."""


class UpstreamTimeout(CursorError):
    """No response headers (or no first frame) within the allowed time."""


class TransportError(CursorError):
    """The request could not be sent or the connection failed before response headers."""


class ReadError(CursorError):
    """The connection failed while reading the response body (cut mid-stream, reset)."""


class ProtocolError(CursorError):
    """The body is not valid Connect framing: oversized or truncated frame, gzip bomb,
    undecodable end-of-stream JSON. The message says which."""


class EmptyAnswer(CursorError):
    """The upstream ended the turn cleanly without a word: no text, no reasoning, no tool call.
    Cursor's silent soft block looks like this (PROTOCOL_AGENT §1), so it is a failure, never
    an empty answer."""

    def __init__(self) -> None:
        super().__init__("Cursor returned an empty turn (no text, no reasoning, no tool call): a silent soft block")


class UpstreamError(CursorError):
    """Cursor reported an error: an end-of-stream error trailer, or a non-Connect error body.

    http_status    the status the gateway answers with (PROTOCOL §2.6 table; 500 when unknown)
    connect_code   Connect code string from the trailer (`resource_exhausted`, ...)
    error_name     ErrorDetails enum name (`ERROR_FREE_USER_USAGE_LIMIT`), None if undecodable
    title, detail  CustomErrorDetails texts, None when absent
    """

    def __init__(
        self,
        http_status: int,
        connect_code: str,
        error_name: str | None = None,
        title: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.connect_code = connect_code
        self.error_name = error_name
        self.title = title
        self.detail = detail
        super().__init__(self.label if detail is None else f"{self.label}: {detail}")

    @property
    def label(self) -> str:
        """The reference's `error` field: the custom title, else the connect code."""
        return self.title or self.connect_code

    @property
    def log_text(self) -> str:
        """The request log's `error` text: the title, else the connect code with spaces."""
        return self.title or self.connect_code.replace("_", " ")


STALE_CLIENT_TITLE = "Update Required"
_STALE_CLIENT_DETAIL = "no longer supported"


def is_stale_client(error: BaseException) -> bool:
    """Cursor refusing the client version the gateway presents (AGENT_WIRE §6: error 28, reused,
    titled "Update Required", "Your version of Cursor is no longer supported…"; or the enum's
    own ERROR_OUTDATED_CLIENT). The fix is a newer client version, not another token, so callers
    report it as a configuration problem."""
    if not isinstance(error, UpstreamError):
        return False
    return (
        error.error_name == "ERROR_OUTDATED_CLIENT"
        or (error.title or "").startswith(STALE_CLIENT_TITLE)
        or _STALE_CLIENT_DETAIL in (error.detail or "")
    )
