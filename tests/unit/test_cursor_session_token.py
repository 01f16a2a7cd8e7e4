"""Session tokens: shape, validation, user id, cookie, prefixes and bearer splitting
(PROTOCOL §5.4, SPEC §7.1, vectors `jwt` and `bearer_parse`)."""

from __future__ import annotations

import base64
import json

import pytest

from app.cursor import session_token as st
from tests.unit.vectors import VECTORS

JWT = VECTORS["jwt"]
CLAIMS = json.loads(JWT["payload_json"])
ISSUED, EXPIRES = int(CLAIMS["time"]), CLAIMS["exp"]


def token_with(**changes: object) -> str:
    """The vector's token with some claims changed (None removes one); the signature is fake anyway."""
    claims = {**CLAIMS, **changes}
    claims = {key: value for key, value in claims.items() if value is not None}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{st.JWT_HEADER}.{payload}.sig"


def test_jwt_vector():
    assert st.JWT_HEADER == JWT["header_b64"]
    claims = st.validate_token(JWT["token"], now=ISSUED + 10)
    assert claims == st.TokenClaims(
        CLAIMS["sub"], ISSUED, CLAIMS["randomness"], EXPIRES, CLAIMS["iss"], CLAIMS["scope"], CLAIMS["aud"]
    )
    assert claims.user_id == JWT["user_id"]
    assert st.usage_cookie(JWT["token"]) == JWT["usage_cookie"]


@pytest.mark.parametrize("case", VECTORS["bearer_parse"], ids=lambda c: c["input"][:12])
def test_bearer_parse_vectors(case):
    parts = st.split_token_and_checksum(case["input"])
    if case["token"] is None:  # no delimiter: not a token,checksum bearer
        assert parts is None
        return
    token_part, checksum = parts
    token = st.strip_token_prefix(token_part)
    assert token == case["token"]
    assert checksum == case["checksum_before_repair"]
    assert (token == JWT["token"]) is case["token_equals_jwt"]
    assert st.validate_token(token, now=ISSUED) is not None


@pytest.mark.parametrize("now", [ISSUED, EXPIRES], ids=["issued-now", "expires-now"])
def test_validity_includes_both_ends_of_the_lifetime(now):
    assert st.validate_token(JWT["token"], now=now) is not None


@pytest.mark.parametrize("now", [ISSUED - 1, EXPIRES + 1], ids=["not-yet-issued", "expired"])
def test_tokens_outside_their_lifetime_are_refused(now):
    assert st.parse_claims(JWT["token"]) is not None
    assert st.validate_token(JWT["token"], now=now) is None


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "x.y.z",
        f"{JWT['token']}.extra",
        token_with(iss="https://evil.example"),
        token_with(aud="x"),
        token_with(scope="openid"),
        token_with(randomness="not-random"),
        token_with(randomness="0e8ef0c6-f6f8-4e0"),
        token_with(randomness="0e8ef0c6f-6f8-4e08"),
        token_with(exp=True),
        token_with(exp="4328899200"),
        token_with(exp=4328899200.0),
        token_with(time=1736899200),
        token_with(time="-5"),
        token_with(time=""),
        token_with(time="١٢٣"),
        token_with(sub=None),
        token_with(aud=None),
    ],
    ids=[
        "two-parts",
        "bad-header",
        "four-parts",
        "issuer",
        "audience",
        "scope",
        "randomness",
        "randomness-short",
        "randomness-hyphen-misplaced",
        "exp-bool",
        "exp-string",
        "exp-float",
        "time-number",
        "time-negative",
        "time-empty",
        "time-arabic-digits",
        "no-sub",
        "no-aud",
    ],
)
def test_malformed_tokens_are_refused(token):
    assert st.validate_token(token, now=ISSUED + 10) is None


def test_type_errors_are_caught_by_parse_claims_alone():
    assert st.parse_claims(token_with(exp=True)) is None
    assert st.parse_claims(token_with(iss="https://evil.example")) is not None  # values are validate_token's job


def test_padded_payload_is_refused():
    header, payload, signature = JWT["token"].split(".")
    assert st.validate_token(f"{header}.{payload}==.{signature}", now=ISSUED) is None


@pytest.mark.parametrize("payload", [b"[" * 100_000, b"[1, 2]", b"\xff\xfe"], ids=["deep-nesting", "array", "bad-utf8"])
def test_hostile_payloads_are_refused_not_crashed_on(payload):
    segment = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    assert st.parse_claims(f"{st.JWT_HEADER}.{segment}.sig") is None


def test_extra_claims_are_allowed():
    assert st.validate_token(token_with(type="session"), now=ISSUED) is not None


@pytest.mark.parametrize("sub,user_id", [("auth0|user_01X", "user_01X"), ("user_plain", "user_plain"), ("a|b|c", "b")])
def test_user_id_is_the_second_piece_of_sub(sub, user_id):
    assert st.parse_claims(token_with(sub=sub)).user_id == user_id


def test_usage_cookie_of_an_unparsable_token_has_an_empty_user_id():
    assert st.usage_cookie("not-a-jwt") == "WorkosCursorSessionToken=%3A%3Anot-a-jwt"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("user_1%3A%3AeyJ.a.b", "eyJ.a.b"),
        ("user_1::eyJ.a.b", "eyJ.a.b"),
        ("eyJ.a.b", "eyJ.a.b"),
        ("a:b%3Ac", "c"),
        ("a%3Ab:c", "c"),
        ("user_1%3a%3aeyJ.a.b", "user_1%3a%3aeyJ.a.b"),
    ],
    ids=["encoded", "colons", "bare", "encoded-last", "colon-last", "lowercase-not-matched"],
)
def test_prefix_stripping_takes_the_later_separator(value, expected):
    assert st.strip_token_prefix(value) == expected


def test_split_uses_the_last_delimiter_and_the_comma_fallback():
    assert st.split_token_and_checksum("a,b,c") == ("a,b", "c")
    assert st.split_token_and_checksum("a;b,c", ";") == ("a", "b,c")
    assert st.split_token_and_checksum("a,b", ";") == ("a", "b")
    assert st.split_token_and_checksum("a,b", ";", comma_fallback=False) is None
    assert st.split_token_and_checksum("ab") is None
    assert st.split_token_and_checksum("a,") == ("a", "")


def test_split_skips_the_whole_delimiter():
    assert st.split_token_and_checksum("a::b", "::") == ("a", "b")
    with pytest.raises(ValueError):
        st.split_token_and_checksum("a,b", "")
