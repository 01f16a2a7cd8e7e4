"""Responses API shapes (D35): the response object, its output items and usage, and the events
of a streamed response, as the `openai` SDK's types in `openai/types/responses` read them.

One `ResponseEvents` per response, fed the chat core's output in upstream order, builds both:
each piece becomes its stream events (discarded when not streaming) and grows the output items
of the final response object, so the two can never disagree.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from app.cursor.events import ReasoningDelta, TextDelta, ToolCall, Usage
from app.errors import ApiError
from app.openai_format import dumps

Piece = TextDelta | ReasoningDelta | ToolCall
INCOMPLETE_REASONS = {"length": "max_output_tokens"}  # the gateway's finish reasons that cut an answer


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def usage_of(usage: Usage | None) -> dict:
    """The Responses API's usage for the upstream's count (D29; zeros where none is counted):
    the same numbers as Chat Completions' `usage_body`, under the Responses names."""
    usage = usage or Usage()
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
    }


def _text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _refusal_part(text: str) -> dict:
    return {"type": "refusal", "refusal": text}


def _message(item_id: str, status: str, content: list[dict]) -> dict:
    return {"type": "message", "id": item_id, "role": "assistant", "status": status, "content": content}


def _reasoning(item_id: str, summary: list[dict]) -> dict:
    return {"type": "reasoning", "id": item_id, "summary": summary}


def _summary(text: str) -> dict:
    return {"type": "summary_text", "text": text}


def _function_call(item_id: str, call: ToolCall, arguments: str, status: str) -> dict:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
        "status": status,
    }


@dataclass(slots=True)
class _OpenItem:
    """The message or reasoning item being streamed: more text may still join it."""

    kind: type[TextDelta] | type[ReasoningDelta]
    id: str
    index: int
    texts: list[str] = field(default_factory=list)


class ResponseEvents:
    def __init__(self, model: str, echo: dict, store: bool) -> None:
        self.id = new_id("resp")
        self._shell = {
            "id": self.id,
            "object": "response",
            "created_at": int(time.time()),
            "model": model,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "store": store,
            "truncation": "disabled",
            **echo,
        }
        self.output: list[dict] = []
        self._open: _OpenItem | None = None
        self._sequence = 0
        self.response: dict | None = None  # the final response object, once finished

    # -- the stream -------------------------------------------------------------------------
    def start(self) -> str:
        snapshot = self._body("in_progress", None)
        return self._event("response.created", response=snapshot) + self._event(
            "response.in_progress", response=snapshot
        )

    def piece(self, piece: Piece) -> str:
        if isinstance(piece, ToolCall):
            return self._close() + self._tool_call(piece)
        opened = ""
        if self._open is None or self._open.kind is not type(piece):
            opened = self._close() + self._open_item(type(piece))
        assert self._open is not None
        self._open.texts.append(piece.text)
        where = {"item_id": self._open.id, "output_index": self._open.index}
        if isinstance(piece, TextDelta):
            return opened + self._event(
                "response.output_text.delta", **where, content_index=0, delta=piece.text, logprobs=[]
            )
        return opened + self._event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=piece.text)

    def refusal(self, text: str) -> str:
        """A json_schema answer that failed the check (D32): a message with a refusal part."""
        events = self._close()
        item_id, index = new_id("msg"), len(self.output)
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        events += self._added(_message(item_id, "in_progress", []))
        events += self._event("response.content_part.added", **where, part=_refusal_part(""))
        events += self._event("response.refusal.delta", **where, delta=text)
        events += self._event("response.refusal.done", **where, refusal=text)
        events += self._event("response.content_part.done", **where, part=_refusal_part(text))
        return events + self._done(_message(item_id, "completed", [_refusal_part(text)]))

    def finish(self, usage: Usage | None, finish_reason: str | None) -> str:
        """The last events: what is still open, then the whole response (`response.response`)."""
        events = self._close()
        reason = INCOMPLETE_REASONS.get(finish_reason or "")
        self.response = self._body("incomplete" if reason else "completed", usage_of(usage))
        if reason:
            self.response["incomplete_details"] = {"reason": reason}
            return events + self._event("response.incomplete", response=self.response)
        return events + self._event("response.completed", response=self.response)

    def failed(self, error: ApiError) -> str:
        """A failure after the stream started (D20): an `error` event, then `response.failed`."""
        events = self._event("error", code=error.code, message=error.message, param=error.param)
        failed = self._body("failed", None)
        failed["error"] = {
            "code": "rate_limit_exceeded" if error.status == 429 else "server_error",
            "message": error.message,
        }
        return events + self._event("response.failed", response=failed)

    # -- internals --------------------------------------------------------------------------
    def _body(self, status: str, usage: dict | None) -> dict:
        return {**self._shell, "status": status, "output": list(self.output), "usage": usage}

    def _event(self, kind: str, **fields: object) -> str:
        payload = {"type": kind, **fields, "sequence_number": self._sequence}
        self._sequence += 1
        return f"event: {kind}\ndata: {dumps(payload)}\n\n"

    def _open_item(self, kind: type[TextDelta] | type[ReasoningDelta]) -> str:
        prefix = "msg" if kind is TextDelta else "rs"
        self._open = opened = _OpenItem(kind, new_id(prefix), len(self.output))
        where = {"item_id": opened.id, "output_index": opened.index}
        if kind is TextDelta:
            added = self._added(_message(opened.id, "in_progress", []))
            return added + self._event("response.content_part.added", **where, content_index=0, part=_text_part(""))
        added = self._added(_reasoning(opened.id, []))
        return added + self._event("response.reasoning_summary_part.added", **where, summary_index=0, part=_summary(""))

    def _close(self) -> str:
        opened, self._open = self._open, None
        if opened is None:
            return ""
        text = "".join(opened.texts)
        where = {"item_id": opened.id, "output_index": opened.index}
        if opened.kind is TextDelta:
            events = self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            events += self._event("response.content_part.done", **where, content_index=0, part=_text_part(text))
            return events + self._done(_message(opened.id, "completed", [_text_part(text)]))
        events = self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text)
        events += self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=_summary(text))
        return events + self._done(_reasoning(opened.id, [_summary(text)]))

    def _tool_call(self, call: ToolCall) -> str:
        item_id, index = new_id("fc"), len(self.output)
        where = {"item_id": item_id, "output_index": index}
        events = self._added(_function_call(item_id, call, "", "in_progress"))
        events += self._event("response.function_call_arguments.delta", **where, delta=call.arguments)
        events += self._event(
            "response.function_call_arguments.done", **where, name=call.name, arguments=call.arguments
        )
        return events + self._done(_function_call(item_id, call, call.arguments, "completed"))

    def _added(self, item: dict) -> str:
        """An item starts; it takes the next output index when it is done."""
        return self._event("response.output_item.added", output_index=len(self.output), item=item)

    def _done(self, item: dict) -> str:
        self.output.append(item)
        return self._event("response.output_item.done", output_index=len(self.output) - 1, item=item)
