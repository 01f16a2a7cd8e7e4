"""`POST {ROUTE_PREFIX}/v1/messages` and `/v1/messages/count_tokens`: the Anthropic Messages API,
a front on the chat core (D35). Credentials come as `x-api-key` or `Authorization: Bearer`, in
every form chat takes; errors take Anthropic's shape (app/factory.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request

from app.answer_rules import AnswerRules
from app.anthropic_format import PING_EVENT, MessageStream, error_event, message_body, new_message_id
from app.anthropic_request import parse_messages_request
from app.blueprints import credential_header, gateway, json_response
from app.blueprints.streaming import SSE_HEADERS, read_whole, start_turn
from app.errors import ApiError
from app.json_body import parse_json_body
from app.services.auth import bearer_value
from app.services.chat import ClientLeft, Output, UpstreamChat
from app.tokenizer import estimate_input_tokens

bp = Blueprint("messages", __name__)


@bp.post("/v1/messages")
def create_message() -> Response:
    parsed = parse_messages_request(parse_json_body(request.mimetype, request.get_data(cache=False)))
    chat = parsed.chat
    turn = start_turn(chat, credential_header(), "messages")
    message_id = new_message_id()
    rules = chat.answer_rules()
    if not chat.stream:
        answer = read_whole(turn, rules)
        body = message_body(
            message_id,
            chat.model,
            text=answer.text,
            reasoning=answer.reasoning if parsed.show_thinking else "",
            tool_calls=answer.tool_calls,
            usage=answer.usage,
            rules=rules,
        )
        return json_response(body)
    stream = MessageStream(message_id, chat.model, parsed.show_thinking)
    events = sse_events(turn.upstream, turn.first, stream, turn.keepalive, turn.client_gone, rules)
    return Response(events, headers=SSE_HEADERS, mimetype="text/event-stream")


@bp.post("/v1/messages/count_tokens")
def count_tokens() -> Response:
    parsed = parse_messages_request(parse_json_body(request.mimetype, request.get_data(cache=False)), counting=True)
    _authenticate(credential_header())
    return json_response({"input_tokens": estimate_input_tokens(parsed.chat)})


def _authenticate(header: str | None) -> None:
    """The credentials a message would take; a count asks nothing of Cursor, so the admin and
    shared tokens take no token from the pool."""
    gw = gateway()
    config = gw.config.current()
    bearer = bearer_value(header)
    if bearer is None or not gw.auth.is_pool_user(bearer, config):
        gw.auth.chat_credential(header, config)  # raises 401 for what a message would be refused


def sse_events(
    upstream: UpstreamChat,
    first: list[Output] | None,
    stream: MessageStream,
    keepalive: float | None,
    client_gone: Callable[[], bool],
    rules: AnswerRules,
) -> Iterator[str]:
    """Anthropic's event sequence: `message_start`, the content blocks as output arrives (each
    piece once, D1), `message_delta` with the stop reason and Cursor's usage, `message_stop`. A
    `ping` while Cursor is silent, and also while it only reasons and nobody asked to see that;
    a later failure is an `error` event (D20). The upstream is closed with this generator."""
    try:
        yield stream.start()
        last_write = time.monotonic()
        for batch in upstream.live(first, rules, keepalive, client_gone):
            events = PING_EVENT if batch is None else stream.pieces(batch)
            if not events and keepalive and time.monotonic() - last_write >= keepalive:
                events = PING_EVENT
            if events:
                last_write = time.monotonic()
                yield events
        usage = upstream.usage
        upstream.finish()
        yield stream.finish(usage, rules)
    except ClientLeft:
        return
    except ApiError as error:
        yield error_event(error)
    finally:
        upstream.close()
