"""OpenAI messages to GetChatRequest (PROTOCOL §3; vector `request`; SPEC rows 43, 44, 49, 50)."""
from __future__ import annotations

from app.cursor.convert import alternate, build_chat_request, encode_chat_body, external_links, web_search_model
from app.cursor.messages import ChatMessage, Image
from tests.unit.vectors import VECTORS

REQUEST = VECTORS["request"]


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


def build(messages, **options):
    defaults = dict(model_name="gpt-4o", default_instructions="Respond in Chinese by default", web_search=False, slow_pool=False)
    return build_chat_request(messages, **{**defaults, **options})


def test_request_vector_byte_for_byte():
    ids = iter(REQUEST["bubble_ids"] + [REQUEST["request_id"], REQUEST["conversation_id"]])
    messages = [ChatMessage("system", "You are helpful"), ChatMessage("user", "hi"), ChatMessage("assistant", "hello"),
                ChatMessage("user", "look @https://example.com/a please", (Image(bytes.fromhex("89504e470d0a1a0a"), 1, 1),))]
    request = build(messages, new_uuid=lambda: next(ids), link_base=65535)
    assert request.SerializeToString().hex() == REQUEST["proto_hex"]
    assert wire_tags(request.SerializeToString()) == REQUEST["top_level_tags"]
    assert encode_chat_body(request).hex() == REQUEST["framed_body_hex"]
    assert REQUEST["framed_body_hex"].startswith(REQUEST["frame_prefix_hex"])


def test_false_optionals_are_on_the_wire():
    wire = build([ChatMessage("user", "hi")]).SerializeToString()
    for tag in ("6800", "7000", "c00100", "e00100", "e80100"):  # fields 13, 14, 24, 28, 29 = false
        assert bytes.fromhex(tag) in wire, tag


def test_instructions():
    assert build([ChatMessage("user", "hi")]).explicit_context.context == "Respond in Chinese by default"
    system = build([ChatMessage("system", "a"), ChatMessage("system", "b"), ChatMessage("user", "hi")])
    assert system.explicit_context.context == "a\n\nb"
    assert not build([ChatMessage("user", "hi")], default_instructions="").HasField("explicit_context")
    assert not build([ChatMessage("system", "  "), ChatMessage("user", "x")]).HasField("explicit_context")


def test_alternation_fillers():
    shaped = alternate([ChatMessage("assistant", "a1"), ChatMessage("assistant", "a2")])
    assert [(m.role, m.text) for m in shaped] == [("user", ""), ("assistant", "a1"), ("user", ""), ("assistant", "a2"), ("user", "")]
    shaped = alternate([ChatMessage("user", "u1"), ChatMessage("user", "u2")])
    assert [(m.role, m.text) for m in shaped] == [("user", "u1"), ("assistant", ""), ("user", "u2")]


def test_only_system_messages_give_one_placeholder():
    request = build([ChatMessage("system", "s")])
    [placeholder] = request.conversation
    assert placeholder.HasField("is_capability_iteration") and not placeholder.is_capability_iteration
    assert placeholder.text == "" and placeholder.bubble_id
    assert not any(m.HasField("is_capability_iteration") for m in build([ChatMessage("user", "x")]).conversation)


def test_external_links():
    assert external_links("see @https://a.com/x, and @http://b.org @ftp://c @notaurl @https://d.com，") == [
        "https://a.com/x,", "http://b.org", "https://d.com，"]
    request = build([ChatMessage("user", "@https://old.example"), ChatMessage("assistant", "ok"), ChatMessage("user", "now @https://new.example")])
    assert [link.url for link in request.external_links] == ["https://new.example"]


def test_link_uuids_wrap_from_the_base():
    request = build([ChatMessage("user", "@https://a.com @https://b.com")], link_base=65535)
    assert [link.uuid for link in request.external_links] == ["65535", "0"]


def test_web_search_slow_pool_and_long_context():
    assert web_search_model("gpt-4o-online") == ("gpt-4o", True) and web_search_model("gpt-4o") == ("gpt-4o", False)
    request = build([ChatMessage("user", "x")], web_search=True, slow_pool=True, model_name="claude-3-5-sonnet-200k")
    assert request.use_web == "full_search" and request.model_details.enable_slow_pool and request.long_context_mode
    plain = build([ChatMessage("user", "x")])
    assert not plain.HasField("use_web") and not plain.model_details.HasField("enable_slow_pool") and not plain.long_context_mode


def test_echoed_web_references_are_stripped_only_from_plain_assistant_strings():
    block = "WebReferences:\n1. [T](https://a)\n\nAnswer"
    stripped = alternate([ChatMessage("user", "q"), ChatMessage("assistant", block)])
    assert stripped[1].text == "Answer"
    kept = alternate([ChatMessage("user", "q"), ChatMessage("assistant", block, plain_string=False)])
    assert kept[1].text == block
