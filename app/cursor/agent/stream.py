"""RunSSE body bytes in; typed events, and the answers the server waits for, out (AGENT_WIRE
§4–§6). A state machine in the manner of h11: no sockets and no clock, so every exchange of a
turn is testable from bytes alone.

The server stalls (heartbeats only) until each KV and exec query is answered, so `feed` returns
the replies with the events and the transport appends them before it reads on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import NamedTuple

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from app.cursor.agent.errors import agent_error
from app.cursor.agent.run_request import PreparedTurn
from app.cursor.agent.values import from_value
from app.cursor.errors import EmptyAnswer, ProtocolError, ReadError
from app.cursor.events import Event, ReasoningDelta, StreamEnd, TextDelta, ToolCall, Usage
from app.cursor.framing import MIB, FrameDecoder
from app.cursor.proto import agent_pb2
from app.cursor.response import end_of_stream

EXEC_REFUSAL = "This client runs no built-in tools; only its MCP tools are available."
INTERACTION_REFUSAL = "Not available through this client."
_LENGTH_DELIMITED = 2  # protobuf wire type of a message field


class Batch(NamedTuple):
    """What one read produced: events for the caller, replies to append (in order) for the server."""

    events: list[Event]
    replies: list[agent_pb2.AgentClientMessage]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _kind_number(message: Message, oneof: str, header_fields: tuple[int, ...]) -> int:
    """The field number of a query's kind: the oneof member our schema knows, else the first
    message field it does not (a kind newer than our schema is still refused, not left to stall
    the turn)."""
    kind = message.WhichOneof(oneof)
    if kind is not None:
        return message.DESCRIPTOR.fields_by_name[kind].number
    unknown = UnknownFieldSet(message)
    for field in (unknown[index] for index in range(len(unknown))):
        if field.field_number not in header_fields and field.wire_type == _LENGTH_DELIMITED:
            return field.field_number
    raise ProtocolError(f"{message.DESCRIPTOR.name} of no kind the gateway can answer")


def _with_member(head: Message, number: int, member: Message) -> bytes:
    """`head` plus the message field `number` set to `member`, built on the wire: every exec
    result (and every interaction response) has the same shape for every kind, so one refusal
    serves kinds this schema does not list."""
    payload = member.SerializeToString()
    return head.SerializeToString() + _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def _rejected_exec(query: agent_pb2.ExecServerMessage) -> agent_pb2.AgentClientMessage:
    number = _kind_number(query, "args", (1, 15))
    head = agent_pb2.ExecClientMessage(id=query.id, exec_id=query.exec_id)
    result = agent_pb2.ExecResult(rejected=agent_pb2.ExecRejected(reason=EXEC_REFUSAL))
    reply = agent_pb2.ExecClientMessage.FromString(_with_member(head, number, result))
    return agent_pb2.AgentClientMessage(exec_client_message=reply)


def _rejected_interaction(query: agent_pb2.InteractionQuery) -> agent_pb2.AgentClientMessage:
    number = _kind_number(query, "query", (1,))
    verdict = agent_pb2.InteractionVerdict(rejected=agent_pb2.InteractionRejected(reason=INTERACTION_REFUSAL))
    reply = agent_pb2.InteractionResponse.FromString(
        _with_member(agent_pb2.InteractionResponse(id=query.id), number, verdict)
    )
    return agent_pb2.AgentClientMessage(interaction_response=reply)


def tool_arguments(args: Mapping[str, object]) -> str:
    """Decoded tool arguments as compact JSON text (OpenAI's `arguments`)."""
    return json.dumps(args, separators=(",", ":"), ensure_ascii=False)


class TurnDecoder:
    """One turn's RunSSE body, whatever the read sizes.

    The answer is over (`turn_over`) at the success end-of-stream frame or, for a tool-call
    step, once every started call has its `mcp_args` (the run is parked then and sends only
    heartbeats). `ended` says whether the server itself finished the stream: if not, the client
    owes it a cancel. Blobs the server stored this turn are in `stored_blobs`, for the caller to
    keep for the conversation's later turns."""

    def __init__(
        self,
        turn: PreparedTurn,
        blobs: Mapping[bytes, bytes] | None = None,
        *,
        max_frame_bytes: int = 16 * MIB,
        max_decompressed_bytes: int = 16 * MIB,
    ) -> None:
        self._frames = FrameDecoder(max_frame_bytes, max_decompressed_bytes, strict_flags=True)
        self._turn = turn
        self._known_blobs = dict(blobs or {})
        self._stored_blobs: dict[bytes, bytes] = {}
        self._started_calls: set[str] = set()
        self._called: set[str] = set()
        self._usage: Usage | None = None
        self._answered = False
        self._ended = False
        self._tool_step_over = False

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def turn_over(self) -> bool:
        return self._ended or self._tool_step_over

    @property
    def stored_blobs(self) -> dict[bytes, bytes]:
        return dict(self._stored_blobs)

    def feed(self, data: bytes) -> Batch:
        """The events and owed replies completed by `data`. Raises UpstreamError (error
        trailer), EmptyAnswer (a clean end with nothing said) or ProtocolError."""
        if self._ended and data:
            raise ProtocolError("data after the end of the stream")
        batch = Batch([], [])
        for frame in self._frames.feed(data):
            if self._ended:
                raise ProtocolError("data after the end of the stream")
            if frame.end_of_stream:
                self._end(frame.payload, batch.events)
            elif not self._tool_step_over:
                self._message(frame.payload, batch)
        if self._ended and self._frames.buffered:
            raise ProtocolError("data after the end of the stream")
        return batch

    def finish(self) -> None:
        """The body ended: it must not end inside a frame, nor before the turn did."""
        self._frames.finish()
        if not self.turn_over:
            raise ReadError("the upstream closed the stream before the end of the turn")

    def _end(self, payload: bytes, events: list[Event]) -> None:
        self._ended = True
        if self._tool_step_over:
            return  # the answer is complete; how the server winds the parked run down is its business
        end_of_stream(payload, agent_error)
        if not self._answered:
            raise EmptyAnswer()
        self._close_answer(events)

    def _close_answer(self, events: list[Event]) -> None:
        if self._usage is not None:
            events.append(self._usage)
        events.append(StreamEnd())

    def _message(self, payload: bytes, batch: Batch) -> None:
        try:
            message = agent_pb2.AgentServerMessage.FromString(payload)
        except DecodeError:
            raise ProtocolError("data frame is not an AgentServerMessage") from None
        kind = message.WhichOneof("message")
        if kind == "interaction_update":
            self._update(message.interaction_update, batch.events)
        elif kind == "exec_server_message":
            self._exec(message.exec_server_message, batch)
        elif kind == "kv_server_message":
            batch.replies.append(self._kv(message.kv_server_message))
        elif kind == "interaction_query":
            batch.replies.append(_rejected_interaction(message.interaction_query))
        # Nothing is owed for the rest: checkpoints (the gateway is stateless and replays the
        # history), exec aborts (it runs nothing that could be stopped) and kinds newer than us.

    def _update(self, update: agent_pb2.InteractionUpdate, events: list[Event]) -> None:
        kind = update.WhichOneof("update")
        if kind == "text_delta" and update.text_delta.text:
            self._answered = True
            events.append(TextDelta(update.text_delta.text))
        elif kind == "thinking_delta" and update.thinking_delta.text:
            self._answered = True
            events.append(ReasoningDelta(update.thinking_delta.text))
        elif kind == "tool_call_started":
            started = update.tool_call_started
            # Only calls of the client's tools get an mcp_args; a built-in kind is refused as an exec.
            if not started.HasField("tool_call") or started.tool_call.HasField("mcp_tool_call"):
                self._started_calls.add(started.call_id)
        elif kind == "turn_ended":
            ended = update.turn_ended
            self._usage = Usage(  # the last one wins: some builds send cumulative snapshots
                ended.input_tokens,
                ended.output_tokens,
                ended.cache_read_tokens,
                ended.cache_write_tokens,
                ended.reasoning_tokens,
            )

    def _exec(self, query: agent_pb2.ExecServerMessage, batch: Batch) -> None:
        kind = query.WhichOneof("args")
        if kind == "mcp_args":
            self._tool_call(query, batch.events)
        elif kind == "request_context_args":
            result = agent_pb2.RequestContextResult(
                success=agent_pb2.RequestContextSuccess(request_context=self._turn.request_context)
            )
            reply = agent_pb2.ExecClientMessage(id=query.id, exec_id=query.exec_id, request_context_result=result)
            batch.replies.append(agent_pb2.AgentClientMessage(exec_client_message=reply))
        else:
            batch.replies.append(_rejected_exec(query))

    def _tool_call(self, query: agent_pb2.ExecServerMessage, events: list[Event]) -> None:
        args = query.mcp_args
        call_id = args.tool_call_id or query.exec_id
        if call_id in self._called:
            return
        self._called.add(call_id)
        self._started_calls.add(call_id)
        self._answered = True
        name = self._turn.tool_names.client(args.name, args.tool_name)
        arguments = tool_arguments({key: from_value(value) for key, value in args.args.items()})
        events.append(ToolCall(call_id, name, arguments))
        if self._started_calls <= self._called:
            self._tool_step_over = True
            self._close_answer(events)

    def _kv(self, query: agent_pb2.KvServerMessage) -> agent_pb2.AgentClientMessage:
        kind = query.WhichOneof("args")
        if kind == "get_blob_args":
            blob_id = query.get_blob_args.blob_id
            data = self._stored_blobs.get(blob_id, self._known_blobs.get(blob_id, b""))
            reply = agent_pb2.KvClientMessage(id=query.id, get_blob_result=agent_pb2.GetBlobResult(blob_data=data))
        elif kind == "set_blob_args":
            self._stored_blobs[query.set_blob_args.blob_id] = query.set_blob_args.blob_data
            reply = agent_pb2.KvClientMessage(id=query.id, set_blob_result=agent_pb2.SetBlobResult())
        else:
            raise ProtocolError("kv_server_message of no kind the gateway can answer")
        return agent_pb2.AgentClientMessage(kv_client_message=reply)
