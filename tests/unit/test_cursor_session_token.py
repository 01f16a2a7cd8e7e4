"""Session tokens: shape, validation, user id, cookie, prefixes and bearer splitting
(PROTOCOL §5.4, SPEC §7.1, vectors `jwt` and `bearer_parse`)."""
from __future__ import annotations

import base64
import json

import pytest

from app.cursor import session_token as st
from tests.support import make_token
from tests.unit.vectors import VECTORS

JWT = VECTORS["jwt"]


def test_jwt_vector():
    claims = st.validate_token(JWT["token"], now=1736899200 + 10)
    assert claims is not None and claims.user_id == JWT["user_id"]
    assert json.loads(JWT["payload_json"])["sub"] == claims.sub
    assert st.usage_cookie(JWT["token"]) == JWT["usage_cookie"]


@pytest.mark.parametrize("case", VECTORS["bearer_parse"], ids=lambda c: c["input"][:12])
def test_bearer_parse_vectors(case):
    parts = st.split_token_and_checksum(case["input"])
    if case["token"] is None:  # no delimiter: not a token,checksum bearer
        assert parts is None
        return
    token_part, checksum = parts
    assert st.strip_token_prefix(token_part) == case["token"]
    assert checksum == case["checksum_before_repair"]
    assert (case["token"] == JWT["token"]) is case["token_equals_jwt"]


def _with_claims(**changes) -> str:
    claims = json.loads(base64.urlsafe_b64decode(make_token().split(".")[1] + "=="))
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{st.JWT_HEADER}.{payload}.sig"


@pytest.mark.parametrize("token", [
    "a.b", "x.y.z", _with_claims(iss="https://evil.example"), _with_claims(aud="x"), _with_claims(scope="openid"),
    _with_claims(randomness="not-random"), _with_claims(exp=True), _with_claims(exp="9999999999"),
    _with_claims(time=123), _with_claims(time="-5"), _with_claims(sub=None), _with_claims(exp=1),
], ids=["two-parts", "bad-header", "issuer", "audience", "scope", "randomness", "exp-bool", "exp-string",
        "time-number", "time-negative", "no-sub", "expired"])
def test_invalid_tokens_are_refused(token):
    assert st.validate_token(token) is None


def test_padded_payload_is_refused():
    header, payload, signature = make_token().split(".")
    assert st.validate_token(f"{header}.{payload}==.{signature}") is None


def test_user_id_without_a_provider_prefix():
    claims = st.parse_claims(_with_claims(sub="user_plain"))
    assert claims is not None and claims.user_id == "user_plain"


@pytest.mark.parametrize("value,expected", [
    ("user_1%3A%3AeyJ.a.b", "eyJ.a.b"), ("user_1::eyJ.a.b", "eyJ.a.b"), ("eyJ.a.b", "eyJ.a.b"),
    ("a:b%3Ac", "c"), ("a%3Ab:c", "c"),
])
def test_prefix_stripping_takes_the_later_separator(value, expected):
    assert st.strip_token_prefix(value) == expected


def test_split_uses_the_last_delimiter_and_the_comma_fallback():
    assert st.split_token_and_checksum("a,b,c") == ("a,b", "c")
    assert st.split_token_and_checksum("a;b", ";") == ("a", "b")
    assert st.split_token_and_checksum("a,b", ";") == ("a", "b")
    assert st.split_token_and_checksum("a,b", ";", comma_fallback=False) is None
    assert st.split_token_and_checksum("ab") is None
