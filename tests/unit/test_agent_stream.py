"""The RunSSE decoder (AGENT_WIRE §4–§6): events out of server frames, and the answer owed for
every server query, checked by field number on the raw wire."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from google.protobuf import struct_pb2

from app.cursor.agent.run_request import prepare_turn
from app.cursor.agent.stream import EXEC_REFUSAL, INTERACTION_REFUSAL, TurnDecoder
from app.cursor.errors import EmptyAnswer, ProtocolError, ReadError, UpstreamError, is_stale_client
from app.cursor.events import ReasoningDelta, StreamEnd, TextDelta, ToolCall, Usage
from app.cursor.framing import FLAG_COMPRESSED, FLAG_END_STREAM, encode_frame
from app.cursor.messages import ChatMessage, ChatTurn, ToolSpec
from app.cursor.proto import agent_pb2 as pb
from app.cursor.proto import aiserver_pb2
from tests.unit.protowire import field, fields, numbers, one, text

WEATHER = ToolSpec("get.weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
WIRE_WEATHER = "custom-user-tools-get_weather"
END_OK = encode_frame(b"{}", FLAG_END_STREAM)
UPDATE_REQUIRED_DETAIL = (
    "Your version of Cursor is no longer supported. Please update to the latest version of Cursor at "
    "cursor.com/downloads to continue."
)


def prepared(tools=(WEATHER,)):
    return prepare_turn(ChatTurn(model="composer-2.5", messages=(ChatMessage("user", "Hi"),), tools=tools))


def decoder(**kwargs) -> TurnDecoder:
    return TurnDecoder(prepared(), **kwargs)


def frame(**message) -> bytes:
    return encode_frame(pb.AgentServerMessage(**message).SerializeToString())


def update(**kind) -> bytes:
    return frame(interaction_update=pb.InteractionUpdate(**kind))


def text_frame(piece: str) -> bytes:
    return update(text_delta=pb.TextDelta(text=piece))


def feed_all(decoder_: TurnDecoder, data: bytes):
    events, replies = decoder_.feed(data)
    return events, [reply.SerializeToString() for reply in replies]


def error_end(error: dict) -> bytes:
    return encode_frame(json.dumps({"error": error}).encode(), FLAG_END_STREAM)


# -- text, reasoning, usage, the end ------------------------------------------------------------


def test_text_reasoning_and_usage_then_the_clean_end():
    data = b"".join(
        [
            update(heartbeat=pb.Heartbeat()),
            update(thinking_delta=pb.ThinkingDelta(text="Let me think.")),
            update(thinking_completed=pb.ThinkingCompleted(thinking_duration_ms=12)),
            text_frame("Hel"),
            text_frame(""),
            text_frame("lo"),
            update(token_delta=pb.TokenDelta(tokens=3)),
            frame(conversation_checkpoint_update=pb.ConversationStateStructure(mode=1)),
            update(turn_ended=pb.TurnEnded(input_tokens=5, output_tokens=2)),
            update(
                turn_ended=pb.TurnEnded(
                    input_tokens=10, output_tokens=4, cache_read_tokens=3, cache_write_tokens=2, reasoning_tokens=1
                )
            ),
            END_OK,
        ]
    )
    stream = decoder()
    events, replies = stream.feed(data)
    assert events == [
        ReasoningDelta("Let me think."),
        TextDelta("Hel"),
        TextDelta("lo"),
        Usage(10, 4, 3, 2, 1),
        StreamEnd(),
    ]
    assert replies == [] and stream.ended and stream.turn_over
    assert Usage(10, 4, 3, 2, 1).prompt_tokens == 15
    stream.finish()


def test_any_read_split_gives_the_same_events():
    data = text_frame("Hello") + encode_frame(gzip.compress(text_frame(" world")[5:]), FLAG_COMPRESSED) + END_OK
    stream, events = decoder(), []
    for index in range(len(data)):
        events += stream.feed(data[index : index + 1]).events
    stream.finish()
    assert events == [TextDelta("Hello"), TextDelta(" world"), StreamEnd()]


def test_a_reasoning_only_turn_is_an_answer():
    events, _ = decoder().feed(update(thinking_delta=pb.ThinkingDelta(text="hm")) + END_OK)
    assert events == [ReasoningDelta("hm"), StreamEnd()]


def test_the_silent_soft_block_is_an_error_not_an_empty_answer():
    stream = decoder()
    with pytest.raises(EmptyAnswer, match="empty turn"):
        stream.feed(update(heartbeat=pb.Heartbeat()) + update(turn_ended=pb.TurnEnded()) + END_OK)
    assert stream.ended  # the server finished: nothing to cancel


def test_a_stream_that_stops_before_the_end_is_a_read_error():
    stream = decoder()
    stream.feed(text_frame("partial"))
    with pytest.raises(ReadError, match="before the end of the turn"):
        stream.finish()
    stream = decoder()
    stream.feed(text_frame("partial")[:7])
    with pytest.raises(ProtocolError, match="inside a frame"):
        stream.finish()


def test_data_after_the_end_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="after the end"):
        decoder().feed(text_frame("a") + END_OK + text_frame("b"))


@pytest.mark.parametrize("flags", [0x80, 0x81, 0x04])
def test_frames_with_other_flags_are_refused(flags):
    """A gRPC-Web trailer (0x80) is not Connect: refused rather than silently skipped."""
    with pytest.raises(ProtocolError, match="unsupported flags"):
        decoder().feed(encode_frame(b"grpc-status: 0\r\n", flags))


def test_a_frame_that_is_not_an_agent_server_message_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="not an AgentServerMessage"):
        decoder().feed(encode_frame(b"\xff\xff\xff"))


# -- errors ---------------------------------------------------------------------------------


def details_value(error: int, title: str = "", detail: str = "", extra: bytes = b"") -> str:
    message = aiserver_pb2.ErrorDetails(error=error, is_expected=True)
    if title or detail:
        message.details.title, message.details.detail = title, detail
    raw = message.SerializeToString()
    if extra:  # fields our schema does not know, e.g. CustomErrorDetails 10 analytics
        details = message.details.SerializeToString() + extra
        raw = aiserver_pb2.ErrorDetails(error=error, is_expected=True).SerializeToString()
        raw += field(2, details)
    return base64.b64encode(raw).decode().rstrip("=")


def test_an_error_trailer_with_the_bare_message_error_is_classified_on_its_details():
    value = details_value(50, "Too many requests", "Slow down.")
    trailer = {"code": "resource_exhausted", "message": "Error",
               "details": [{"type": "aiserver.v1.ErrorDetails", "value": value, "debug": {"error": "ERROR_RATE_LIMITED"}}]}  # fmt: skip
    stream = decoder()
    with pytest.raises(UpstreamError) as caught:
        stream.feed(text_frame("partial") + error_end(trailer))
    error = caught.value
    assert (error.http_status, error.connect_code, error.error_name) == (
        429,
        "resource_exhausted",
        "ERROR_RATE_LIMITED",
    )
    assert (error.title, error.detail) == ("Too many requests", "Slow down.")
    assert stream.ended and not is_stale_client(error)


def test_the_stale_client_version_error_is_recognisable():
    analytics = field(10, field(1, b"payment"))  # as the real bytes end (PROTOCOL_AGENT §10)
    value = details_value(28, "Update Required", UPDATE_REQUIRED_DETAIL, extra=analytics)
    trailer = {
        "code": "resource_exhausted",
        "message": "Error",
        "details": [{"type": "aiserver.v1.ErrorDetails", "value": value}],
    }
    with pytest.raises(UpstreamError) as caught:
        decoder().feed(error_end(trailer))
    error = caught.value
    assert error.error_name == "ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT" and error.title == "Update Required"
    assert is_stale_client(error)


def test_a_refusal_without_details_keeps_its_message():
    with pytest.raises(UpstreamError) as caught:
        decoder().feed(error_end({"code": "deadline_exceeded", "message": "No client heartbeat: the turn was dropped"}))
    error = caught.value
    assert (error.http_status, error.connect_code, error.error_name) == (504, "deadline_exceeded", None)
    assert error.detail == "No client heartbeat: the turn was dropped"
    with pytest.raises(UpstreamError) as caught:
        decoder().feed(error_end({"code": "internal", "message": "Error"}))
    assert (caught.value.http_status, caught.value.detail) == (502, None)


def test_a_rate_limit_on_a_genuine_vision_model_is_not_a_stale_client():
    value = details_value(28, "Rate limited", "Try later.")
    with pytest.raises(UpstreamError) as caught:
        decoder().feed(error_end({"code": "resource_exhausted", "details": [{"value": value}]}))
    assert not is_stale_client(caught.value)


# -- server queries and the answers owed ---------------------------------------------------------


def test_kv_blobs_are_served_stored_and_exposed():
    stream = TurnDecoder(prepared(), {b"old": b"from an earlier turn"})
    data = b"".join(
        [
            frame(kv_server_message=pb.KvServerMessage(id=1, get_blob_args=pb.GetBlobArgs(blob_id=b"old"))),
            frame(
                kv_server_message=pb.KvServerMessage(id=2, set_blob_args=pb.SetBlobArgs(blob_id=b"new", blob_data=b"N"))
            ),
            frame(kv_server_message=pb.KvServerMessage(id=3, get_blob_args=pb.GetBlobArgs(blob_id=b"new"))),
            frame(kv_server_message=pb.KvServerMessage(id=4, get_blob_args=pb.GetBlobArgs(blob_id=b"nope"))),
        ]
    )
    events, replies = feed_all(stream, data)
    assert events == []
    assert [fields(one(reply, 3)) for reply in replies] == [
        [(1, 0, 1), (2, 2, bytes([10, 20]) + b"from an earlier turn")],
        [(1, 0, 2), (3, 2, b"")],
        [(1, 0, 3), (2, 2, b"\x0a\x01N")],
        [(1, 0, 4), (2, 2, b"")],  # unknown: empty data
    ]
    assert stream.stored_blobs == {b"new": b"N"}


def test_request_context_args_are_answered_with_our_request_context():
    turn = prepared()
    stream = TurnDecoder(turn)
    query = pb.ExecServerMessage(id=7, exec_id="exec-7", request_context_args=pb.RequestContextArgs())
    _, (reply,) = feed_all(stream, frame(exec_server_message=query))
    answer = one(reply, 2)
    assert numbers(answer) == {1, 15, 10}
    assert (one(answer, 1), text(answer, 15)) == (7, "exec-7")
    context = one(answer, 10, 1, 1)  # request_context_result {1 success {1 request_context}}
    assert context == turn.request_context.SerializeToString()
    assert text(context, 7, 1) == WIRE_WEATHER


@pytest.mark.parametrize("kind,number", [("shell_args", 2), ("read_args", 7), ("ls_args", 8), ("fetch_args", 20)])
def test_built_in_execs_are_rejected_with_a_result_of_the_same_kind(kind, number):
    query = pb.ExecServerMessage(id=3, exec_id="e3", **{kind: pb.BuiltinExecArgs()})
    _, (reply,) = feed_all(decoder(), frame(exec_server_message=query))
    answer = one(reply, 2)
    assert numbers(answer) == {1, 15, number}
    assert (one(answer, 1), text(answer, 15)) == (3, "e3")
    assert text(answer, number, 3, 1) == EXEC_REFUSAL  # result {3 rejected {1 reason}}


def test_an_exec_kind_newer_than_our_schema_is_still_rejected_in_kind():
    raw_exec = (
        bytes([0x08, 0x05, 0x7A, 0x02]) + b"e5" + bytes([0xEA, 0x02, 0x02, 0x0A, 0x00])
    )  # 1: 5, 15: "e5", 45: {...}
    data = encode_frame(bytes([0x12, len(raw_exec)]) + raw_exec)  # AgentServerMessage 2 exec_server_message
    _, (reply,) = feed_all(decoder(), data)
    answer = one(reply, 2)
    assert numbers(answer) == {1, 15, 45}
    assert text(answer, 45, 3, 1) == EXEC_REFUSAL


@pytest.mark.parametrize("kind,number", [("web_search", 2), ("ask_question", 3), ("switch_mode", 4), ("setup_vm", 8)])
def test_interaction_queries_are_rejected(kind, number):
    query = pb.InteractionQuery(id=9, **{kind: pb.InteractionQueryArgs()})
    _, (reply,) = feed_all(decoder(), frame(interaction_query=query))
    answer = one(reply, 6)
    assert numbers(answer) == {1, number} and one(answer, 1) == 9
    assert text(answer, number, 2, 1) == INTERACTION_REFUSAL  # {2 rejected {1 reason}}


def test_an_exec_abort_and_a_checkpoint_owe_nothing():
    data = frame(exec_server_control_message=pb.ExecServerControlMessage(abort=pb.ExecAbort(id=1)))
    data += frame(conversation_checkpoint_update=pb.ConversationStateStructure(mode=1))
    assert feed_all(decoder(), data) == ([], [])


# -- tool calls -----------------------------------------------------------------------------


def started(call_id: str) -> bytes:
    return update(
        tool_call_started=pb.ToolCallUpdate(call_id=call_id, tool_call=pb.ToolCall(mcp_tool_call=pb.McpToolCall()))
    )


def mcp_args(exec_id: int, call_id: str, **arguments) -> bytes:
    args = pb.McpArgs(
        name=WIRE_WEATHER, tool_call_id=call_id, provider_identifier="custom-user-tools", tool_name="get.weather"
    )
    for key, value in arguments.items():
        args.args[key].CopyFrom(value)
    return frame(exec_server_message=pb.ExecServerMessage(id=exec_id, exec_id=f"x{exec_id}", mcp_args=args))


def number(value: float) -> struct_pb2.Value:
    return struct_pb2.Value(number_value=value)


def test_the_turn_ends_once_every_started_call_has_its_mcp_args():
    stream = decoder()
    partial = pb.PartialToolCall(call_id="call_a", args_text_delta='{"city":')
    events, replies = stream.feed(
        update(partial_tool_call=partial) + started("call_a") + started("call_b") + text_frame("Checking.")
    )
    assert events == [TextDelta("Checking.")] and replies == []
    events, replies = stream.feed(mcp_args(1, "call_a", city=struct_pb2.Value(string_value="Paris")))
    assert events == [ToolCall("call_a", "get.weather", '{"city":"Paris"}')]
    assert not stream.turn_over and replies == []  # mcp_args owes no immediate answer
    events, _ = stream.feed(
        mcp_args(2, "call_b", city=struct_pb2.Value(string_value="Rome")) + update(heartbeat=pb.Heartbeat())
    )
    assert events == [ToolCall("call_b", "get.weather", '{"city":"Rome"}'), StreamEnd()]
    assert stream.turn_over and not stream.ended  # parked: the client owes a cancel
    # after the step, queries are not answered and the end frame only records that the server ended
    _, replies = stream.feed(frame(kv_server_message=pb.KvServerMessage(id=9, get_blob_args=pb.GetBlobArgs())) + END_OK)
    assert replies == [] and stream.ended
    stream.finish()


def test_usage_seen_before_the_tool_calls_comes_with_the_end():
    stream = decoder()
    events, _ = stream.feed(update(turn_ended=pb.TurnEnded(input_tokens=4)) + mcp_args(1, "c1"))
    assert events == [ToolCall("c1", "get.weather", "{}"), Usage(input_tokens=4), StreamEnd()]


def test_a_repeated_mcp_args_is_one_call():
    stream = decoder()
    events, _ = stream.feed(started("c1") + started("c2") + mcp_args(1, "c1") + mcp_args(1, "c1"))
    assert events == [ToolCall("c1", "get.weather", "{}")]


def test_a_started_built_in_call_is_not_waited_for():
    stream = decoder()
    built_in = pb.ToolCallUpdate(call_id="shell", tool_call=pb.ToolCall.FromString(bytes([0x0A, 0x00])))  # kind 1
    events, _ = stream.feed(update(tool_call_started=built_in) + started("c1") + mcp_args(1, "c1"))
    assert events[-1] == StreamEnd()


def test_arguments_are_decoded_with_whole_numbers_as_integers():
    nested = struct_pb2.Value()
    nested.struct_value.update({"list": [1.0, 2.5, "s", True, None], "deep": {"n": -4.0}})
    stream = decoder()
    events, _ = stream.feed(mcp_args(1, "c1", count=number(3.0), ratio=number(2.5), big=number(1e15), nested=nested))
    call = events[0]
    assert isinstance(call, ToolCall) and call.name == "get.weather" and call.id == "c1"
    assert json.loads(call.arguments) == {
        "count": 3,
        "ratio": 2.5,
        "big": 1000000000000000,
        "nested": {"list": [1, 2.5, "s", True, None], "deep": {"n": -4}},
    }
    assert '"count":3' in call.arguments and '"ratio":2.5' in call.arguments and " " not in call.arguments


def test_a_call_without_tool_call_id_uses_the_exec_id():
    args = pb.McpArgs(name=WIRE_WEATHER)
    events, _ = decoder().feed(frame(exec_server_message=pb.ExecServerMessage(id=1, exec_id="x1", mcp_args=args)))
    assert events[0] == ToolCall("x1", "get.weather", "{}")


def test_a_compressed_end_of_stream_frame_is_read_too():
    trailer = gzip.compress(json.dumps({"error": {"code": "unavailable", "message": "Try again"}}).encode())
    with pytest.raises(UpstreamError) as caught:
        decoder().feed(text_frame("a") + encode_frame(trailer, FLAG_COMPRESSED | FLAG_END_STREAM))
    assert (caught.value.http_status, caught.value.detail) == (503, "Try again")
