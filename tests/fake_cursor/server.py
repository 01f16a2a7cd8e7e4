"""The fake's server: chat RPCs checked strictly and answered by scenario, plus a control API
(`/__fake/requests`, `/__fake/health`) that tests use to see what the gateway sent."""
from __future__ import annotations

import collections
import contextlib
import socket
import time

from gevent.server import StreamServer
from google.protobuf.json_format import MessageToDict

from tests.fake_cursor import scenarios
from tests.fake_cursor.accounts import ACCOUNT_PATHS, answer
from tests.fake_cursor.frames import error_frame
from tests.fake_cursor.http import BadRequest, Connection, Request, read_request
from tests.fake_cursor.validation import CHAT_PATHS, Rejection, check_http, check_semantics, parse_message

RECORD_LIMIT = 10000


class FakeCursor:
    def __init__(self) -> None:
        self.records: collections.deque[dict] = collections.deque(maxlen=RECORD_LIMIT)
        self.connections = 0  # accepted TCP connections: shows whether clients reuse them

    def handle_connection(self, sock, address) -> None:
        self.connections += 1
        # Many small writes: without this, Nagle's algorithm holds each one for the client's
        # delayed ACK (40 ms), a stall real servers do not have.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile = sock.makefile("rb")
        conn = Connection(sock)
        with contextlib.suppress(OSError, BadRequest):
            while conn.keep_alive:
                request = read_request(rfile)
                if request is None:
                    break
                self.dispatch(conn, request)
        with contextlib.suppress(OSError):
            sock.close()

    def dispatch(self, conn: Connection, request: Request) -> None:
        if request.path.startswith("/__fake/"):
            self.control(conn, request)
        elif request.path in CHAT_PATHS:
            self.chat(conn, request)
        elif request.path in ACCOUNT_PATHS:
            self.account(conn, request)
        else:
            conn.json(404, {"code": "not_found", "message": f"no route {request.path}"})

    def control(self, conn: Connection, request: Request) -> None:
        if request.path == "/__fake/requests" and request.method == "GET":
            conn.json(200, list(self.records))
        elif request.path == "/__fake/requests" and request.method == "DELETE":
            self.records.clear()
            conn.json(200, {"cleared": True})
        elif request.path == "/__fake/health":
            conn.json(200, {"ok": True, "connections": self.connections})
        else:
            conn.json(404, {"code": "not_found", "message": request.path})

    def account(self, conn: Connection, request: Request) -> None:
        status, body, reason = answer(request)
        self.records.append({"path": request.path, "method": request.method, "headers": request.headers,
                             "query": request.query, "accepted": reason is None, "reason": reason})
        conn.json(status, body)

    def chat(self, conn: Connection, request: Request) -> None:
        record = {"path": request.path, "method": request.method, "headers": request.headers,
                  "accepted": False, "reason": None, "scenario": None}
        self.records.append(record)
        try:
            check_http(request)
            message = parse_message(request.body)
            record["request"] = MessageToDict(message, preserving_proto_field_name=True)
            record["present_fields"] = [descriptor.name for descriptor, _ in message.ListFields()]
            check_semantics(message, CHAT_PATHS[request.path])
        except Rejection as rejection:
            record["reason"] = rejection.reason
            if rejection.status == 200:
                scenarios.stream(conn, error_frame("ERROR_BAD_REQUEST", "Bad request", rejection.reason))
            else:
                conn.json(rejection.status, {"code": rejection.code, "message": rejection.reason})
            return
        record["accepted"] = True
        last_text = message.conversation[-1].text
        name, arg = scenarios.account_directive(request.header("Authorization")) or scenarios.directive(last_text)
        record["scenario"] = name
        handler = scenarios.SCENARIOS.get(name)
        if handler is None:
            record["reason"] = f"unknown scenario {name}"
            scenarios.stream(conn, error_frame("ERROR_BAD_REQUEST", "Unknown fake scenario", name))
            return
        try:
            handler(conn, arg, last_text)
        except OSError:
            record["client_closed"] = True  # the gateway hung up mid-answer
            record["client_closed_at"] = time.time()
            raise


def serve(host: str, port: int) -> StreamServer:
    fake = FakeCursor()
    server = StreamServer((host, port), fake.handle_connection, backlog=4096)
    server.start()
    return server
