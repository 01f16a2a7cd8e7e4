"""OpenAI response shapes: completions, stream chunks, the model list, SSE encoding.

JSON is compact and keeps non-ASCII as is (PROTOCOL §4.5). Stream chunks are built from a
per-stream prefix so the hot path only encodes the content string.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence

from app.cursor.events import ReasoningDelta, TextDelta, ToolCall
from app.settings import MODEL_IDS, MODEL_OWNERS

MODELS_CREATED = 1706659200
DONE_EVENT = "data: [DONE]\n\n"


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def sse_event(payload: object) -> str:
    return f"data: {dumps(payload)}\n\n"


def usage_or_zero(usage: dict | None) -> dict:
    """The upstream's usage (D29), or zeros where the generation counts none (legacy)."""
    return usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def tool_call_body(call: ToolCall) -> dict:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def choice_body(
    index: int,
    content: str,
    *,
    reasoning: str = "",
    tool_calls: Sequence[ToolCall] = (),
    finish_reason: str | None = None,
    refusal: str | None = None,
) -> dict:
    """One choice of a non-streamed completion (`n` gives several, D32)."""
    message: dict = {"role": "assistant", "content": content if content or not tool_calls else None}
    if refusal is not None:  # a response_format json_schema answer that failed the check (D32)
        message["content"] = None
        message["refusal"] = refusal
    if reasoning:
        message["reasoning_content"] = reasoning
    if tool_calls:
        message["tool_calls"] = [tool_call_body(call) for call in tool_calls]
    reason = finish_reason or ("tool_calls" if tool_calls else "stop")
    return {"index": index, "message": message, "finish_reason": reason}


def completion_body(completion_id: str, model: str, choices: list[dict], usage: dict | None = None) -> dict:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage_or_zero(usage),
    }


class ChunkEncoder:
    """The SSE events of one streamed completion (SPEC §6.12 step 4, D33).

    Every chunk carries the same `id`, `created` and `model`; only the first carries
    `delta.role`. Each tool call goes out as one complete delta (PROTOCOL_AGENT §5.2)."""

    def __init__(self, completion_id: str, model: str, created: int | None = None, index: int = 0) -> None:
        self.created = int(time.time()) if created is None else created
        self._index = index  # the choice (`n` streams several, D32)
        self._head = (
            f'data: {{"id":{dumps(completion_id)},"object":"chat.completion.chunk","created":{self.created},'
            f'"model":{dumps(model)},"choices":'
        )
        self._sent_first = False
        self._tool_calls = 0

    def _chunk(self, delta: str, finish: str = "null") -> str:
        if not self._sent_first:
            self._sent_first = True
            delta = '"role":"assistant",' + delta if delta else '"role":"assistant"'
        return f'{self._head}[{{"index":{self._index},"delta":{{{delta}}},"finish_reason":{finish}}}]}}\n\n'

    def content(self, text: str) -> str:
        return self._chunk(f'"content":{dumps(text)}')

    def reasoning(self, text: str) -> str:
        return self._chunk(f'"reasoning_content":{dumps(text)}')

    def tool_call(self, call: ToolCall) -> str:
        index, self._tool_calls = self._tool_calls, self._tool_calls + 1
        return self._chunk(f'"tool_calls":[{dumps({"index": index, **tool_call_body(call)})}]')

    def refusal(self, text: str) -> str:
        return self._chunk(f'"refusal":{dumps(text)}')

    def piece(self, piece: TextDelta | ReasoningDelta | ToolCall) -> str:
        if isinstance(piece, TextDelta):
            return self.content(piece.text)
        if isinstance(piece, ReasoningDelta):
            return self.reasoning(piece.text)
        return self.tool_call(piece)

    def finish(self, reason: str | None = None) -> str:
        """This choice's last chunk; `reason` overrides the finish reason (D32)."""
        return self._chunk("", dumps(reason or ("tool_calls" if self._tool_calls else "stop")))

    def end(self, usage: dict | None = None, include_usage: bool = False) -> str:
        """After every choice's last chunk: with `stream_options.include_usage`, OpenAI's usage
        chunk (`choices: []`), then [DONE]."""
        if not include_usage:
            return DONE_EVENT
        return f'{self._head}[],"usage":{dumps(usage_or_zero(usage))}}}\n\n' + DONE_EVENT


def model_list() -> dict:
    return {
        "object": "list",
        "data": [
            {"id": model, "created": MODELS_CREATED, "object": "model", "owned_by": MODEL_OWNERS[model]}
            for model in MODEL_IDS
        ],
    }
