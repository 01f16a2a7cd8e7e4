"""The agent protocol's floor: a lean client of the fake (directly, or through the relay) that
makes one chat exactly as the gateway made it upstream (bench/capture.py took the RunSSE request
and the BidiAppend writes from the fake's record), changing only what must differ per turn: the
request id (RunSSE refuses a used one), the run id (AGENT_WIRE §3: new per turn) and, in each
answer, the query's id and exec id. Raw sockets (bench/http.py) and the fake's own schema, never
the gateway's code: what it costs is what the protocol itself costs.

A chat: RunSSE on one keep-alive connection (its headers come at once), the run request appended
on a second one, every exec query answered there with the gateway's answer to it, a heartbeat
every HEARTBEAT_SECONDS, and the stream read to its end-of-stream frame. It returns the joined
text deltas; a stream that ends otherwise, an error trailer or a refused append (but a heartbeat:
see `feed`) raise ValueError."""

from __future__ import annotations

import json
import math
import struct
import time
import uuid
from collections.abc import Callable

from bench.http import Connection, build_request
from tests.fake_cursor.proto import agent_fake_pb2 as pb

# AGENT_WIRE §2: one client_heartbeat every AGENT_HEARTBEAT_SECONDS (the gateway's default, 5).
# Sent when a read finds one due, not from a timer of its own: the benchmark's streams never go
# 5 s without a byte (ticks every 100 ms), and a greenlet per chat would be the floor's own cost.
HEARTBEAT_SECONDS = 5.0
_FRAME = struct.Struct(">BI")
END_STREAM = 0x02
HEARTBEAT = pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat())


def envelope(payload: bytes) -> bytes:
    return _FRAME.pack(0, len(payload)) + payload


class AgentChat:
    """One generator worker's agent chats, on its two keep-alive connections."""

    def __init__(self, host: str, port: int, template: dict, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.paths = template["run_sse_path"], template["append_path"]
        self.run_headers, self.append_headers = template["run_headers"], template["append_headers"]
        self.run_request = pb.AgentClientMessage.FromString(bytes.fromhex(template["run_request_hex"]))
        self.answers = {
            kind: pb.AgentClientMessage.FromString(bytes.fromhex(answer))
            for kind, answer in template["answers"].items()
        }
        self.stream: Connection | None = None
        self.appends: Connection | None = None

    def call(self, on_data: Callable[[bytes], None]) -> str:
        """One chat; `on_data` gets the RunSSE body's pieces as they arrive (for the first byte)."""
        self.stream = stream = self.connected(self.stream)
        return _Turn(self, stream, on_data).run()

    def connected(self, connection: Connection | None) -> Connection:
        """`connection`, or a new one when there is none or the server closed it."""
        if connection is None or connection.closed:
            return Connection(self.host, self.port, self.timeout)
        return connection

    def reset(self) -> None:
        """After a failure: neither connection is in a known state."""
        for connection in (self.stream, self.appends):
            if connection is not None:
                connection.close()
        self.stream = self.appends = None


class _Turn:
    """One chat's turn: its request id, its seqnos, the stream's frames as they arrive."""

    def __init__(self, chat: AgentChat, stream: Connection, on_data: Callable[[bytes], None]) -> None:
        self.chat, self.stream, self.on_data = chat, stream, on_data
        self.request_id = str(uuid.uuid4())
        self.seqno = 0
        self.pending = bytearray()
        self.texts: list[str] = []
        self.ended = False
        self.beat_due = 0.0

    def run(self) -> str:
        chat = self.chat
        body = envelope(pb.BidiRequestId(request_id=self.request_id).SerializeToString())
        headers = {**chat.run_headers, "x-request-id": self.request_id}
        status, head = self.stream.start(build_request(chat.host, chat.port, chat.paths[0], headers, body))
        if status != 200:
            refusal: list[bytes] = []
            self.stream.body(head, refusal.append)
            raise ValueError(f"RunSSE status {status}: {b''.join(refusal)[:200]!r}")
        run = pb.AgentClientMessage()
        run.CopyFrom(chat.run_request)
        run.run_request.run_id = str(uuid.uuid4())
        self.append(run)
        self.beat_due = time.monotonic() + HEARTBEAT_SECONDS
        self.stream.body(head, self.feed)
        if not self.ended or self.pending:
            raise ValueError("the RunSSE stream ended without an end-of-stream frame")
        return "".join(self.texts)

    def feed(self, piece: bytes) -> None:
        self.on_data(piece)
        pending = self.pending
        pending += piece
        position = 0
        while len(pending) - position >= 5:
            flags, length = _FRAME.unpack_from(pending, position)
            end = position + 5 + length
            if end > len(pending):
                break
            payload = bytes(pending[position + 5 : end])
            position = end
            if self.ended:
                raise ValueError("data after the end-of-stream frame")
            if flags & END_STREAM:
                self.ended = True
                trailer = json.loads(payload or b"{}")
                if trailer.get("error"):
                    raise ValueError(f"error trailer: {trailer['error']}")
            elif flags:
                raise ValueError(f"frame flags {flags}: the benchmark's scenarios send no compressed frames")
            else:
                self.message(pb.AgentServerMessage.FromString(payload))
        del pending[:position]
        if not self.ended and time.monotonic() >= self.beat_due:
            # as the gateway does: a heartbeat the server refuses (it finished the turn while the
            # last bytes were on their way) ends the heartbeats; the stream says how the turn ended
            self.beat_due = self.beat_due + HEARTBEAT_SECONDS if self.append(HEARTBEAT, required=False) else math.inf

    def message(self, message: pb.AgentServerMessage) -> None:
        kind = message.WhichOneof("message")
        if kind == "interaction_update":
            if message.interaction_update.WhichOneof("update") == "text_delta":
                self.texts.append(message.interaction_update.text_delta.text)
        elif kind == "exec_server_message":
            query = message.exec_server_message
            args = query.WhichOneof("args")
            template = self.chat.answers.get(args)
            if template is None:
                raise ValueError(f"an exec query ({args}) the gateway's chat did not have")
            answer = pb.AgentClientMessage()
            answer.CopyFrom(template)
            answer.exec_client_message.id = query.id
            answer.exec_client_message.exec_id = query.exec_id
            self.append(answer)
        elif kind in ("kv_server_message", "interaction_query"):
            raise ValueError(f"a {kind} the gateway's chat did not have")

    def append(self, message: pb.AgentClientMessage, required: bool = True) -> bool:
        """Whether the server took it; a refusal of a `required` append fails the chat."""
        chat = self.chat
        body = pb.BidiAppendRequest(
            data=message.SerializeToString().hex(),
            request_id=pb.BidiRequestId(request_id=self.request_id),
            append_seqno=self.seqno,
        ).SerializeToString()
        self.seqno += 1
        headers = {**chat.append_headers, "x-request-id": self.request_id}
        answer: list[bytes] = []
        chat.appends = appends = chat.connected(chat.appends)
        status = appends.exchange(build_request(chat.host, chat.port, chat.paths[1], headers, body), answer.append)
        if status != 200 and required:
            raise ValueError(f"BidiAppend {self.seqno - 1} status {status}: {b''.join(answer)[:200]!r}")
        return status == 200
