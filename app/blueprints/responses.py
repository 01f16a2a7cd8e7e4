"""`POST {ROUTE_PREFIX}/v1/responses` and `GET {ROUTE_PREFIX}/v1/responses/{id}`: the OpenAI
Responses API, a front on the chat core (D35)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request

from app.answer_rules import AnswerRules
from app.blueprints import gateway, json_response
from app.blueprints.streaming import KEEPALIVE_COMMENT, SSE_HEADERS, read_whole, start_turn
from app.cursor.events import ReasoningDelta, TextDelta
from app.errors import ApiError
from app.json_body import parse_json_body
from app.responses_format import Piece, ResponseEvents
from app.responses_request import parse_responses_request
from app.services import store_outage
from app.services.chat import Answer, ClientLeft, Output, UpstreamChat
from app.services.stored_responses import StoredResponses, owner_of
from app.store import StoreError

bp = Blueprint("responses", __name__)
# The core's errors name the Chat Completions field; these are the Responses API's names.
CORE_PARAMS = {"reasoning_effort": "reasoning.effort", "messages": "input"}
STORE_FAILED = "The gateway's state store is unavailable: the response could not be kept"


def _stored() -> StoredResponses:
    gw = gateway()
    return StoredResponses(gw.store, gw.settings.responses_ttl_seconds)


@bp.post("/v1/responses")
def create_response() -> Response:
    body = parse_json_body(request.mimetype, request.get_data(cache=False))
    authorization = request.headers.get("Authorization")
    stored = _stored()
    asked = parse_responses_request(body, lambda previous: stored.items(owner_of(authorization), previous))
    chat = asked.chat
    try:
        turn = start_turn(chat, authorization, "responses")
    except ApiError as error:
        error.param = CORE_PARAMS.get(error.param or "", error.param)
        raise
    events = ResponseEvents(chat.model, asked.echo, asked.store)

    def keep(response: dict) -> None:
        if asked.store:  # the conversation so far, for a later previous_response_id
            stored.save(owner_of(authorization), response, [*asked.items, *response["output"]])

    rules = chat.answer_rules()
    if not chat.stream:
        answer = read_whole(turn, rules)
        for piece in _pieces(answer):
            events.piece(piece)
        if rules.refusal is not None:
            events.refusal(rules.refusal)
        events.finish(answer.usage, rules.finish_reason)
        assert events.response is not None
        keep(events.response)
        return json_response(events.response)
    stream = sse_events(turn.upstream, turn.first, events, turn.keepalive, turn.client_gone, rules, keep)
    return Response(stream, headers=SSE_HEADERS, mimetype="text/event-stream")


@bp.get("/v1/responses/<response_id>")
def retrieve_response(response_id: str) -> Response:
    return json_response(_stored().response(owner_of(request.headers.get("Authorization")), response_id))


def _pieces(answer: Answer) -> list[Piece]:
    """A whole answer as the pieces a stream would have carried: reasoning, text, calls."""
    pieces: list[Piece] = [ReasoningDelta(answer.reasoning)] if answer.reasoning else []
    if answer.text:
        pieces.append(TextDelta(answer.text))
    return [*pieces, *answer.tool_calls]


def sse_events(
    upstream: UpstreamChat,
    first: list[Output] | None,
    events: ResponseEvents,
    keepalive: float | None,
    client_gone: Callable[[], bool],
    rules: AnswerRules,
    keep: Callable[[dict], None],
) -> Iterator[str]:
    """The Responses event stream: created and in_progress at once, then each upstream read's
    events as it arrives (D1, D2), SSE comments while Cursor is silent, and the completed
    response, kept before the client sees it so a next turn can name it at once. A failure
    after the start goes in-band (D20): `error`, then `response.failed`."""
    try:
        yield events.start()
        for batch in upstream.live(first, rules, keepalive, client_gone):
            yield KEEPALIVE_COMMENT if batch is None else "".join(map(events.piece, batch))
        if rules.refusal is not None:
            yield events.refusal(rules.refusal)
        usage = upstream.usage
        upstream.finish()
        final = events.finish(usage, rules.finish_reason)
        assert events.response is not None
        keep(events.response)
        yield final
    except ClientLeft:
        return
    except ApiError as error:
        yield events.failed(error)
    except StoreError as error:
        store_outage.report(error, "keeping a streamed response")
        yield events.failed(ApiError(503, "store_unavailable", STORE_FAILED))
    finally:
        upstream.close()
