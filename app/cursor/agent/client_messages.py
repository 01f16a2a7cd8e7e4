"""The bytes the client sends besides the run request (AGENT_WIRE §1–§2): the RunSSE body, the
BidiAppend body around each AgentClientMessage, heartbeats and the cancel."""

from __future__ import annotations

from app.cursor.framing import encode_frame
from app.cursor.proto import agent_aiserver_pb2, agent_pb2


def run_sse_body(request_id: str) -> bytes:
    """RunSSE's request: one envelope (flags 0) holding the turn's BidiRequestId."""
    return encode_frame(agent_aiserver_pb2.BidiRequestId(request_id=request_id).SerializeToString())


def append_body(message: agent_pb2.AgentClientMessage, request_id: str, seqno: int) -> bytes:
    """A unary BidiAppendRequest: the message as lowercase hex (the SDK's HTTP/1.1 form, not
    `data_binary`), the turn's request id and the append's sequence number."""
    return agent_aiserver_pb2.BidiAppendRequest(
        data=message.SerializeToString().hex(),
        request_id=agent_aiserver_pb2.BidiRequestId(request_id=request_id),
        append_seqno=seqno,
    ).SerializeToString()


def heartbeat() -> agent_pb2.AgentClientMessage:
    """`client_heartbeat {}` (bytes `3a 00`): without one every few seconds the server drops the turn."""
    return agent_pb2.AgentClientMessage(client_heartbeat=agent_pb2.ClientHeartbeat())


def cancel() -> agent_pb2.AgentClientMessage:
    """`conversation_action {cancel_action {}}`: the client leaves a turn the server still runs
    (a parked tool call, or a client that went away)."""
    return agent_pb2.AgentClientMessage(
        conversation_action=agent_pb2.ConversationAction(cancel_action=agent_pb2.CancelAction())
    )
