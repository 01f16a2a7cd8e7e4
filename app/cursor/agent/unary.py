"""Who the gateway says it is on every agent call, and the unary calls (BidiAppend,
AvailableModels, GetUsableModels): raw protobuf with `application/proto`, no envelope, and a
Connect error with an HTTP status when they fail (AGENT_WIRE §1)."""

from __future__ import annotations

from dataclasses import dataclass

from app.cursor.agent.errors import agent_error_from_body
from app.cursor.errors import ProtocolError
from app.cursor.framing import MIB
from app.cursor.http import Poster

UNARY_CONTENT_TYPE = "application/proto"
USER_AGENT = "connect-es/1.6.1"
ERROR_BODY_LIMIT = 65536
MAX_UNARY_BODY = 16 * MIB


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """The client the gateway presents: `cli` with a real `cli-YYYY.MM.DD-<hash>` build id, or
    `sdk` with `sdk-<semver>`. A stale version is refused ("Update Required"), so it is a
    setting; ghost mode is Cursor's privacy mode."""

    client_type: str
    client_version: str
    ghost_mode: bool

    def headers(self, token: str, request_id: str) -> dict[str, str]:
        """The identity headers of every agent call; `x-request-id` is the turn's request id on
        RunSSE and its appends. No checksum: the CLI and SDK identities need none."""
        return {
            "authorization": f"Bearer {token}",
            "connect-protocol-version": "1",
            "x-cursor-client-type": self.client_type,
            "x-cursor-client-version": self.client_version,
            "x-ghost-mode": "true" if self.ghost_mode else "false",
            "x-request-id": request_id,
            "user-agent": USER_AGENT,
        }


def call_unary(poster: Poster, url: str, headers: dict[str, str], body: bytes, *, timeout: float) -> bytes:
    """POST one unary request and return the response body.

    Raises UpstreamError (the call failed: a Connect error, or an answer that is not one),
    UpstreamTimeout, TransportError, ReadError (cut while reading the answer) or ProtocolError
    (an answer larger than any the gateway expects)."""
    response, answer = poster.post_and_read(
        url, {**headers, "content-type": UNARY_CONTENT_TYPE}, body, timeout=timeout, limit=MAX_UNARY_BODY + 1
    )
    if response.status_code != 200:
        content_type = response.headers.get("Content-Type", "")
        raise agent_error_from_body(response.status_code, content_type, answer[:ERROR_BODY_LIMIT])
    if len(answer) > MAX_UNARY_BODY:
        raise ProtocolError(f"unary answer exceeds the {MAX_UNARY_BODY}-byte limit")
    return answer
