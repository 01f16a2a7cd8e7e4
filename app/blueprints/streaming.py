"""What every front (Chat Completions, Responses, Messages) shares: starting the upstream turn
for a typed request, SSE headers, the keep-alive comment, and noticing a client that left while
nothing is being written."""

from __future__ import annotations

import select
import socket
from collections.abc import Callable
from typing import NamedTuple

from flask import request
from gevent import monkey

from app import errors
from app.answer_rules import AnswerRules
from app.blueprints import gateway, request_id
from app.openai_request import ChatRequest, validate_chat_request
from app.services.chat import Answer, Output, UpstreamChat
from app.services.parallel import gather

KEEPALIVE_COMMENT = ": keep-alive\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
# The stdlib's poll: select() refuses descriptors above 1023, which a worker holding 1000 streams
# hands out, and gevent's patched poll never looks when the timeout is zero.
_poll = monkey.get_original("select", "poll")


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


class StartedTurn(NamedTuple):
    upstream: UpstreamChat
    first: list[Output] | None  # None: Cursor is still silent and a stream starts anyway
    keepalive: float | None  # seconds of silence between keep-alives, when streaming
    client_gone: Callable[[], bool]


def start_turn(chat: ChatRequest, authorization: str | None, front: str) -> StartedTurn:
    """Check the request, authenticate (`authorization` as an `Authorization` header value) and
    open the upstream turn with its pre-read (SPEC §6.12); `front` names the API for the log
    (D35). Raises ApiError."""
    return start_turns(chat, authorization, front, 1)[0]


def start_turns(chat: ChatRequest, authorization: str | None, front: str, count: int) -> list[StartedTurn]:
    """`start_turn` for `count` turns of the same request side by side (`n`, D32), checked and
    authenticated once. When one fails, the others are closed and its error raised."""
    gw = gateway()
    config = gw.config.current()
    if gw.models.live:  # the model is resolved against Cursor's catalog once a token is known (D27)
        if not chat.messages:
            raise errors.empty_messages()
    else:
        validate_chat_request(chat, allow_any_claude=config.enable_all_claude)
    credential = gw.auth.chat_credential(authorization, config)
    keepalive = gw.settings.sse_keepalive_seconds or None
    patience = keepalive if chat.stream else None
    ids = request_id()  # read here: the request context does not follow into the parallel turns

    def start() -> tuple[UpstreamChat, list[Output] | None]:
        return gw.chat.start(chat, credential, config, patience=patience, request_id=ids, front=front)

    outcomes = [start()] if count == 1 else gather([start] * count)
    started = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    if failures:
        for upstream, _ in started:
            upstream.close()
        raise failures[0]
    client_gone = client_watch(request.environ.get("gunicorn.socket"))
    return [StartedTurn(upstream, first, keepalive, client_gone) for upstream, first in started]


def read_whole(turn: StartedTurn, rules: AnswerRules) -> Answer:
    """Non-streaming: the whole answer, shaped by `rules`, the upstream closed after. Raises
    ApiError, or ClientLeft when the client closed meanwhile (the app answers 499: D34)."""
    try:
        return turn.upstream.read_all(turn.first, turn.client_gone, rules)
    finally:
        turn.upstream.close()
