"""Dynamic keys, byte-compatible with the reference (PROTOCOL §7; vectors `key_base64`,
`dynamic_key`)."""

from __future__ import annotations

import pytest

from app.cursor.keys import KeyOptions, build_key, decode_key, decode_key_base64, encode_key_base64
from app.cursor.proto import key_pb2
from tests.unit.vectors import VECTORS

BASE64 = VECTORS["key_base64"]
KEY = VECTORS["dynamic_key"]
TOKEN, CHECKSUM = KEY["input_auth_token"].rsplit(",", 1)
NOW = 1736899200  # the vector checksum's header "Jefp9nq+"
FIELDS = KEY["key_config_fields"]


def wire_tags(data: bytes) -> list[int]:
    """Top-level field numbers in wire order (KeyConfig has only varint and length-delimited fields)."""
    tags, position = [], 0

    def varint() -> int:
        nonlocal position
        value = shift = 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while position < len(data):
        key = varint()
        tags.append(key >> 3)
        length = varint()
        if key & 7 == 2:
            position += length
    return tags


VECTOR_OPTIONS = KeyOptions(
    disable_vision=FIELDS["disable_vision"],
    enable_slow_pool=FIELDS["enable_slow_pool"],
    include_web_references=FIELDS["include_web_references"],
    usage_check=(FIELDS["usage_check_models"]["type"], tuple(FIELDS["usage_check_models"]["model_ids"])),
)


@pytest.mark.parametrize("case", BASE64["cases"], ids=lambda c: c["encoded"] or "empty")
def test_custom_base64_vectors(case):
    assert encode_key_base64(bytes.fromhex(case["bytes_hex"])) == case["encoded"]
    if case["encoded"]:
        assert decode_key_base64(case["encoded"]) == bytes.fromhex(case["bytes_hex"])


@pytest.mark.parametrize("case", BASE64["decode_rejects"], ids=lambda c: c["input"] or "empty")
def test_custom_base64_rejects(case):
    assert decode_key_base64(case["input"]) is case["result"] is None


def test_build_key_vector():
    key = build_key(TOKEN, CHECKSUM, VECTOR_OPTIONS)
    assert key == KEY["key"]
    raw = decode_key_base64(key.removeprefix("sk-"))
    assert raw.hex() == KEY["key_config_proto_hex"] and wire_tags(raw) == KEY["top_level_tags"]
    info = key_pb2.KeyConfig.FromString(raw).auth_token
    assert info.machine_id.hex() == FIELDS["auth_token"]["machine_id_hex"] and info.exp == FIELDS["auth_token"]["exp"]


def test_decode_key_vector():
    decoded = decode_key(KEY["key"], now=NOW)
    assert decoded.token == KEY["rebuilt_token"] == TOKEN and KEY["rebuilt_token_equals_input"]
    assert decoded.checksum == KEY["rebuilt_checksum_at_now"]
    assert decoded.options == VECTOR_OPTIONS


def test_minimal_key_with_a_present_but_default_usage_rule():
    key = build_key(TOKEN, CHECKSUM, KeyOptions(usage_check=(0, ())))
    assert key == KEY["minimal_key_usage_check_default"]
    assert decode_key_base64(key.removeprefix("sk-")).hex() == KEY["minimal_key_proto_hex"]
    assert decode_key(key).options == KeyOptions(usage_check=(0, ()))


def test_prefixes_and_garbage():
    key = build_key(TOKEN, CHECKSUM, KeyOptions(enable_slow_pool=False), prefix="ck-")
    assert key.startswith("ck-") and decode_key(key, prefix="ck-").options == KeyOptions(enable_slow_pool=False)
    assert decode_key(key) is None  # wrong prefix
    for garbage in (
        "sk-",
        "sk-a",
        "sk-!!!!",
        "sk-" + encode_key_base64(b"\xff\xff\xff"),
        "sk-" + encode_key_base64(b""),
    ):
        assert decode_key(garbage) is None


@pytest.mark.parametrize(
    "options",
    [
        KeyOptions(),
        KeyOptions(disable_vision=False, enable_slow_pool=False, include_web_references=False),
        KeyOptions(disable_vision=True, usage_check=(1, ())),
        KeyOptions(include_web_references=True, usage_check=(2, ())),
        KeyOptions(usage_check=(3, ("gpt-4o",))),
        VECTOR_OPTIONS,
    ],
)
def test_options_round_trip(options):
    decoded = decode_key(build_key(TOKEN, CHECKSUM, options), now=NOW)
    assert decoded.options == options and decoded.token == TOKEN and decoded.checksum == CHECKSUM


def test_model_ids_are_written_only_for_custom():
    key = build_key(TOKEN, CHECKSUM, KeyOptions(usage_check=(2, ("gpt-4o",))))
    assert decode_key(key).options.usage_check == (2, ())
