"""A minimal agent-protocol client for tests of the fake, built on `requests` and the fake's own
schema (never the gateway's): RunSSE read by a thread, BidiAppends with rising seqnos under one
lock, optional heartbeats, and a correct answer to every query AGENT_WIRE §4 lists (or none, for
tests of the stall). `valid_run_request()` builds a run request that passes every check."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from google.protobuf.json_format import ParseDict

from app.cursor.framing import FrameDecoder
from tests.fake_cursor.agent_checks import COMPLETE_FLAGS, TOOL_PROVIDER, plain_wire_name
from tests.fake_cursor.proto import agent_fake_pb2 as pb

RUN_SSE = "/agent.v1.AgentService/RunSSE"
APPEND = "/aiserver.v1.BidiService/BidiAppend"
CLI_VERSION = "cli-2026.10.01-e373342"
STALE_CLI_VERSION = "cli-2026.09.02-c22c1a3"
TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhdXRoMHx1c2VyX2FnZW50In0.c2ln"  # sub auth0|user_agent
# exec args field -> the result field that answers it
RESULT_FIELDS = {"shell_args": "shell_result", "read_args": "read_result", "request_context_args": "request_context_result",
                 "mcp_args": "mcp_result"}  # fmt: skip


def identity_headers(token: str = TOKEN, request_id: str | None = None, **overrides: str | None) -> dict[str, str]:
    """The identity headers of every agent call (unary: content type application/proto)."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/proto",
        "connect-protocol-version": "1",
        "x-cursor-client-type": "cli",
        "x-cursor-client-version": CLI_VERSION,
        "x-ghost-mode": "true",
        "x-request-id": request_id or str(uuid.uuid4()),
        "User-Agent": "connect-es/1.6.1",
    }
    headers.update(overrides)  # type: ignore[arg-type]
    return {name: value for name, value in headers.items() if value is not None}


def run_sse_headers(token: str = TOKEN, request_id: str = "", tools: bool = False, **overrides) -> dict[str, str]:
    extra = {
        "Content-Type": "application/connect+proto",
        "x-cursor-streaming": "true",
        "connect-accept-encoding": "gzip",
    }
    if tools:
        extra["x-cursor-agent-allowed-tools"] = "mcp_tool_call"
    return identity_headers(token, request_id, **{**extra, **overrides})


def envelope(payload: bytes, flags: int = 0) -> bytes:
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def tool_definition(
    function_name: str, schema: dict | None = None, description: str = "A tool."
) -> pb.McpToolDefinition:
    schema = schema if schema is not None else {"type": "object", "properties": {"city": {"type": "string"}}}
    tool = pb.McpToolDefinition(
        name=plain_wire_name(function_name),
        description=description,
        provider_identifier=TOOL_PROVIDER,
        tool_name=function_name,
        input_schema_json=json.dumps(schema),
    )
    ParseDict(schema, tool.input_schema)
    return tool


def user_message(text: str) -> pb.UserMessage:
    return pb.UserMessage(text=text, message_id=str(uuid.uuid4()), mode=1, rich_text=text)


def request_context(tools: list[pb.McpToolDefinition]) -> pb.RequestContext:
    context = pb.RequestContext(
        env=pb.RequestContextEnv(os_version="linux", workspace_paths=["/tmp"], shell="bash", time_zone="UTC"),
        tools=tools,
    )
    for name in COMPLETE_FLAGS:
        setattr(context, name, True)
    return context


def valid_run_request(
    text: str = "hello",
    *,
    model: str = "composer-2.5",
    parameters: dict[str, str] | None = None,
    tools: list[pb.McpToolDefinition] | None = None,
    history: list[pb.HistoryMessage] | None = None,
    system: str | None = "Be brief.",
    conversation_id: str | None = None,
) -> pb.AgentRunRequest:
    conversation_id = conversation_id or str(uuid.uuid4())
    tools = tools or []
    action = pb.UserMessageAction(user_message=user_message(text), request_context=request_context(tools))
    if system is not None:
        action.prepend_user_messages.append(user_message(f"<system>\n{system}\n</system>"))
    if history:
        action.conversation_history.messages.extend(history)
    run = pb.AgentRunRequest(
        conversation_state=pb.ConversationStateStructure(mode=1, agent_type="agent"),
        action=pb.ConversationAction(user_message_action=action),
        model_details=pb.ModelDetails(model_id=model),
        conversation_id=conversation_id,
        conversation_group_id=conversation_id,
        requested_model=pb.RequestedModel(
            model_id=model,
            parameters=[pb.ModelParameter(id=key, value=value) for key, value in (parameters or {}).items()],
            built_in_model=True,
        ),
        run_id=str(uuid.uuid4()),
    )
    if tools:
        run.mcp_tools.tools.extend(tools)
    return run


def history_user(text: str) -> pb.HistoryMessage:
    return pb.HistoryMessage(user=pb.HistoryUser(content=[pb.Content(text=pb.TextContent(text=text))]))


def history_assistant(text: str = "", calls: list[tuple[str, str, str]] = ()) -> pb.HistoryMessage:
    """An assistant turn: text and/or tool calls (tool_call_id, wire name, args_json)."""
    content = [pb.AssistantContent(text=pb.TextContent(text=text))] if text else []
    for call_id, name, args in calls:
        content.append(
            pb.AssistantContent(tool_call=pb.ToolCallContent(tool_call_id=call_id, tool_name=name, args_json=args))
        )
    return pb.HistoryMessage(assistant=pb.HistoryAssistant(content=content))


def history_tool(call_id: str, name: str, text: str) -> pb.HistoryMessage:
    content = [pb.Content(text=pb.TextContent(text=text))]
    return pb.HistoryMessage(tool=pb.HistoryTool(tool_call_id=call_id, tool_name=name, content=content))


def tool_result_text(results: list[tuple[str, str, str]]) -> str:
    """The user message of a request that ends with tool results (AGENT_WIRE §3)."""
    return "\n\n".join(f"[Tool Result] call_id={call_id} tool={name}\n{text}" for call_id, name, text in results)


@dataclass
class Turn:
    """What a turn streamed, decoded."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)  # one per server write
    frames: list[tuple[int, bytes]] = field(default_factory=list)
    messages: list[pb.AgentServerMessage] = field(default_factory=list)
    trailer: dict | None = None
    ended: bool = False  # the response body ended (after a trailer or not)
    error: BaseException | None = None  # the reader's exception (e.g. a cut connection)
    frame_times: list[float] = field(default_factory=list)

    def updates(self, kind: str | None = None) -> list:
        found = [m.interaction_update for m in self.messages if m.WhichOneof("message") == "interaction_update"]
        if kind is None:
            return found
        return [getattr(u, kind) for u in found if u.WhichOneof("update") == kind]

    def update_kinds(self, heartbeats: bool = False) -> list[str]:
        kinds = []
        for message in self.messages:
            kind = message.WhichOneof("message")
            if kind == "interaction_update":
                kind = message.interaction_update.WhichOneof("update")
                if kind == "heartbeat" and not heartbeats:
                    continue
            kinds.append(kind)
        return kinds

    @property
    def text(self) -> str:
        return "".join(delta.text for delta in self.updates("text_delta"))

    @property
    def thinking(self) -> str:
        return "".join(delta.text for delta in self.updates("thinking_delta"))

    def of(self, kind: str) -> list:
        return [getattr(m, kind) for m in self.messages if m.WhichOneof("message") == kind]


Answerer = Callable[["AgentClient", pb.AgentServerMessage], bool]  # True: handled


class AgentClient:
    """One turn: `open()`, `append(...)`, `wait_end()`; `answer=True` answers every query the
    contract's way (and stops at an mcp_args: the run is parked)."""

    def __init__(self, url: str, token: str = TOKEN, *, answer: bool = True, heartbeat: float | None = None,
                 request_id: str | None = None, headers: dict[str, str | None] | None = None) -> None:  # fmt: skip
        self.url = url
        self.token = token
        self.request_id = request_id or str(uuid.uuid4())
        self.answer = answer
        self.heartbeat_interval = heartbeat
        self.extra_headers = headers or {}
        self.turn = Turn()
        self.run: pb.AgentRunRequest | None = None
        self.blobs: dict[bytes, bytes] = {}
        self.seqno = 0
        self.lock = threading.Lock()
        self.session = requests.Session()
        self.events: queue.Queue = queue.Queue()
        self.response: requests.Response | None = None
        self._stop = threading.Event()
        self.parked = threading.Event()
        self.append_statuses: list[int] = []

    # -- the read side ----------------------------------------------------------------------

    def open(self, tools: bool = False, body: bytes | None = None, timeout: float = 10) -> requests.Response:
        headers = run_sse_headers(self.token, self.request_id, tools=tools, **self.extra_headers)
        body = body if body is not None else envelope(pb.BidiRequestId(request_id=self.request_id).SerializeToString())
        self.response = requests.post(self.url + RUN_SSE, data=body, headers=headers, stream=True, timeout=timeout)
        self.turn.status = self.response.status_code
        self.turn.headers = dict(self.response.headers)
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()
        return self.response

    def _read(self) -> None:
        decoder = FrameDecoder()
        try:
            for chunk in self.response.iter_content(chunk_size=None):
                self.turn.chunks.append(chunk)
                for frame in decoder.feed(chunk):
                    self.turn.frames.append((frame.flags, frame.payload))
                    self.turn.frame_times.append(time.monotonic())
                    if frame.end_of_stream:
                        self.turn.trailer = json.loads(frame.payload)
                        continue
                    message = pb.AgentServerMessage.FromString(frame.payload)
                    self.turn.messages.append(message)
                    self.events.put(message)
        except BaseException as exc:  # a cut connection, a closed response
            self.turn.error = exc
        finally:
            self.turn.ended = True
            self._stop.set()
            self.events.put(None)

    def wait_end(self, timeout: float = 10) -> Turn:
        """Answer queries (when `answer`) until the stream ends."""
        deadline = time.monotonic() + timeout
        while not self.turn.ended or not self.events.empty():
            try:
                message = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("the turn did not end in time") from None
            if message is None:
                break
            if self.answer:
                self.respond(message)
            if time.monotonic() > deadline:
                raise TimeoutError("the turn did not end in time")
        return self.turn

    def wait_for(
        self, predicate: Callable[[pb.AgentServerMessage], bool], timeout: float = 10
    ) -> pb.AgentServerMessage:
        """The next message matching `predicate` (answering others when `answer`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("no such message in time") from None
            if message is None:
                raise EOFError("the stream ended")
            if predicate(message):
                return message
            if self.answer:
                self.respond(message)

    def close(self) -> None:
        """Leave: stop the heartbeats and close RunSSE at once. The socket is shut down first:
        closing a response whose body a thread is blocked reading sends no FIN until that read
        returns (which, on a silent stream, may be never)."""
        self._stop.set()
        if self.response is not None:
            connection = self.response.raw.connection
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.response.close()
        self.session.close()

    # -- the write side ---------------------------------------------------------------------

    def append(self, message: pb.AgentClientMessage | None = None, *, seqno: int | None = None, data: str | None = None,
               headers: dict[str, str | None] | None = None) -> requests.Response:  # fmt: skip
        with self.lock:
            number = self.seqno if seqno is None else seqno
            payload = data if data is not None else message.SerializeToString().hex()
            body = pb.BidiAppendRequest(
                data=payload, request_id=pb.BidiRequestId(request_id=self.request_id), append_seqno=number
            ).SerializeToString()
            request_headers = identity_headers(self.token, self.request_id, **(headers or {}))
            response = self.session.post(self.url + APPEND, data=body, headers=request_headers, timeout=10)
            self.append_statuses.append(response.status_code)
            if response.status_code == 200 and seqno is None:
                self.seqno += 1
            return response

    def send_run(self, run: pb.AgentRunRequest) -> requests.Response:
        self.run = run
        response = self.append(pb.AgentClientMessage(run_request=run))
        if self.heartbeat_interval:
            threading.Thread(target=self._beat, daemon=True).start()
        return response

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            if self.append(pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat())).status_code != 200:
                return

    def stop_heartbeats(self) -> None:
        self._stop.set()

    def cancel(self) -> requests.Response:
        action = pb.ConversationAction(cancel_action=pb.CancelAction())
        return self.append(pb.AgentClientMessage(conversation_action=action))

    # -- answers ----------------------------------------------------------------------------

    def respond(self, message: pb.AgentServerMessage) -> None:
        """The contract's answer to a query (AGENT_WIRE §4); nothing for updates."""
        kind = message.WhichOneof("message")
        if kind == "exec_server_message":
            self.answer_exec(message.exec_server_message)
        elif kind == "kv_server_message":
            self.answer_kv(message.kv_server_message)
        elif kind == "interaction_query":
            query = message.interaction_query
            answer = pb.InteractionAnswer(rejected=pb.InteractionRejected(reason="not supported"))
            response = pb.InteractionResponse(id=query.id, **{query.WhichOneof("query"): answer})
            self.append(pb.AgentClientMessage(interaction_response=response))

    def answer_exec(self, query: pb.ExecServerMessage, **override) -> requests.Response | None:
        args = query.WhichOneof("args")
        if args == "mcp_args":
            self.parked.set()
            return None
        result = pb.ExecClientMessage(id=query.id, exec_id=query.exec_id)
        if args == "request_context_args":
            context = self.run.action.user_message_action.request_context
            result.request_context_result.success.request_context.CopyFrom(context)
        else:
            getattr(result, RESULT_FIELDS[args]).rejected.reason = "built-in tools are not available"
        for key, value in override.items():
            setattr(result, key, value)
        return self.append(pb.AgentClientMessage(exec_client_message=result))

    def answer_kv(self, query: pb.KvServerMessage) -> requests.Response:
        result = pb.KvClientMessage(id=query.id)
        if query.WhichOneof("args") == "set_blob_args":
            self.blobs[query.set_blob_args.blob_id] = query.set_blob_args.blob_data
            result.set_blob_result.SetInParent()
        else:
            result.get_blob_result.blob_data = self.blobs.get(query.get_blob_args.blob_id, b"")
        return self.append(pb.AgentClientMessage(kv_client_message=result))


def run_turn(url: str, run: pb.AgentRunRequest, token: str = TOKEN, timeout: float = 10, **options) -> AgentClient:
    """Open, send the run request, answer everything until the end (or the park)."""
    client = AgentClient(url, token, **options)
    client.open(tools=bool(run.mcp_tools.tools))
    client.send_run(run)
    return client
