"""`POST {ROUTE_PREFIX}/v1/chat/completions` (SPEC §6)."""
from __future__ import annotations

from typing import Iterator

from flask import Blueprint, Response, request

from app.blueprints import gateway, json_response
from app.errors import ApiError
from app.openai_format import ChunkEncoder, DONE_EVENT, completion_body, new_completion_id, sse_event
from app.json_body import parse_json_body
from app.openai_request import parse_chat_request, validate_chat_request
from app.services.chat import UpstreamChat

bp = Blueprint("chat", __name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


@bp.post("/v1/chat/completions")
def chat_completions() -> Response:
    gw = gateway()
    config = gw.config.current()
    chat = parse_chat_request(parse_json_body(request.mimetype, request.get_data(cache=False)))
    validate_chat_request(chat, allow_any_claude=config.enable_all_claude)
    credential = gw.auth.chat_credential(request.headers.get("Authorization"), config)
    upstream = gw.chat.start(chat, credential, config)
    completion_id = new_completion_id()
    if not chat.stream:
        try:
            content = upstream.read_all()
        finally:
            upstream.close()
        return json_response(completion_body(completion_id, chat.model, content))
    try:
        first = upstream.pre_read()
    except ApiError:
        upstream.close()
        raise
    events = sse_events(upstream, first, ChunkEncoder(completion_id, chat.model))
    return Response(events, headers=SSE_HEADERS, mimetype="text/event-stream")


def sse_events(upstream: UpstreamChat, first: list[str], encoder: ChunkEncoder) -> Iterator[str]:
    """The SSE body: pre-read content at once (D2), then each upstream read as it arrives,
    each piece exactly once (D1); a later failure is sent in-band, then [DONE] (D20). When the
    client goes away, the server closes this generator and the upstream with it."""
    try:
        if first:
            yield "".join(map(encoder.content, first))
        for pieces in upstream.remaining():
            yield "".join(map(encoder.content, pieces))
        yield encoder.finish()
    except ApiError as error:
        yield sse_event(error.openai_body()) + DONE_EVENT
    finally:
        upstream.close()
