"""The agent run request built from a ChatTurn (AGENT_WIRE §3), checked by field NUMBER on the
raw wire (tests/unit/protowire.py), not only through our own schema's names."""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid

from app.cursor.agent.client_messages import append_body, cancel, heartbeat, run_sse_body
from app.cursor.agent.run_request import conversation_id_for, prepare_turn
from app.cursor.agent.tools import MAX_WIRE_NAME, ToolNames
from app.cursor.framing import HEADER
from app.cursor.messages import ChatMessage, ChatTurn, Image, ToolCallRef, ToolSpec
from app.cursor.proto import agent_pb2
from tests.unit.protowire import fields, numbers, one, text, values

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
WEATHER = ToolSpec(
    "get_weather", "The weather in a city", {"type": "object", "properties": {"city": {"type": "string"}}}
)
RUN = (1,)  # AgentClientMessage.run_request
USER_ACTION = (*RUN, 2, 1)  # run_request.action.user_message_action
COMPLETE_FLAGS = (33, 36, 39, 40, 41, 42, 43, 44, 45)


def counter_ids():
    numbers_ = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(numbers_):012d}"


def turn_of(*messages: ChatMessage, tools=(), **options) -> ChatTurn:
    return ChatTurn(model="composer-2.5", messages=messages, tools=tools, **options)


def wire(turn: ChatTurn) -> bytes:
    return prepare_turn(turn, new_id=counter_ids()).run_request.SerializeToString()


def test_the_run_request_fields_by_number():
    turn = turn_of(
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Weather in Paris?"),
        tools=(WEATHER,),
        parameters=(("fast", "true"),),
    )
    prepared = prepare_turn(turn, new_id=counter_ids())
    data = prepared.run_request.SerializeToString()
    assert numbers(data) == {1}
    run = one(data, 1)
    assert numbers(run) == {1, 2, 3, 4, 5, 9, 16, 25}  # no 19 without images, never 8 (custom_system_prompt)
    assert fields(one(run, 1)) == [(10, 0, 1), (22, 2, b"agent")]
    assert text(run, 3, 1) == "composer-2.5"
    assert text(run, 9, 1) == "composer-2.5" and one(run, 9, 7) == 1
    assert [(text(p, 1), text(p, 2)) for p in values(run, 9, 3)] == [("fast", "true")]
    assert text(run, 5) == text(run, 16) == prepared.conversation_id
    assert (prepared.request_id, text(run, 25)) == (
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
    )
    assert prepared.run_id == text(run, 25)


def test_the_user_message_and_the_system_text():
    data = wire(
        turn_of(ChatMessage("system", "Be brief."), ChatMessage("system", "No emoji."), ChatMessage("user", "Hi"))
    )
    action = one(data, *USER_ACTION)
    assert numbers(action) == {1, 2, 4}  # no history for a first turn
    user = one(action, 1)
    assert fields(user) == [
        (1, 2, b"Hi"),
        (2, 2, b"00000000-0000-4000-8000-000000000004"),
        (4, 0, 1),
        (8, 2, b"Hi"),
    ]
    (system,) = values(action, 4)
    assert text(system, 1) == "<system>\nBe brief.\n\nNo emoji.\n</system>" == text(system, 8)
    assert one(system, 4) == 1 and text(system, 2) == "00000000-0000-4000-8000-000000000003"


def test_default_instructions_apply_only_without_system_text_and_gateway_lines_are_added():
    without = one(wire(turn_of(ChatMessage("user", "Hi"), default_instructions="Default.",
                               instructions=("Call a tool.",))), *USER_ACTION, 4, 1)  # fmt: skip
    assert without == b"<system>\nDefault.\n\nCall a tool.\n</system>"
    with_system = one(wire(turn_of(ChatMessage("system", "Mine."), ChatMessage("user", "Hi"),
                                   default_instructions="Default.")), *USER_ACTION, 4, 1)  # fmt: skip
    assert with_system == b"<system>\nMine.\n</system>"
    assert values(wire(turn_of(ChatMessage("user", "Hi"))), *USER_ACTION, 4) == []


def test_the_request_context_has_the_tools_and_every_complete_flag():
    data = wire(turn_of(ChatMessage("user", "Hi"), tools=(WEATHER,)))
    context = one(data, *USER_ACTION, 2)
    assert numbers(context) == {4, 7, *COMPLETE_FLAGS}
    assert all(one(context, flag) == 1 for flag in COMPLETE_FLAGS)
    # the same definitions as mcp_tools (compared decoded: a Struct's map has no fixed byte order)
    definitions = agent_pb2.McpToolDefinition.FromString
    assert list(map(definitions, values(context, 7))) == list(map(definitions, values(data, 1, 4, 1)))
    assert text(context, 4, 1) and text(context, 4, 3) and text(context, 4, 10)


def test_a_tool_definition_by_number():
    data = wire(turn_of(ChatMessage("user", "Hi"), tools=(WEATHER,)))
    (tool,) = values(data, 1, 4, 1)
    assert numbers(tool) == {1, 2, 3, 4, 5, 6}
    assert text(tool, 1) == "custom-user-tools-get_weather"
    assert text(tool, 2) == "The weather in a city"
    assert text(tool, 4) == "custom-user-tools"
    assert text(tool, 5) == "get_weather"
    assert json.loads(text(tool, 6)) == WEATHER.parameters
    schema = one(tool, 3)  # google.protobuf.Value: 5 struct_value {1 fields (map entries)}
    keys = {text(entry, 1) for entry in values(schema, 5, 1)}
    assert keys == {"type", "properties"}


def test_without_tools_there_is_no_mcp_tools_field():
    prepared = prepare_turn(turn_of(ChatMessage("user", "Hi")), new_id=counter_ids())
    assert 4 not in numbers(one(prepared.run_request.SerializeToString(), 1))
    assert not prepared.has_tools


# -- wire names -------------------------------------------------------------------------------


def hash6(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:6]


def test_plain_names_get_the_provider_prefix_and_odd_characters_become_underscores():
    names = ToolNames(["get_weather", "weather.get/now é", "A-b_9"])
    assert names.wire("get_weather") == "custom-user-tools-get_weather"
    assert names.wire("weather.get/now é") == "custom-user-tools-weather_get_now__"
    assert names.wire("A-b_9") == "custom-user-tools-A-b_9"


def test_a_long_name_is_shortened_to_64_characters_ending_in_its_hash():
    long = "lookup_" + "x" * 80
    wire_name = ToolNames([long]).wire(long)
    assert len(wire_name) == MAX_WIRE_NAME
    assert wire_name == ("custom-user-tools-" + long)[:57] + "-" + hash6(long)


def test_names_that_collide_after_replacement_all_get_their_hash():
    names = ToolNames(["a.b", "a_b", "other"])
    assert names.wire("a.b") == f"custom-user-tools-a_b-{hash6('a.b')}"
    assert names.wire("a_b") == f"custom-user-tools-a_b-{hash6('a_b')}"
    assert names.wire("other") == "custom-user-tools-other"
    assert names.client(names.wire("a.b")) == "a.b" and names.client(names.wire("a_b")) == "a_b"


def test_mapping_back_prefers_the_wire_name_then_tool_name():
    names = ToolNames(["get weather"])
    assert names.client("custom-user-tools-get_weather") == "get weather"
    assert names.client("custom-user-tools-unknown", "unknown") == "unknown"
    assert names.client("custom-user-tools-unknown") == "unknown"


def test_a_repeated_tool_is_declared_once():
    data = wire(turn_of(ChatMessage("user", "Hi"), tools=(WEATHER, WEATHER)))
    assert len(values(data, 1, 4, 1)) == 1


# -- the conversation ---------------------------------------------------------------------------


def test_earlier_turns_go_in_the_history_in_order():
    data = wire(
        turn_of(
            ChatMessage("system", "S"),
            ChatMessage("user", "one"),
            ChatMessage("assistant", "two"),
            ChatMessage("user", "three"),
        )
    )
    history = values(data, *USER_ACTION, 7, 1)
    assert [numbers(entry) for entry in history] == [{1}, {2}]
    assert text(history[0], 1, 1, 1, 1) == "one"  # user {1 content {1 text {1 text}}}
    assert text(history[1], 2, 1, 1, 1) == "two"  # assistant {1 content {1 text {1 text}}}
    assert text(data, *USER_ACTION, 1, 1) == "three"


def tool_conversation(*results: ChatMessage) -> ChatTurn:
    calls = (
        ToolCallRef("call_1", "get_weather", '{"city":"Paris"}'),
        ToolCallRef("call_2", "get_weather", '{"city":"Rome"}'),
    )
    return turn_of(
        ChatMessage("user", "Weather in Paris and Rome?"),
        ChatMessage("assistant", "", tool_calls=calls),
        *results,
        tools=(WEATHER,),
    )


def test_a_request_ending_with_tool_results_repeats_them_as_the_user_text():
    turn = tool_conversation(
        ChatMessage("tool", "18C", tool_call_id="call_1"),
        ChatMessage("tool", "boom", tool_call_id="call_2", is_error=True),
    )
    data = wire(turn)
    history = values(data, *USER_ACTION, 7, 1)
    assert [numbers(entry) for entry in history] == [{1}, {2}, {3}, {3}]
    calls = values(history[1], 2, 1, 4)  # assistant content {4 tool_call}
    assert [(text(c, 1), text(c, 2), text(c, 3)) for c in calls] == [
        ("call_1", "custom-user-tools-get_weather", '{"city":"Paris"}'),
        ("call_2", "custom-user-tools-get_weather", '{"city":"Rome"}'),
    ]
    assert values(history[1], 2, 1, 1) == []  # no empty text beside the calls
    first, second = one(history[2], 3), one(history[3], 3)
    assert (text(first, 1), text(first, 2), text(first, 3, 1, 1)) == ("call_1", "custom-user-tools-get_weather", "18C")
    assert 4 not in numbers(first) and one(second, 4) == 1  # is_error
    assert text(data, *USER_ACTION, 1, 1) == (
        "[Tool Result] call_id=call_1 tool=custom-user-tools-get_weather\n18C\n\n"
        "[Tool Result] call_id=call_2 tool=custom-user-tools-get_weather\nboom"
    )


def test_a_tool_message_names_its_call_even_when_the_tool_is_no_longer_offered():
    turn = tool_conversation(ChatMessage("tool", "18C", tool_call_id="call_1"))
    turn = ChatTurn(model=turn.model, messages=turn.messages)  # the client dropped its tools
    history = values(wire(turn), *USER_ACTION, 7, 1)
    assert text(history[2], 3, 2) == "custom-user-tools-get_weather"


def test_images_of_the_user_message_are_selected_images():
    image = Image(PNG, 2, 3, "image/png")
    data = wire(turn_of(ChatMessage("user", "What is this?", images=(image, Image(PNG)))))
    assert one(data, 1, 19) == 1
    first, second = values(data, *USER_ACTION, 1, 3, 1)
    assert fields(first) == [
        (2, 2, b"00000000-0000-4000-8000-000000000004"),
        (3, 2, b"image-1.png"),
        (4, 2, bytes([8, 2, 16, 3])),  # {1 width: 2, 2 height: 3}
        (7, 2, b"image/png"),
        (8, 2, PNG),
    ]
    assert 4 not in numbers(second) and text(second, 7) == "image/png"  # sniffed; no dimensions when unknown


def test_images_in_the_history_are_image_content():
    turn = turn_of(ChatMessage("user", "", images=(Image(PNG, 1, 1, "image/png"),)), ChatMessage("assistant", "A cat."),
                   ChatMessage("user", "Sure?"))  # fmt: skip
    data = wire(turn)
    (content,) = values(data, *USER_ACTION, 7, 1, 1, 1)  # an image alone: no empty text part
    assert fields(one(content, 2)) == [(1, 2, PNG), (2, 2, b"image/png")]
    assert one(data, 1, 19) == 1


def test_the_conversation_id_is_stable_across_the_turns_of_one_conversation():
    first = (ChatMessage("system", "S"), ChatMessage("user", "Hi"))
    later = (*first, ChatMessage("assistant", "Hello"), ChatMessage("user", "More"))
    assert conversation_id_for(first) == conversation_id_for(later)
    assert uuid.UUID(conversation_id_for(first)).version == 5
    assert conversation_id_for(first) != conversation_id_for((ChatMessage("system", "S"), ChatMessage("user", "Ho")))
    assert conversation_id_for(first) != conversation_id_for((ChatMessage("user", "Hi"),))


def test_each_turn_gets_new_request_and_run_ids():
    turn = turn_of(ChatMessage("user", "Hi"))
    one_, two = prepare_turn(turn), prepare_turn(turn)
    assert one_.request_id != two.request_id and one_.run_id != two.run_id
    assert one_.conversation_id == two.conversation_id


# -- the other client messages ----------------------------------------------------------------


def test_run_sse_body_is_one_envelope_with_the_request_id():
    body = run_sse_body("req-1")
    flags, length = HEADER.unpack_from(body)
    assert (flags, length, len(body)) == (0, len(body) - 5, len(body))
    assert fields(body[5:]) == [(1, 2, b"req-1")]


def test_append_body_carries_lowercase_hex_the_request_id_and_the_seqno():
    body = append_body(heartbeat(), "req-1", 7)
    assert fields(body) == [(1, 2, b"3a00"), (2, 2, bytes([10, 5]) + b"req-1"), (3, 0, 7)]
    assert numbers(append_body(heartbeat(), "req-1", 0)) == {1, 2}  # proto3 leaves out seqno 0, the default


def test_cancel_is_conversation_action_cancel_action():
    assert cancel().SerializeToString() == bytes([0x22, 0x02, 0x1A, 0x00])  # 4 {3 {}}
