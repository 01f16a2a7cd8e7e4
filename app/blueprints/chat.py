"""`POST {ROUTE_PREFIX}/v1/chat/completions` (SPEC §6)."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request
from gevent import monkey

from app import errors
from app.blueprints import gateway, json_response
from app.errors import ApiError
from app.json_body import parse_json_body
from app.openai_format import DONE_EVENT, ChunkEncoder, completion_body, new_completion_id, sse_event
from app.openai_request import parse_chat_request, validate_chat_request
from app.services.chat import ClientLeft, Output, UpstreamChat, usage_body

bp = Blueprint("chat", __name__)

KEEPALIVE_COMMENT = ": keep-alive\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
# The stdlib's poll: select() refuses descriptors above 1023, which a worker holding 1000 streams
# hands out, and gevent's patched poll never looks when the timeout is zero.
_poll = monkey.get_original("select", "poll")


@bp.post("/v1/chat/completions")
def chat_completions() -> Response:
    gw = gateway()
    config = gw.config.current()
    chat = parse_chat_request(parse_json_body(request.mimetype, request.get_data(cache=False)))
    if gw.models.live:  # the model is resolved against Cursor's catalog once a token is known (D27)
        if not chat.messages:
            raise errors.empty_messages()
    else:
        validate_chat_request(chat, allow_any_claude=config.enable_all_claude)
    credential = gw.auth.chat_credential(request.headers.get("Authorization"), config)
    keepalive = gw.settings.sse_keepalive_seconds or None
    upstream, first = gw.chat.start(chat, credential, config, patience=keepalive if chat.stream else None)
    completion_id = new_completion_id()
    client_gone = client_watch(request.environ.get("gunicorn.socket"))
    if not chat.stream:
        try:
            answer = upstream.read_all(first, client_gone)
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
        )
        return json_response(body)
    encoder = ChunkEncoder(completion_id, chat.model)
    events = sse_events(upstream, first, encoder, keepalive, client_gone, chat.include_usage)
    return Response(events, headers=SSE_HEADERS, mimetype="text/event-stream")


def client_watch(sock) -> Callable[[], bool]:
    """A check that the client closed its connection, for when nothing is being written (a
    write would notice by itself). Without the socket (not under gunicorn), never."""
    if sock is None:
        return lambda: False

    def gone() -> bool:
        try:
            poller = _poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0)) and sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    return gone


def sse_events(
    upstream: UpstreamChat,
    first: list[Output] | None,
    encoder: ChunkEncoder,
    keepalive: float | None,
    client_gone: Callable[[], bool],
    include_usage: bool = False,
) -> Iterator[str]:
    """The SSE body: pre-read output at once (D2), then each upstream read as it arrives,
    each piece exactly once (D1) and in its own event, as the reference emits them (the
    capture's vector pins the count); the events of one read are written together; an SSE
    comment every `keepalive` seconds of silence so idle proxies keep the stream open; a later
    failure in-band, then [DONE] (D20). A client that leaves is noticed within a second; the
    upstream is closed with this generator."""
    last_write = time.monotonic()
    try:
        if first is None:  # Cursor is still silent: start the stream anyway
            yield KEEPALIVE_COMMENT
        elif first:
            yield "".join(map(encoder.piece, first))
        for pieces in upstream.remaining():
            if pieces:
                last_write = time.monotonic()
                yield "".join(map(encoder.piece, pieces))
            elif client_gone():
                return
            elif keepalive and time.monotonic() - last_write >= keepalive:
                last_write = time.monotonic()
                yield KEEPALIVE_COMMENT
        usage = usage_body(upstream.usage) if upstream.usage else None
        upstream.finish()
        yield encoder.finish(usage, include_usage)
    except ApiError as error:
        yield sse_event(error.openai_body()) + DONE_EVENT
    finally:
        upstream.close()
