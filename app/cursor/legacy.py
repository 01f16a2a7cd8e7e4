"""rc.4's generation: one `AiService/StreamChat` call (PROTOCOL.md), kept as `CURSOR_PROTOCOL=legacy`."""

from __future__ import annotations

from app.cursor.client import ChatResponse, CursorClient
from app.cursor.convert import build_chat_request, encode_chat_body
from app.cursor.generations import UpstreamCredential
from app.cursor.messages import ChatTurn


class LegacyGeneration:
    name = "legacy"
    supports_tools = False  # StreamChat has no tool calls

    def __init__(self, client: CursorClient) -> None:
        self._client = client

    def open(
        self, turn: ChatTurn, credential: UpstreamCredential, *, timeout: float, idle_timeout: float
    ) -> ChatResponse:
        default = "\n\n".join(part for part in (turn.default_instructions, *turn.instructions) if part)
        request = build_chat_request(
            [message for message in turn.messages if message.role != "tool"],
            model_name=turn.model,
            default_instructions=default,
            web_search=turn.web_search,
            slow_pool=turn.slow_pool,
        )
        return self._client.open_chat(
            encode_chat_body(request),
            token=credential.token,
            checksum=credential.checksum,
            web=turn.web_search,
            timeout=timeout,
            idle_timeout=idle_timeout,
        )
