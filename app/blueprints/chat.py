"""`POST {ROUTE_PREFIX}/v1/chat/completions` (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request

from app.answer_rules import AnswerRules
from app.blueprints import json_response
from app.blueprints.streaming import KEEPALIVE_COMMENT, SSE_HEADERS, start_turn
from app.errors import ApiError
from app.json_body import parse_json_body
from app.openai_format import DONE_EVENT, ChunkEncoder, completion_body, new_completion_id, sse_event
from app.openai_request import parse_chat_request
from app.services.chat import ClientLeft, Output, UpstreamChat, usage_body

bp = Blueprint("chat", __name__)


@bp.post("/v1/chat/completions")
def chat_completions() -> Response:
    chat = parse_chat_request(parse_json_body(request.mimetype, request.get_data(cache=False)))
    upstream, first, keepalive, client_gone = start_turn(chat, request.headers.get("Authorization"), "chat.completions")
    completion_id = new_completion_id()
    if not chat.stream:
        rules = chat.answer_rules()
        try:
            answer = upstream.read_all(first, client_gone, rules)
        except ClientLeft:
            return Response(status=499)  # nobody is there to read it; the log says why (D34)
        finally:
            upstream.close()
        usage = usage_body(answer.usage) if answer.usage else None
        body = completion_body(
            completion_id,
            chat.model,
            answer.text,
            reasoning=answer.reasoning,
            tool_calls=answer.tool_calls,
            usage=usage,
            finish_reason=rules.finish_reason,
            refusal=rules.refusal,
        )
        return json_response(body)
    encoder = ChunkEncoder(completion_id, chat.model)
    events = sse_events(upstream, first, encoder, keepalive, client_gone, chat.include_usage, chat.answer_rules())
    return Response(events, headers=SSE_HEADERS, mimetype="text/event-stream")


def sse_events(
    upstream: UpstreamChat,
    first: list[Output] | None,
    encoder: ChunkEncoder,
    keepalive: float | None,
    client_gone: Callable[[], bool],
    include_usage: bool,
    rules: AnswerRules,
) -> Iterator[str]:
    """The SSE body: pre-read output at once (D2), then each upstream read as it arrives,
    each piece exactly once (D1) and in its own event, as the reference emits them (the
    capture's vector pins the count); the events of one read are written together; an SSE
    comment every `keepalive` seconds of silence so idle proxies keep the stream open; a later
    failure in-band, then [DONE] (D20). A client that leaves is noticed within a second; the
    upstream is closed with this generator."""
    try:
        for batch in upstream.live(first, rules, keepalive, client_gone):
            yield KEEPALIVE_COMMENT if batch is None else "".join(map(encoder.piece, batch))
        if rules.refusal is not None:
            yield encoder.refusal(rules.refusal)
        usage = usage_body(upstream.usage) if upstream.usage else None
        upstream.finish()
        yield encoder.finish(usage, include_usage, rules.finish_reason)
    except ClientLeft:
        return
    except ApiError as error:
        yield sse_event(error.openai_body()) + DONE_EVENT
    finally:
        upstream.close()
