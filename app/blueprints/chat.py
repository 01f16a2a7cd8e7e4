"""`POST {ROUTE_PREFIX}/v1/chat/completions` (SPEC §6)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request

from app.answer_rules import AnswerRules
from app.blueprints import json_response
from app.blueprints.streaming import KEEPALIVE_COMMENT, SSE_HEADERS, StartedTurn, read_whole, start_turns
from app.errors import ApiError
from app.json_body import parse_json_body
from app.openai_format import DONE_EVENT, ChunkEncoder, choice_body, completion_body, new_completion_id, sse_event
from app.openai_request import ChatRequest, parse_chat_request
from app.services.chat import Answer, ClientLeft, Output, UpstreamChat, usage_body
from app.services.parallel import Choice, combined_usage, merge_live

bp = Blueprint("chat", __name__)


@bp.post("/v1/chat/completions")
def chat_completions() -> Response:
    chat = parse_chat_request(parse_json_body(request.mimetype, request.get_data(cache=False)))
    turns = start_turns(chat, request.headers.get("Authorization"), "chat.completions", chat.n)
    completion_id = new_completion_id()
    if not chat.stream:
        choices, usages = [], []
        try:
            for index, turn in enumerate(turns):
                rules = chat.answer_rules()
                answer = read_whole(turn, rules)
                choices.append(answer_choice(index, answer, rules))
                usages.append(answer.usage)
        finally:  # the choices not read, when one failed
            for turn in turns:
                turn.upstream.close()
        usage = combined_usage(usages)
        return json_response(completion_body(completion_id, chat.model, choices, usage_body(usage) if usage else None))
    created = int(time.time())
    encoders = [ChunkEncoder(completion_id, chat.model, created, index) for index in range(chat.n)]
    if chat.n == 1:
        upstream, first, keepalive, client_gone = turns[0]
        events = sse_events(
            upstream, first, encoders[0], keepalive, client_gone, chat.include_usage, chat.answer_rules()
        )
    else:
        events = parallel_sse_events(turns, encoders, chat)
    return Response(events, headers=SSE_HEADERS, mimetype="text/event-stream")


def answer_choice(index: int, answer: Answer, rules: AnswerRules) -> dict:
    return choice_body(
        index,
        answer.text,
        reasoning=answer.reasoning,
        tool_calls=answer.tool_calls,
        finish_reason=rules.finish_reason,
        refusal=rules.refusal,
    )


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
        yield encoder.finish(rules.finish_reason) + encoder.end(usage, include_usage)
    except ClientLeft:
        return
    except ApiError as error:
        yield sse_event(error.openai_body()) + DONE_EVENT
    finally:
        upstream.close()


def parallel_sse_events(turns: list[StartedTurn], encoders: list[ChunkEncoder], chat: ChatRequest) -> Iterator[str]:
    """`sse_events` for `n` choices (D32): their chunks interleaved as they arrive, each with
    its `index`; each choice's last chunk when it ends; one usage chunk (the sum) and [DONE]
    after all. A failure of any choice ends the stream in-band."""
    choices = [Choice(turn.upstream, turn.first, chat.answer_rules()) for turn in turns]
    keepalive, client_gone = turns[0].keepalive, turns[0].client_gone
    try:
        for item in merge_live(choices, keepalive, client_gone):
            if item is None:
                yield KEEPALIVE_COMMENT
            else:
                yield "".join(map(encoders[item[0]].piece, item[1]))
        endings = []
        for choice, encoder in zip(choices, encoders, strict=True):
            if choice.rules.refusal is not None:
                endings.append(encoder.refusal(choice.rules.refusal))
            endings.append(encoder.finish(choice.rules.finish_reason))
            choice.upstream.finish()
        usage = combined_usage([choice.upstream.usage for choice in choices])
        yield "".join(endings) + encoders[0].end(usage_body(usage) if usage else None, chat.include_usage)
    except ClientLeft:
        return
    except ApiError as error:
        yield sse_event(error.openai_body()) + DONE_EVENT
    finally:
        for choice in choices:
            choice.upstream.close()
