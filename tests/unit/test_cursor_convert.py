"""OpenAI messages to GetChatRequest (PROTOCOL §3; vector `request`; SPEC rows 43, 44, 49, 50)."""

from __future__ import annotations

import itertools
import re

from app.cursor.convert import (
    LONG_CONTEXT_MODELS,
    alternate,
    build_chat_request,
    encode_chat_body,
    external_links,
    web_search_model,
)
from app.cursor.messages import ChatMessage, Image
from app.cursor.proto import aiserver_pb2
from tests.unit.vectors import VECTORS

REQUEST = VECTORS["request"]
HUMAN = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_HUMAN
AI = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_AI
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        shift += 7
        if byte < 0x80:
            return value, position


def wire_tags(data: bytes) -> list[int]:
    """Top-level field numbers in wire order (varint and length-delimited fields only)."""
    tags, position = [], 0
    while position < len(data):
        key, position = _varint(data, position)
        tags.append(key >> 3)
        value, position = _varint(data, position)
        if key & 7 == 2:
            position += value
    return tags


def build(messages, **options) -> aiserver_pb2.GetChatRequest:
    defaults = {
        "model_name": "gpt-4o",
        "default_instructions": "Respond in Chinese by default",
        "web_search": False,
        "slow_pool": False,
    }
    return build_chat_request(messages, **{**defaults, **options})


def counter_ids():
    numbers = itertools.count(1)
    return lambda: f"id-{next(numbers)}"


# -- the vector ------------------------------------------------------------------------------


def test_request_vector_byte_for_byte():
    ids = iter(REQUEST["bubble_ids"] + [REQUEST["request_id"], REQUEST["conversation_id"]])
    messages = [
        ChatMessage("system", "You are helpful"),
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "hello"),
        ChatMessage("user", "look @https://example.com/a please", (Image(bytes.fromhex("89504e470d0a1a0a"), 1, 1),)),
    ]
    request = build(messages, new_uuid=lambda: next(ids), link_base=65535)
    wire = request.SerializeToString()
    assert wire.hex() == REQUEST["proto_hex"]
    assert wire_tags(wire) == REQUEST["top_level_tags"]
    assert encode_chat_body(request).hex() == REQUEST["framed_body_hex"]
    assert REQUEST["framed_body_hex"].startswith(REQUEST["frame_prefix_hex"])


def test_ids_are_bubbles_in_order_then_request_then_conversation():
    request = build([ChatMessage("assistant", "a")], new_uuid=counter_ids())
    assert [m.bubble_id for m in request.conversation] == ["id-1", "id-2", "id-3"]
    assert (request.request_id, request.conversation_id) == ("id-4", "id-5")


def test_default_ids_are_fresh_uuid4s():
    first, second = build([ChatMessage("user", "x")]), build([ChatMessage("user", "x")])
    ids = [first.request_id, first.conversation_id, first.conversation[0].bubble_id, second.request_id]
    assert all(UUID4.match(value) for value in ids) and len(set(ids)) == 4


def test_body_is_one_uncompressed_envelope():
    request = build([ChatMessage("user", "x")])
    wire = request.SerializeToString()
    assert encode_chat_body(request) == b"\x00" + len(wire).to_bytes(4, "big") + wire


# -- fixed fields and proto3 presence (pitfall P2) ---------------------------------------------


def test_false_optionals_are_on_the_wire():
    wire = build([ChatMessage("user", "hi")]).SerializeToString()
    # fields 13, 14 = false; 16 = true; 22, 24, 28, 29 = false
    for tag in ("6800", "7000", "800101", "b00100", "c00100", "e00100", "e80100"):
        assert bytes.fromhex(tag) in wire, tag
    assert wire_tags(wire) == [2, 4, 7, 9, 13, 14, 15, 16, 22, 24, 28, 29]


def test_model_details_name_and_empty_azure_state():
    details = build([ChatMessage("user", "hi")], model_name="claude-3.5-sonnet").model_details
    assert details.SerializeToString() == b"\x0a\x11claude-3.5-sonnet\x22\x00"


# -- SPEC row 43: instructions -----------------------------------------------------------------


def test_default_instructions_without_a_system_message():
    assert build([ChatMessage("user", "hi")]).explicit_context.context == "Respond in Chinese by default"


def test_system_messages_replace_the_default_joined_by_a_blank_line():
    request = build([ChatMessage("system", "a"), ChatMessage("user", "hi"), ChatMessage("system", "b")])
    assert request.explicit_context.context == "a\n\nb"
    assert [m.text for m in request.conversation] == ["hi"]  # system text never enters the conversation


def test_blank_instructions_send_no_explicit_context():
    for default in ("", "   "):
        assert not build([ChatMessage("user", "hi")], default_instructions=default).HasField("explicit_context")
    # a whitespace-only system message is not "empty": it wins over the default, then is blank
    assert not build([ChatMessage("system", "  "), ChatMessage("user", "x")]).HasField("explicit_context")


def test_an_empty_system_message_falls_back_to_the_default():
    request = build([ChatMessage("system", ""), ChatMessage("user", "x")])
    assert request.explicit_context.context == "Respond in Chinese by default"


# -- SPEC row 44: conversation shape -----------------------------------------------------------


def shape(request: aiserver_pb2.GetChatRequest) -> list[tuple[int, str]]:
    return [(m.type, m.text) for m in request.conversation]


def test_two_assistant_messages_are_wrapped_in_empty_user_fillers():
    request = build([ChatMessage("assistant", "a1"), ChatMessage("assistant", "a2")])
    assert shape(request) == [(HUMAN, ""), (AI, "a1"), (HUMAN, ""), (AI, "a2"), (HUMAN, "")]


def test_two_user_messages_get_an_empty_assistant_between():
    assert shape(build([ChatMessage("user", "u1"), ChatMessage("user", "u2")])) == [
        (HUMAN, "u1"),
        (AI, ""),
        (HUMAN, "u2"),
    ]


def test_fillers_carry_only_type_and_bubble_id():
    request = build([ChatMessage("assistant", "a")], new_uuid=counter_ids())
    assert request.conversation[0].SerializeToString() == b"\x10\x01\x6a\x04id-1"


def test_system_messages_do_not_break_alternation():
    request = build([ChatMessage("user", "u1"), ChatMessage("system", "s"), ChatMessage("assistant", "a1")])
    assert shape(request) == [(HUMAN, "u1"), (AI, "a1"), (HUMAN, "")]


def test_only_system_messages_give_one_placeholder():
    request = build([ChatMessage("system", "s @https://a.com")], link_base=0)
    [placeholder] = request.conversation
    assert placeholder.HasField("is_capability_iteration") and not placeholder.is_capability_iteration
    assert placeholder.type == HUMAN and placeholder.text == "" and placeholder.bubble_id
    assert b"\xa0\x01\x00" in placeholder.SerializeToString()  # field 20, present-false
    assert not request.external_links


def test_no_other_entry_has_is_capability_iteration():
    request = build([ChatMessage("assistant", "a"), ChatMessage("assistant", "b"), ChatMessage("user", "c")])
    assert not any(m.HasField("is_capability_iteration") for m in request.conversation)


def test_echoed_web_references_are_stripped_only_from_plain_assistant_strings():
    block = "WebReferences:\n1. [T](https://a)\n\nAnswer\n\nmore"
    assert alternate([ChatMessage("user", "q"), ChatMessage("assistant", block)])[1].text == "Answer\n\nmore"
    unchanged = [
        ChatMessage("assistant", block, plain_string=False),  # content was a part array
        ChatMessage("user", block),  # only assistant messages
        ChatMessage("assistant", "WebReferences: no blank line"),
        ChatMessage("assistant", " " + block),  # must start with the marker
    ]
    for message in unchanged:
        assert message.text in [m.text for m in alternate([message])]


# -- images ----------------------------------------------------------------------------------


def test_images_of_user_and_assistant_messages_with_dimensions_only_when_both_known():
    request = build(
        [
            ChatMessage("system", "s", (Image(b"sys", 1, 1),)),
            ChatMessage("user", "u", (Image(b"one", 3, 2), Image(b"two"))),
            ChatMessage("assistant", "a", (Image(b"three", 5, None),)),
        ]
    )
    user, assistant, _ = request.conversation
    assert [(i.data, i.HasField("dimension")) for i in user.images] == [(b"one", True), (b"two", False)]
    assert (user.images[0].dimension.width, user.images[0].dimension.height) == (3, 2)
    assert [(i.data, i.HasField("dimension")) for i in assistant.images] == [(b"three", False)]
    assert b"sys" not in request.SerializeToString()


# -- SPEC row 49: external links -------------------------------------------------------------


def test_an_at_url_becomes_an_external_link():
    request = build([ChatMessage("user", "read @https://example.com/x please")], link_base=7)
    assert [(link.url, link.uuid) for link in request.external_links] == [("https://example.com/x", "7")]
    assert request.conversation[0].text == "read @https://example.com/x please"  # text unchanged


def test_only_http_urls_after_an_at_count_and_are_kept_as_written():
    text = "see @https://a.com/x, and @http://b.org @ftp://c @notaurl @ @https:// @HTTPS://E.com @https://d.com，"
    assert external_links(text) == ["https://a.com/x,", "http://b.org", "HTTPS://E.com", "https://d.com，"]


def test_the_run_after_an_at_ends_at_any_unicode_whitespace():
    assert external_links("@https://a.com\u3000tail @https://b.com\u00a0x @https://c.com\tz") == [
        "https://a.com",
        "https://b.com",
        "https://c.com",
    ]


def test_the_run_after_an_at_is_consumed_even_when_it_is_not_a_url():
    assert external_links("@x@https://b.com @@https://c.com") == []
    assert external_links("mail a@b.com @https://c.com") == ["https://c.com"]


def test_an_at_inside_a_word_still_counts():
    assert external_links("see:@https://a.com") == ["https://a.com"]


def test_unparseable_urls_are_not_links():
    assert external_links("@http://[::1 @https://ok.example") == ["https://ok.example"]


def test_only_the_last_message_is_scanned():
    request = build(
        [
            ChatMessage("user", "@https://old.example"),
            ChatMessage("assistant", "ok @https://ai.example"),
            ChatMessage("user", "now @https://new.example"),
        ]
    )
    assert [link.url for link in request.external_links] == ["https://new.example"]


def test_a_trailing_filler_has_no_links():
    request = build([ChatMessage("user", "q"), ChatMessage("assistant", "@https://a.example")])
    assert not request.external_links


def test_link_uuids_count_up_from_the_base_and_wrap():
    request = build([ChatMessage("user", "@https://a.com @https://b.com")], link_base=65535)
    assert [link.uuid for link in request.external_links] == ["65535", "0"]


def test_link_base_is_random_by_default():
    request = build([ChatMessage("user", "@https://a.com @https://b.com")])
    first, second = (int(link.uuid) for link in request.external_links)
    assert 0 <= first < 65536 and second == (first + 1) % 65536


# -- model, -online, slow pool, long context (SPEC row 50) -------------------------------------


def test_online_suffix():
    assert web_search_model("gpt-4o-online") == ("gpt-4o", True)
    assert web_search_model("gpt-4o") == ("gpt-4o", False)
    assert web_search_model("-online") == ("", True)


def test_web_search_sets_use_web():
    request = build([ChatMessage("user", "x")], web_search=True)
    assert request.use_web == "full_search" and request.model_details.model_name == "gpt-4o"
    assert not build([ChatMessage("user", "x")]).HasField("use_web")


def test_slow_pool_is_true_or_absent():
    on = build([ChatMessage("user", "x")], slow_pool=True).model_details
    assert on.HasField("enable_slow_pool") and on.enable_slow_pool and b"\x28\x01" in on.SerializeToString()
    off = build([ChatMessage("user", "x")]).model_details
    assert not off.HasField("enable_slow_pool")


def test_long_context_mode():
    assert LONG_CONTEXT_MODELS == {
        "gpt-4o-128k",
        "gemini-1.5-flash-500k",
        "claude-3-haiku-200k",
        "claude-3-5-sonnet-200k",
    }
    for model in LONG_CONTEXT_MODELS:
        assert build([ChatMessage("user", "x")], model_name=model).long_context_mode
    plain = build([ChatMessage("user", "x")])
    assert plain.HasField("long_context_mode") and not plain.long_context_mode
