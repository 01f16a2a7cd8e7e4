"""Anthropic Messages API response shapes (D35): the message object, its usage and stop reason,
and the SSE events of a streamed message. Compact JSON, as every front writes it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from app.answer_rules import AnswerRules
from app.cursor.events import ReasoningDelta, TextDelta, ToolCall, Usage
from app.errors import ApiError
from app.openai_format import dumps

Output = TextDelta | ReasoningDelta | ToolCall


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def usage_body(usage: Usage | None) -> dict:
    """Cursor's count (D29) in Anthropic's terms: `input_tokens` excludes the cached parts; zeros
    where the generation counts nothing (legacy)."""
    usage = usage or Usage()
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": usage.output_tokens,
    }


def stop_reason(rules: AnswerRules, tool_called: bool) -> tuple[str, str | None]:
    """(`stop_reason`, `stop_sequence`): the gateway's own cuts first (D32), as on Chat Completions."""
    if rules.finish_reason == "stop":
        return "stop_sequence", rules.stop_sequence
    if rules.finish_reason == "length":
        return "max_tokens", None
    return ("tool_use" if tool_called else "end_turn"), None


def thinking_block(text: str) -> dict:
    # Cursor signs nothing; the empty signature keeps the block's documented shape.
    return {"type": "thinking", "thinking": text, "signature": ""}


def tool_use_block(call: ToolCall, with_input: bool = True) -> dict:
    """A tool call; its arguments are the gateway's own JSON object text (app/cursor/events)."""
    return {
        "type": "tool_use",
        "id": call.id,
        "name": call.name,
        "input": json.loads(call.arguments) if with_input else {},
    }


def message_body(
    message_id: str,
    model: str,
    *,
    text: str,
    reasoning: str,
    tool_calls: Sequence[ToolCall],
    usage: Usage | None,
    rules: AnswerRules,
) -> dict:
    """The whole message; `reasoning` is empty unless thinking was asked for."""
    content = [thinking_block(reasoning)] if reasoning else []
    if text:
        content.append({"type": "text", "text": text})
    content.extend(tool_use_block(call) for call in tool_calls)
    reason, sequence = stop_reason(rules, bool(tool_calls))
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_body(usage),
    }


def sse_event(payload: dict) -> str:
    """One event; Anthropic names each with an `event:` line equal to its `type`."""
    return f"event: {payload['type']}\ndata: {dumps(payload)}\n\n"


PING_EVENT = sse_event({"type": "ping"})


def error_event(error: ApiError) -> str:
    return sse_event(error.anthropic_body())


class MessageStream:
    """The events of one streamed message. A text or thinking block stays open while output of
    its kind continues and is closed when another kind comes; each tool call is a whole block of
    its own, its arguments one `input_json_delta` (Cursor sends complete calls)."""

    def __init__(self, message_id: str, model: str, show_thinking: bool) -> None:
        self._message_id = message_id
        self._model = model
        self._show_thinking = show_thinking
        self._blocks = 0
        self._open: str | None = None  # the kind of the open block ("text", "thinking", "tool_use")
        self.tool_called = False

    def start(self) -> str:
        message: dict = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_body(None),  # Cursor counts at the end of the turn: message_delta has it
        }
        return sse_event({"type": "message_start", "message": message})

    def pieces(self, batch: Sequence[Output]) -> str:
        """The events for a batch of output; empty when it held only reasoning nobody asked for."""
        return "".join(map(self._piece, batch))

    def finish(self, usage: Usage | None, rules: AnswerRules) -> str:
        reason, sequence = stop_reason(rules, self.tool_called)
        delta = {"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": sequence}}
        return self._close() + sse_event(delta | {"usage": usage_body(usage)}) + sse_event({"type": "message_stop"})

    # -- internals --------------------------------------------------------------------------
    def _piece(self, piece: Output) -> str:
        if isinstance(piece, ToolCall):
            self.tool_called = True
            delta = {"type": "input_json_delta", "partial_json": piece.arguments}
            return self._begin(tool_use_block(piece, with_input=False), "tool_use") + self._delta(delta) + self._close()
        if isinstance(piece, ReasoningDelta):
            if not self._show_thinking:
                return ""
            opened = "" if self._open == "thinking" else self._begin(thinking_block(""), "thinking")
            return opened + self._delta({"type": "thinking_delta", "thinking": piece.text})
        opened = "" if self._open == "text" else self._begin({"type": "text", "text": ""}, "text")
        return opened + self._delta({"type": "text_delta", "text": piece.text})

    def _begin(self, block: dict, kind: str) -> str:
        closed = self._close()
        self._open = kind
        self._blocks += 1
        return closed + sse_event({"type": "content_block_start", "index": self._blocks - 1, "content_block": block})

    def _delta(self, delta: dict) -> str:
        return sse_event({"type": "content_block_delta", "index": self._blocks - 1, "delta": delta})

    def _close(self) -> str:
        if self._open is None:
            return ""
        self._open = None
        return sse_event({"type": "content_block_stop", "index": self._blocks - 1})
