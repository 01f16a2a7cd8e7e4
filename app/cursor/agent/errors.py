"""Cursor's refusals on the agent protocol as UpstreamError (AGENT_WIRE §6).

An error carrying `aiserver.v1.ErrorDetails` is classified on the decoded detail, exactly as the
legacy generation does (its top-level message is often the bare "Error"). The agent protocol
also refuses without details (a seqno gap, an unknown request id, a dropped turn); their Connect
message is the only explanation there is, so it is kept as the detail, and the Connect code
picks the status.
"""

from __future__ import annotations

from app.cursor.errors import UpstreamError
from app.cursor.response import upstream_error_from_body, upstream_error_from_connect_error

_STATUS_BY_CODE = {
    "unauthenticated": 401,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "unavailable": 503,
    "deadline_exceeded": 504,
}
"""Codes that say something about the credential or the service's load; every other refusal
without details means the upstream rejected what the gateway sent: 502."""


def agent_error(error: dict) -> UpstreamError:
    """A Connect error object (`{"code", "message"[, "details"]}`) as an UpstreamError."""
    mapped = upstream_error_from_connect_error(error)
    if mapped.error_name is not None or mapped.title is not None:
        return mapped
    message = error.get("message")
    detail = message if isinstance(message, str) and message and message != "Error" else None
    return UpstreamError(_STATUS_BY_CODE.get(mapped.connect_code, 502), mapped.connect_code, detail=detail)


def agent_error_from_body(status: int, content_type: str, body: bytes) -> UpstreamError:
    """A unary answer that failed (or a RunSSE answer that is not a Connect stream)."""
    return upstream_error_from_body(status, content_type, body, agent_error)
