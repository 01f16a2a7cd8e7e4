"""One agent turn (AGENT_WIRE §2): the RunSSE response generator, fed by BidiAppends through a
queue. It answers the headers at once, waits for the run request, checks it, asks its queries
and stalls (heartbeats only) until each is answered correctly, plays the scenario and ends.

It drops a turn whose client sends no append for 3 heartbeat intervals (`deadline_exceeded`),
ends it with `internal: No exec result` when a query stays unanswered for the query timeout, and
notices at once when the client closes the stream. Everything is noted in the turn's record at
the moment it happens (appends by the append handler, at receipt)."""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import gevent
from gevent.queue import Empty, Queue
from google.protobuf.json_format import MessageToDict

from tests.fake_cursor.agent_checks import content_text, request_context_problem
from tests.fake_cursor.agent_frames import (
    END_OK,
    HEARTBEAT,
    checkpoint,
    end_stream,
    error_body,
    frame,
    plain_error,
    text_delta,
    thinking_delta,
    turn_ended,
)  # fmt: skip
from tests.fake_cursor.proto import agent_fake_pb2 as pb
from tests.fake_cursor.wire import Wire

HEARTBEAT_ENV = "FAKE_AGENT_HEARTBEAT_SECONDS"  # the client's interval; 3 of them without an append drop the turn
SERVER_HEARTBEAT_ENV = "FAKE_AGENT_SERVER_HEARTBEAT_SECONDS"  # the fake's heartbeats while it waits
QUERY_TIMEOUT_ENV = "FAKE_AGENT_QUERY_TIMEOUT_SECONDS"  # an unanswered query ends the turn after this
DEADLINE_MESSAGE = "No client heartbeat: the turn was dropped"
NO_RESULT_MESSAGE = "No exec result"
TEXT_RECORD_LIMIT = 64 * 1024  # characters of streamed text kept in the record
ERROR_TITLE = "Fake failure"


@dataclass(frozen=True)
class Timing:
    heartbeat: float = 5.0
    server_heartbeat: float = 1.0
    query_timeout: float = 60.0

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ = os.environ) -> Timing:
        def number(name: str, default: float) -> float:
            value = float(env.get(name) or default)
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
            return value

        return cls(
            number(HEARTBEAT_ENV, cls.heartbeat),
            number(SERVER_HEARTBEAT_ENV, cls.server_heartbeat),
            number(QUERY_TIMEOUT_ENV, cls.query_timeout),
        )

    @property
    def deadline(self) -> float:
        return 3 * self.heartbeat


class TurnOver(Exception):
    """The turn ends: `final` are the last writes (usually one end-of-stream frame)."""

    def __init__(self, outcome: str, reason: str | None = None, final: tuple[bytes, ...] = ()) -> None:
        super().__init__(reason or outcome)
        self.outcome, self.reason, self.final = outcome, reason, final


class Cancelled(Exception):
    """The client appended conversation_action.cancel_action: the model stops."""


class BadArgument(ValueError):
    """A directive the fake cannot follow (answered with a bad-request trailer)."""


CLOSED = object()  # inbox: the client closed the RunSSE stream
FAILED = object()  # inbox: an append broke the protocol (turn.failure says how)


@dataclass
class Query:
    family: str  # exec | kv | interaction
    kind: str  # the args field sent (request_context_args, get_blob_args, web_search, ...)
    id: int
    exec_id: str
    answer_field: str  # the result field the answer must use
    check: Callable[[object], str | None]  # the answer's message -> why it is wrong, or None
    record: dict
    times_out: bool = True  # False for mcp_args: a parked tool call may wait
    sent: float = 0.0  # monotonic
    answered: bool = False
    frame: bytes = b""


@dataclass
class Turn:
    request_id: str
    bearer: str
    user_id: str | None
    request: object  # the RunSSE Request (headers)
    wire: Wire
    timing: Timing
    record: dict
    service: object  # the AgentService: retire(), blob memory
    inbox: Queue = field(default_factory=Queue)
    next_seqno: int = 0
    last_append: float = field(default_factory=time.monotonic)
    run: pb.AgentRunRequest | None = None
    failure: dict | None = None
    finished: bool = False
    cancelled: bool = False
    silence_before: float = 0.0  # set by slow_first_frame: nothing at all before the first frame
    skip_queries: bool = False  # set by error: the service refuses before asking anything
    blob_ids: list[bytes] = field(default_factory=list)  # blobs set this turn (the checkpoint's roots)
    pending: dict[tuple[str, int], Query] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _watcher: gevent.Greenlet | None = None

    # -- the stream -------------------------------------------------------------------------

    def play(self, script: Callable[[Turn], Iterator[bytes]]) -> Iterator[bytes]:
        self._watcher = gevent.spawn(self._watch_socket)
        try:
            try:
                yield from script(self)
            except Cancelled:
                # the model stops; heartbeats until the client closes (or stops appending)
                yield from self.idle(lambda: False, heartbeats=True)
            raise TurnOver("completed", "the script ended without an end frame", (END_OK,))
        except TurnOver as over:
            self._end(over.outcome, over.reason)
            yield from over.final
            if over.outcome == "client_closed":
                # ECONNRESET: pywsgi takes it for a normal client disconnect and logs nothing
                raise ConnectionResetError(errno.ECONNRESET, "the client closed the RunSSE stream") from None
        except (GeneratorExit, OSError):
            self.record["client_closed_at"] = self.record["client_closed_at"] or time.time()
            self._end("client_closed", "the client hung up during a write")
            raise
        except Exception as exc:  # a bug in the fake: say so on the stream and in the record
            traceback.print_exc()
            self._end("fake_error", repr(exc))
            yield end_stream(plain_error("internal", f"fake bug: {exc!r}"))
        finally:
            if self._watcher is not None:
                self._watcher.kill()
            self._end("client_closed", "the stream was closed")  # no-op when already ended

    def _end(self, outcome: str, reason: str | None) -> None:
        if self.record["outcome"] is not None:
            return
        if outcome == "client_closed" and self.cancelled:
            outcome = "cancelled"
        self.record.update(outcome=outcome, reason=reason, ended_at=time.time())
        self.finished = True
        self.service.retire(self)

    def _watch_socket(self) -> None:
        """Notice the client closing the stream at once, also while the turn is silent."""
        try:
            data = self.wire.sock.recv(1, socket.MSG_PEEK)
        except OSError:
            data = b""
        if data:
            return  # a pipelined request, not a close
        self.record["client_closed_at"] = time.time()
        self.inbox.put(CLOSED)

    # -- waiting ----------------------------------------------------------------------------

    def idle(self, until: Callable[[], bool], seconds: float | None = None, heartbeats: bool = True) -> Iterator[bytes]:
        """Wait until `until()` or `seconds` pass, handling appends as they come; heartbeats
        about every server_heartbeat when asked. Raises TurnOver when the client closes the
        stream, stops appending, or an append broke the protocol, and Cancelled on cancel."""
        now = time.monotonic()
        end = None if seconds is None else now + seconds
        next_beat = now + self.timing.server_heartbeat
        while not until():
            now = time.monotonic()
            if end is not None and now >= end:
                return
            self._check_deadlines(now)
            if heartbeats and now >= next_beat:
                self.record["server_heartbeats"].append(time.time())
                yield HEARTBEAT
                next_beat = time.monotonic() + self.timing.server_heartbeat
                continue
            wake = self.last_append + self.timing.deadline
            for query in self.pending.values():
                if query.times_out and not query.answered:
                    wake = min(wake, query.sent + self.timing.query_timeout)
            if end is not None:
                wake = min(wake, end)
            if heartbeats:
                wake = min(wake, next_beat)
            self._receive(max(0.0, wake - now) + 0.001)

    def pause(self, seconds: float) -> Iterator[bytes]:
        """Silence (not even heartbeats) for `seconds`, appends still handled."""
        yield from self.idle(lambda: False, seconds, heartbeats=False)

    def _check_deadlines(self, now: float) -> None:
        if self.failure is not None:
            raise TurnOver("refused", self.failure["message"], (end_stream(self.failure),))
        if now - self.last_append > self.timing.deadline:
            raise TurnOver(
                "deadline_exceeded",
                f"no append for {self.timing.deadline:g} s",
                (end_stream(plain_error("deadline_exceeded", DEADLINE_MESSAGE)),),
            )
        for query in self.pending.values():
            if query.times_out and not query.answered and now - query.sent > self.timing.query_timeout:
                raise TurnOver(
                    "query_timeout",
                    f"{query.family} query {query.id} ({query.kind}) unanswered",
                    (end_stream(plain_error("internal", NO_RESULT_MESSAGE)),),
                )

    def _receive(self, timeout: float) -> None:
        try:
            item = self.inbox.get(timeout=timeout)
        except Empty:
            return
        if item is CLOSED:
            raise TurnOver("client_closed", "the client closed the RunSSE stream")
        if item is FAILED:
            self._check_deadlines(time.monotonic())
            return
        at, message = item
        self._handle(at, message)

    # -- appends ----------------------------------------------------------------------------

    def _handle(self, at: float, message: pb.AgentClientMessage) -> None:
        kind = message.WhichOneof("message")
        if kind == "run_request":
            if self.run is None:
                self.run = message.run_request
            else:
                self._stray(at, "a second run_request")
        elif kind == "exec_client_message":
            answer = message.exec_client_message
            self._answer("exec", answer.id, at, answer, answer.exec_id, answer.WhichOneof("result"))
        elif kind == "kv_client_message":
            answer = message.kv_client_message
            self._answer("kv", answer.id, at, answer, None, answer.WhichOneof("result"))
        elif kind == "interaction_response":
            answer = message.interaction_response
            self._answer("interaction", answer.id, at, answer, None, answer.WhichOneof("response"))
        elif kind == "conversation_action":
            if message.conversation_action.WhichOneof("action") != "cancel_action":
                self._stray(at, "a conversation_action other than cancel_action")
            elif not self.cancelled:
                self.cancelled = True
                raise Cancelled
        elif kind == "exec_client_control_message":
            control = message.exec_client_control_message
            if control.WhichOneof("message") == "throw":
                query = self.pending.get(("exec", control.throw.id))
                if query is not None and not query.answered:
                    query.record["wrong_answers"].append({"at": at, "reason": "exec_client_control_message.throw"})
                else:
                    self._stray(at, f"throw for exec {control.throw.id}")

    def _answer(self, family: str, query_id: int, at: float, answer, exec_id: str | None, field_name) -> None:
        query = self.pending.get((family, query_id))
        if query is None:
            self._stray(at, f"{family} answer for unknown id {query_id}")
            return
        if query.answered:
            self._stray(at, f"{family} query {query_id} answered twice")
            return
        if exec_id is not None and exec_id != query.exec_id:
            reason = f"exec_id {exec_id!r}, expected {query.exec_id!r}"
        elif field_name != query.answer_field:
            reason = f"answered with {field_name}, expected {query.answer_field}"
        else:
            reason = query.check(getattr(answer, field_name))
        if reason:
            query.record["wrong_answers"].append({"at": at, "reason": reason})
            return
        query.answered = True
        query.record["answered_at"] = at

    def _stray(self, at: float, what: str) -> None:
        self.record["stray_answers"].append({"at": at, "what": what})

    # -- queries ----------------------------------------------------------------------------

    def ask(self, queries: list[Query]) -> Iterator[bytes]:
        """Send the queries, then stall (heartbeats only) until each is answered correctly."""
        for query in queries:
            yield from self.send_query(query)
        yield from self.idle(lambda: all(query.answered for query in queries))

    def send_query(self, query: Query) -> Iterator[bytes]:
        self.pending[(query.family, query.id)] = query
        query.sent = time.monotonic()
        query.record["sent_at"] = time.time()
        self.record["queries"].append(query.record)
        yield query.frame

    def _query(self, family: str, kind: str, answer_field: str, check, message, times_out: bool = True) -> Query:
        query_id = next(self._ids)
        exec_id = str(uuid.uuid4()) if family == "exec" else ""
        record = {
            "family": family,
            "kind": kind,
            "id": query_id,
            "exec_id": exec_id or None,
            "sent_at": None,
            "answered_at": None,
            "wrong_answers": [],
        }
        query = Query(family, kind, query_id, exec_id, answer_field, check, record, times_out)
        query.frame = frame(message(query_id, exec_id))
        return query

    def exec_query(self, kind: str, args, answer_field: str, check, times_out: bool = True) -> Query:
        def message(query_id: int, exec_id: str) -> pb.AgentServerMessage:
            return pb.AgentServerMessage(
                exec_server_message=pb.ExecServerMessage(id=query_id, exec_id=exec_id, **{kind: args})
            )

        return self._query("exec", kind, answer_field, check, message, times_out)

    def request_context_query(self) -> Query:
        tools = list(self.run.mcp_tools.tools) if self.run is not None else []

        def check(result: pb.RequestContextResult) -> str | None:
            if result.WhichOneof("result") != "success":
                return f"request_context_result is {result.WhichOneof('result')}, expected success"
            return request_context_problem(result.success.request_context, tools)

        return self.exec_query("request_context_args", pb.RequestContextArgs(), "request_context_result", check)

    def rejected_exec_query(self, kind: str, args, answer_field: str) -> Query:
        def check(result: pb.ExecResult) -> str | None:
            got = result.WhichOneof("result")
            return None if got == "rejected" else f"{answer_field} is {got}, expected rejected"

        return self.exec_query(kind, args, answer_field, check)

    def set_blob_query(self, data: bytes) -> Query:
        blob_id = hashlib.sha256(data).digest()
        self.blob_ids.append(blob_id)

        def check(result: pb.SetBlobResult) -> str | None:
            return f"set_blob_result error: {result.error.message}" if result.HasField("error") else None

        def message(query_id: int, exec_id: str) -> pb.AgentServerMessage:
            args = pb.SetBlobArgs(blob_id=blob_id, blob_data=data)
            return pb.AgentServerMessage(kv_server_message=pb.KvServerMessage(id=query_id, set_blob_args=args))

        return self._query("kv", "set_blob_args", "set_blob_result", check, message)

    def get_blob_query(self, blob_id: bytes, expected: bytes) -> Query:
        def check(result: pb.GetBlobResult) -> str | None:
            if result.blob_data == expected:
                return None
            return f"blob_data of {len(result.blob_data)} bytes, expected {len(expected)} bytes"

        def message(query_id: int, exec_id: str) -> pb.AgentServerMessage:
            args = pb.GetBlobArgs(blob_id=blob_id)
            return pb.AgentServerMessage(kv_server_message=pb.KvServerMessage(id=query_id, get_blob_args=args))

        return self._query("kv", "get_blob_args", "get_blob_result", check, message)

    def web_search_query(self, term: str) -> Query:
        def check(answer: pb.InteractionAnswer) -> str | None:
            got = answer.WhichOneof("answer")
            return None if got == "rejected" else f"web_search answered {got}, expected rejected"

        def message(query_id: int, exec_id: str) -> pb.AgentServerMessage:
            query = pb.InteractionQuery(id=query_id, web_search=pb.WebSearchQuery(search_term=term))
            return pb.AgentServerMessage(interaction_query=query)

        return self._query("interaction", "web_search", "web_search", check, message)

    # -- what the scenarios send ----------------------------------------------------------

    def text(self, piece: str, compress: bool = False) -> bytes:
        self._note("text", piece)
        return text_delta(piece, compress)

    def thinking(self, piece: str) -> bytes:
        self._note("thinking", piece)
        return thinking_delta(piece)

    def _note(self, key: str, piece: str) -> None:
        self.record[f"{key}_length"] += len(piece)
        if len(self.record[key]) < TEXT_RECORD_LIMIT:
            self.record[key] += piece

    def finish(self, usage: dict[str, int], after: tuple[bytes, ...] = ()) -> Iterator[bytes]:
        """The normal end: checkpoint, turn_ended with `usage`, `{}` (then `after`)."""
        self._check_deadlines(time.monotonic())  # an append may have broken the turn meanwhile
        yield checkpoint(self.blob_ids)
        self.record["usage"] = dict(usage)
        yield turn_ended(usage)
        raise TurnOver("completed", None, (END_OK, *after))

    def fail(self, name: str, title: str = ERROR_TITLE, detail: str = "") -> TurnOver:
        """The error trailer for ErrorDetails `name` (raise the result)."""
        body = error_body(name, title, detail or f"The fake answered {name}.")
        return TurnOver("error", name, (end_stream(body),))

    def tool_named(self, tool_name: str) -> pb.McpToolDefinition:
        for tool in self.run.mcp_tools.tools if self.run is not None else []:
            if tool.tool_name == tool_name:
                return tool
        raise BadArgument(f"the run request has no tool named {tool_name!r}")

    def history(self) -> list[pb.HistoryMessage]:
        return list(self.run.action.user_message_action.conversation_history.messages) if self.run else []


def history_user_texts(messages: list[pb.HistoryMessage]) -> list[str]:
    """The user messages' texts, newest first."""
    return [content_text(entry.user.content) for entry in reversed(messages) if entry.WhichOneof("message") == "user"]


def decoded(message) -> dict:
    return MessageToDict(message, preserving_proto_field_name=True)
