"""The fake as a WSGI app on gevent.pywsgi: chat RPCs checked strictly and answered by scenario,
the account endpoints, and a control API (`/__fake/...`) that shows tests what was sent."""

from __future__ import annotations

import collections
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus

from gevent.pywsgi import WSGIHandler, WSGIServer
from google.protobuf.json_format import MessageToDict

from app.cursor.proto import aiserver_pb2
from tests.fake_cursor.accounts import ACCOUNT_PATHS, answer
from tests.fake_cursor.agent import AgentService
from tests.fake_cursor.agent_turn import Timing
from tests.fake_cursor.frames import bad_request_frame, error_frame
from tests.fake_cursor.request import RAW_HEADERS, SOCKET, Request
from tests.fake_cursor.scenarios import SCENARIOS, BadArgument, Call, account_directive, directive
from tests.fake_cursor.validation import Rejection, check_http, check_route, check_semantics, parse_message
from tests.fake_cursor.wire import Reply, Wire

# FAKE_LEGACY_DEPRECATED=1: StreamChat answers as the real service has since mid-2025.
LEGACY_DEPRECATED = os.environ.get("FAKE_LEGACY_DEPRECATED") == "1"
DEPRECATED_TITLE = "Request type deprecated."
DEPRECATED_DETAIL = "This endpoint is deprecated. Please upgrade to the latest version of Cursor."
RECORD_LIMIT = 10000
BODY_HEX_LIMIT = 64 * 1024  # bodies this big or bigger are recorded by length only
BACKLOG = 4096  # a benchmark opening 1000+ streams at once must not see refused connections
CONTROL_PREFIX = "/__fake/"

StartResponse = Callable[..., Callable[[bytes], None]]


class Recorder:
    """Every non-control request, oldest first; the oldest are dropped past `limit`."""

    def __init__(self, limit: int = RECORD_LIMIT) -> None:
        self._records: collections.deque[dict] = collections.deque(maxlen=limit)

    def add(self, request: Request) -> dict:
        small = len(request.body) < BODY_HEX_LIMIT
        record = {
            "path": request.path,
            "method": request.method,
            "query": request.query,
            "headers": request.headers,
            "body_length": len(request.body),
            "body_hex": request.body.hex() if small else None,
            "request": None,
            "present_fields": None,
            "accepted": False,
            "reason": None,
            "scenario": None,
        }
        self._records.append(record)
        return record

    def all(self) -> list[dict]:
        return list(self._records)

    def clear(self) -> None:
        self._records.clear()


class FakeCursorApp:
    def __init__(self, timing: Timing | None = None) -> None:
        self.recorder = Recorder()
        self.agent = AgentService(timing)  # RunSSE + BidiAppend, the catalog, the key exchange
        self.connections = 0  # accepted TCP connections: shows whether clients reuse them

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        wire = Wire(environ[SOCKET])
        if request.path.startswith(CONTROL_PREFIX):
            return respond(self.control(request), wire, None, start_response)
        record = self.recorder.add(request)
        if request.path in ACCOUNT_PATHS:
            reply = self.account(request, record)
        elif self.agent.handles(request.path):
            reply = self.agent.handle(request, record, wire)
        else:
            reply = self.chat(request, record, wire)
        return respond(reply, wire, record, start_response)

    def control(self, request: Request) -> Reply:
        route = (request.method, request.path)
        if route == ("GET", "/__fake/requests"):
            return json_reply(200, self.recorder.all())
        if route == ("DELETE", "/__fake/requests"):  # everything: requests, turns, counts
            self.recorder.clear()
            self.agent.clear()
            return json_reply(200, {"cleared": True})
        if route == ("GET", "/__fake/turns"):
            return json_reply(200, self.agent.turn_records())
        if route == ("DELETE", "/__fake/turns"):
            self.agent.records.clear()
            return json_reply(200, {"cleared": True})
        if route == ("GET", "/__fake/counts"):
            return json_reply(200, dict(self.agent.counts))
        if route == ("GET", "/__fake/health"):
            return json_reply(200, {"ok": True, "connections": self.connections})
        return json_reply(404, {"code": "not_found", "message": f"no control route {request.method} {request.path}"})

    def account(self, request: Request, record: dict) -> Reply:
        status, body, reason = answer(request)
        record.update(accepted=reason is None, reason=reason)
        return json_reply(status, body)

    def chat(self, request: Request, record: dict, wire: Wire) -> Reply:
        try:
            message = accept(request, record)
            return choose_scenario(request, message, record, wire)
        except Rejection as rejection:
            record["reason"] = rejection.reason
            if rejection.status == 200:
                return Reply([bad_request_frame(rejection.reason)])
            return json_reply(rejection.status, {"code": rejection.code, "message": rejection.reason})


def accept(request: Request, record: dict) -> aiserver_pb2.GetChatRequest:
    """Run every check, recording the decoded message as soon as there is one."""
    check_route(request)
    check_http(request)
    message = parse_message(request.body)
    record["request"] = MessageToDict(message, preserving_proto_field_name=True)
    record["present_fields"] = [field.name for field, _ in message.ListFields()]
    check_semantics(request, message)
    record["accepted"] = True
    return message


def choose_scenario(request: Request, message: aiserver_pb2.GetChatRequest, record: dict, wire: Wire) -> Reply:
    """The scenario for an accepted request. A directive the fake cannot follow is a mistake in
    the test: answered as a bad request, the record still accepted but with the reason."""
    if LEGACY_DEPRECATED:
        record["scenario"] = "deprecated"
        return Reply([error_frame("ERROR_DEPRECATED", DEPRECATED_TITLE, DEPRECATED_DETAIL)])
    last_text = message.conversation[-1].text
    chosen = account_directive(request.header("Authorization")) or directive(last_text)
    record["scenario"] = chosen.name
    handler = SCENARIOS.get(chosen.name)
    if handler is None:
        raise Rejection.bad_request(f"unknown fake scenario {chosen.name!r}")
    try:
        return handler(Call(chosen.arg, chosen.rest, last_text, wire))
    except BadArgument as exc:
        raise Rejection.bad_request(f"fake:{chosen.name}: {exc}") from None


def json_reply(status: int, value: object) -> Reply:
    body = json.dumps(value, ensure_ascii=False).encode()
    return Reply([body], status=status_line(status), content_type="application/json", whole=True)


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


def respond(reply: Reply, wire: Wire, record: dict | None, start_response: StartResponse) -> Iterable[bytes]:
    headers = [("Content-Type", reply.content_type)]
    if reply.whole:
        body = b"".join(reply.writes)
        start_response(reply.status, [*headers, ("Content-Length", str(len(body)))])
        return [body]
    # No Content-Length and a generator (no len()): pywsgi sends it chunked, one chunk per write.
    wire.write = start_response(reply.status, headers)
    return _watched(reply.writes, record)


def _watched(writes: Iterable[bytes], record: dict | None) -> Iterator[bytes]:
    """Pass the writes through, noting in the record when the client hangs up mid-answer: a
    failed write closes this generator (GeneratorExit), a silence noticing it raises OSError."""
    try:
        yield from writes
    except (GeneratorExit, OSError):
        if record is not None:
            record["client_closed"] = True
            record["client_closed_at"] = time.time()
        raise


class Handler(WSGIHandler):
    """pywsgi's handler, also passing on what WSGI hides: the headers exactly as received and the
    socket (for the Wire)."""

    def MessageClass(self, *args):
        message = super().MessageClass(*args)
        # before pywsgi deletes Content-Length from a chunked request: the fake must see both
        self.raw_headers = list(message.items())
        return message

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ[RAW_HEADERS] = self.raw_headers
        environ[SOCKET] = self.socket
        return environ


class Server(WSGIServer):
    handler_class = Handler
    application: FakeCursorApp

    def handle(self, sock: socket.socket, address: tuple) -> None:
        self.application.connections += 1
        # Many small writes: without this, Nagle's algorithm holds each one for the client's
        # delayed ACK (40 ms), a stall real servers do not have.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def make_server(host: str, port: int) -> Server:
    """A bound, not yet serving, quiet server (log=None: nothing per request, so benchmarks
    measure the gateway, not the fake's logging). The agent turns' timing comes from the
    environment (FAKE_AGENT_HEARTBEAT_SECONDS, ...: agent_turn.Timing)."""
    app = FakeCursorApp(Timing.from_env())
    server = Server((host, port), app, backlog=BACKLOG, log=None, environ={"SERVER_NAME": host})
    server.init_socket()
    return server
