"""The agent transport against a scripted session (no network): the calls it makes, their
headers, append seqnos strictly rising and contiguous from 0 across replies, heartbeats and the
cancel, and its failures as the library's errors."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from app.cursor.agent.run_request import prepare_turn
from app.cursor.agent.transport import BIDI_APPEND_PATH, RUN_SSE_PATH, AgentClient
from app.cursor.agent.unary import AgentIdentity
from app.cursor.errors import TransportError, UpstreamError
from app.cursor.events import StreamEnd, TextDelta, ToolCall
from app.cursor.framing import FLAG_END_STREAM, encode_frame
from app.cursor.messages import ChatMessage, ChatTurn, ToolSpec
from app.cursor.proto import agent_aiserver_pb2, agent_pb2

BASE = "https://agent.test"
IDENTITY = AgentIdentity("cli", "cli-2026.10.01-e373342", ghost_mode=True)
TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig"
END_OK = encode_frame(b"{}", FLAG_END_STREAM)
WEATHER = ToolSpec("get_weather", "Weather", {"type": "object"})


def frame(**message) -> bytes:
    return encode_frame(agent_pb2.AgentServerMessage(**message).SerializeToString())


def text_frame(piece: str) -> bytes:
    return frame(interaction_update=agent_pb2.InteractionUpdate(text_delta=agent_pb2.TextDelta(text=piece)))


KV_QUERY = frame(kv_server_message=agent_pb2.KvServerMessage(id=1, get_blob_args=agent_pb2.GetBlobArgs(blob_id=b"b")))
CONTEXT_QUERY = frame(
    exec_server_message=agent_pb2.ExecServerMessage(
        id=2, exec_id="e2", request_context_args=agent_pb2.RequestContextArgs()
    )
)


class ScriptedRaw:
    """RunSSE's body: each read1 takes the next step (bytes, or a callable that returns them);
    past the script, the body has ended."""

    def __init__(self, steps: list[bytes | Callable[[], bytes]]) -> None:
        self._steps = list(steps)
        self.reads = 0
        self.closed = False

    def read1(self, size: int) -> bytes:
        self.reads += 1
        if not self._steps:
            return b""
        step = self._steps.pop(0)
        return step() if callable(step) else step

    def close(self) -> None:
        self.closed = True


class FakeSession:
    """Records every call; RunSSE answers the script, BidiAppend answers `append_answers` in turn
    (200 with an empty body once they run out)."""

    def __init__(self, script: list[bytes | Callable[[], bytes]], **run_answer) -> None:
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        self.raw = ScriptedRaw(script)
        self.run_answer = run_answer
        self.append_answers: list[tuple[int, bytes] | Exception] = []

    def merge_environment_settings(self, *args) -> dict:
        return {}

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        with self.lock:
            record = {
                "url": request.url,
                "headers": dict(request.headers),
                "body": request.body,
                "reads": self.raw.reads,
            }
            self.calls.append(record)
            if request.url.endswith(RUN_SSE_PATH):
                status = self.run_answer.get("status", 200)
                content_type = self.run_answer.get("content_type", "application/connect+proto")
                raw = (
                    self.raw if status == 200 and "body" not in self.run_answer else io.BytesIO(self.run_answer["body"])
                )
                return response(status, content_type, raw)
            answer = self.append_answers.pop(0) if self.append_answers else (200, b"")
            if isinstance(answer, Exception):
                raise answer
            return response(
                answer[0], "application/json" if answer[0] != 200 else "application/proto", io.BytesIO(answer[1])
            )

    def appends(self) -> list[tuple[int, str, str]]:
        """(seqno, request id, message kind) of every append, in the order they were sent."""
        out = []
        for call in self.calls:
            if call["url"].endswith(BIDI_APPEND_PATH):
                append = agent_aiserver_pb2.BidiAppendRequest.FromString(call["body"])
                message = agent_pb2.AgentClientMessage.FromString(bytes.fromhex(append.data))
                out.append((append.append_seqno, append.request_id.request_id, message.WhichOneof("message")))
        return out


def response(status: int, content_type: str, raw) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.headers = CaseInsensitiveDict({"Content-Type": content_type})
    answer.raw = raw
    return answer


def turn_with(tools=()):
    return prepare_turn(ChatTurn(model="composer-2.5", messages=(ChatMessage("user", "Hi"),), tools=tools))


def client(session: FakeSession, heartbeat_seconds: float = 60.0) -> AgentClient:
    return AgentClient(session, BASE, IDENTITY, heartbeat_seconds=heartbeat_seconds)  # type: ignore[arg-type]


def run(session: FakeSession, turn, **options) -> list:
    agent_turn = client(session, **options).open_turn(turn, token=TOKEN, timeout=5)
    try:
        return [event for batch in agent_turn.batches() for event in batch]
    finally:
        agent_turn.close()


def test_run_sse_and_append_headers():
    session = FakeSession([text_frame("Hi"), END_OK])
    turn = turn_with(tools=(WEATHER,))
    assert run(session, turn) == [TextDelta("Hi"), StreamEnd()]
    run_call, append_call = session.calls
    identity = {
        "authorization": f"Bearer {TOKEN}",
        "connect-protocol-version": "1",
        "x-cursor-client-type": "cli",
        "x-cursor-client-version": "cli-2026.10.01-e373342",
        "x-ghost-mode": "true",
        "x-request-id": turn.request_id,
        "user-agent": "connect-es/1.6.1",
    }
    assert run_call["url"] == BASE + RUN_SSE_PATH
    assert run_call["headers"] == {
        **identity,
        "content-type": "application/connect+proto",
        "connect-accept-encoding": "gzip",
        "x-cursor-streaming": "true",
        "x-cursor-agent-allowed-tools": "mcp_tool_call",
        "Content-Length": str(len(run_call["body"])),
    }
    assert append_call["url"] == BASE + BIDI_APPEND_PATH
    assert append_call["headers"] == {
        **identity,
        "content-type": "application/proto",
        "Content-Length": str(len(append_call["body"])),
    }
    assert "checksum" not in json.dumps(run_call["headers"]).lower()


def test_without_tools_there_is_no_allowed_tools_header():
    session = FakeSession([text_frame("Hi"), END_OK])
    run(session, turn_with())
    assert "x-cursor-agent-allowed-tools" not in session.calls[0]["headers"]


def test_queries_are_answered_before_reading_on_and_seqnos_stay_contiguous_with_heartbeats():
    session = FakeSession([KV_QUERY, lambda: time.sleep(0.35) or CONTEXT_QUERY, text_frame("Hi"), END_OK])
    turn = turn_with()
    events = run(session, turn, heartbeat_seconds=0.1)
    assert events == [TextDelta("Hi"), StreamEnd()]
    appends = session.appends()
    assert [seqno for seqno, _, _ in appends] == list(range(len(appends)))
    assert {request_id for _, request_id, _ in appends} == {turn.request_id}
    kinds = [kind for _, _, kind in appends]
    assert kinds[0] == "run_request" and kinds.count("client_heartbeat") >= 2
    assert kinds.count("kv_client_message") == 1 and kinds.count("exec_client_message") == 1
    assert "conversation_action" not in kinds  # the server ended the turn: no cancel owed
    replies = [call for call in session.calls[1:] if b"3a00" not in call["body"]]
    kv_reply, context_reply = replies[1], replies[2]
    assert kv_reply["reads"] == 1 and context_reply["reads"] == 2  # each answered before the next read
    count = len(session.calls)
    time.sleep(0.25)
    assert len(session.calls) == count  # the heartbeat stopped with the turn


def test_a_tool_call_step_ends_the_reads_and_the_close_cancels():
    started = frame(
        interaction_update=agent_pb2.InteractionUpdate(tool_call_started=agent_pb2.ToolCallUpdate(call_id="c1"))
    )
    args = agent_pb2.McpArgs(name="custom-user-tools-get_weather", tool_call_id="c1")
    call = frame(exec_server_message=agent_pb2.ExecServerMessage(id=1, exec_id="x", mcp_args=args))

    def must_not_read() -> bytes:
        raise AssertionError("read after the tool-call step")

    session = FakeSession([started + call, must_not_read])
    events = run(session, turn_with(tools=(WEATHER,)))
    assert events == [ToolCall("c1", "get_weather", "{}"), StreamEnd()]
    assert [kind for _, _, kind in session.appends()] == ["run_request", "conversation_action"]
    assert session.raw.closed


def test_a_client_that_leaves_mid_turn_cancels_then_closes():
    session = FakeSession([text_frame("Hi"), text_frame("more")])
    agent_turn = client(session).open_turn(turn_with(), token=TOKEN, timeout=5)
    batches = agent_turn.batches()
    assert next(batches) == [TextDelta("Hi")]
    agent_turn.abort()
    agent_turn.close()
    agent_turn.close()  # idempotent
    assert [kind for _, _, kind in session.appends()] == ["run_request", "conversation_action"]
    assert session.raw.closed


def test_run_sse_refused_with_a_connect_error():
    body = json.dumps({"code": "unauthenticated", "message": "bad bearer"}).encode()
    session = FakeSession([], status=401, content_type="application/json", body=body)
    with pytest.raises(UpstreamError) as caught:
        client(session).open_turn(turn_with(), token=TOKEN, timeout=5)
    assert (caught.value.http_status, caught.value.detail) == (401, "bad bearer")
    assert len(session.calls) == 1  # nothing appended


def test_run_sse_answering_something_else_is_a_502():
    session = FakeSession([], status=200, content_type="text/html", body=b"<html>hi</html>")
    with pytest.raises(UpstreamError) as caught:
        client(session).open_turn(turn_with(), token=TOKEN, timeout=5)
    assert caught.value.http_status == 502 and "text/html" in caught.value.detail


def test_a_refused_run_request_append_closes_run_sse():
    session = FakeSession([END_OK])
    session.append_answers = [
        (400, json.dumps({"code": "invalid_argument", "message": "Conversation state is required"}).encode())
    ]
    with pytest.raises(UpstreamError) as caught:
        client(session).open_turn(turn_with(), token=TOKEN, timeout=5)
    assert (caught.value.http_status, caught.value.detail) == (502, "Conversation state is required")
    assert session.raw.closed


def test_a_refused_reply_fails_the_turn_and_the_close_still_tries_the_cancel():
    session = FakeSession([KV_QUERY])
    session.append_answers = [
        (200, b""),
        (400, b'{"code":"invalid_argument","message":"append_seqno out of order: expected 1, got 2"}'),
    ]
    agent_turn = client(session).open_turn(turn_with(), token=TOKEN, timeout=5)
    with pytest.raises(UpstreamError, match="append_seqno out of order"):
        list(agent_turn.batches())
    agent_turn.close()
    assert [kind for _, _, kind in session.appends()] == ["run_request", "kv_client_message", "conversation_action"]


def test_an_append_that_cannot_be_sent_is_a_transport_error():
    session = FakeSession([END_OK])
    session.append_answers = [requests.exceptions.ConnectionError("connection refused")]
    with pytest.raises(TransportError):
        client(session).open_turn(turn_with(), token=TOKEN, timeout=5)
