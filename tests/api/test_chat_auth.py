"""Validation order and bearer classification for chat (SPEC §5.2, §6.2; §18 rows 21–31)."""

from __future__ import annotations

import time

from tests.support import ADMIN, chat_body, checksum_for, make_token


def error_of(response) -> dict:
    return response.get_json()["error"]


def test_unsupported_model_is_400_before_auth(gateway):
    response = gateway.post("/v1/chat/completions", json=chat_body(model="foo"))
    assert response.status_code == 400
    assert error_of(response) == {
        "message": "Model 'foo' is not supported",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_supported",
    }


def test_empty_messages_is_400_before_auth(gateway):
    response = gateway.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert response.status_code == 400 and error_of(response)["code"] == "empty_messages"


def test_missing_or_garbage_bearer_is_401(gateway):
    assert gateway.post("/v1/chat/completions", json=chat_body()).status_code == 401
    garbage = gateway.post("/v1/chat/completions", json=chat_body(), headers={"Authorization": "Bearer garbage"})
    assert garbage.status_code == 401
    error = error_of(garbage)
    assert (error["type"], error["code"], error["param"]) == ("authentication_error", "unauthorized", None)
    assert error["message"].startswith("Invalid authorization token")
    assert "garbage" not in garbage.get_data(as_text=True)
    lowercase = gateway.post("/v1/chat/completions", json=chat_body(), headers={"Authorization": "bearer admin-secret"})
    assert lowercase.status_code == 401  # the prefix is case-sensitive


def test_role_aliases_pass_validation_and_tool_role_is_400(make_gateway):
    client = make_gateway(tokens=[])
    messages = [
        {"role": "developer", "content": "be brief"},
        {"role": "human", "content": "hi"},
        {"role": "ai", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    accepted = client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": messages}, headers=ADMIN)
    assert accepted.status_code == 503 and error_of(accepted)["code"] == "no_tokens"
    tool = client.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "tool", "content": "x"}]}, headers=ADMIN
    )
    assert tool.status_code == 400  # a tool result without tool_call_id (D31: 400, not 422)


def test_pass_any_claude(make_gateway):
    off = make_gateway(tokens=[])
    assert off.post("/v1/chat/completions", json=chat_body(model="claude-9"), headers=ADMIN).status_code == 400
    on = make_gateway(tokens=[], PASS_ANY_CLAUDE="true")
    assert on.post("/v1/chat/completions", json=chat_body(model="claude-9"), headers=ADMIN).status_code == 503
    assert on.post("/v1/chat/completions", json=chat_body(model="Claude-9"), headers=ADMIN).status_code == 400


def test_online_suffix_is_validated_on_the_base_name(make_gateway):
    client = make_gateway(tokens=[])
    assert client.post("/v1/chat/completions", json=chat_body(model="gpt-4o-online"), headers=ADMIN).status_code == 503
    foo = client.post("/v1/chat/completions", json=chat_body(model="foo-online"), headers=ADMIN)
    assert foo.status_code == 400 and "foo-online" in error_of(foo)["message"]


def test_empty_pool_is_503(make_gateway):
    response = make_gateway(tokens=[]).post("/v1/chat/completions", json=chat_body(), headers=ADMIN)
    assert response.status_code == 503
    assert error_of(response) == {
        "message": "No available tokens",
        "type": "api_error",
        "param": None,
        "code": "no_tokens",
    }


def test_direct_token_and_checksum(gateway, upstream):
    token = make_token("user_direct")
    checksum = checksum_for(token)
    ok = gateway.post(
        "/v1/chat/completions", json=chat_body("hi"), headers={"Authorization": f"Bearer {token},{checksum}"}
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)
    [received] = upstream.chat_requests()
    assert received["headers"]["Authorization"] == f"Bearer {token}"
    # the checksum is sent repaired: same hashes, current timestamp header
    assert received["headers"]["x-cursor-checksum"][8:] == checksum[8:]
    bare = gateway.post("/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {token}"})
    assert bare.status_code == 401


def test_cookie_prefixes_are_stripped(gateway, upstream):
    token = make_token("user_cookie")
    checksum = checksum_for(token)
    for prefix in ("user_cookie%3A%3A", "user_cookie::"):
        response = gateway.post(
            "/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {prefix}{token},{checksum}"}
        )
        assert response.status_code == 200
    assert [r["headers"]["Authorization"] for r in upstream.chat_requests()] == [f"Bearer {token}"] * 2


def test_expired_or_future_tokens_are_refused(gateway):
    expired = make_token("user_old", issued=int(time.time()) - 100, lifetime=50)
    future = make_token("user_future", issued=int(time.time()) + 3600)
    for token in (expired, future):
        response = gateway.post(
            "/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {token},{checksum_for(token)}"}
        )
        assert response.status_code == 401


def test_custom_delimiter_with_and_without_comma_fallback(make_gateway, upstream):
    token = make_token("user_delim")
    checksum = checksum_for(token)
    semicolon = make_gateway(tokens=[], TOKEN_DELIMITER=";")
    assert (
        semicolon.post(
            "/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {token};{checksum}"}
        ).status_code
        == 200
    )
    assert (
        semicolon.post(
            "/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {token},{checksum}"}
        ).status_code
        == 200
    )
    strict = make_gateway(tokens=[], TOKEN_DELIMITER=";", USE_COMMA_DELIMITER="false")
    assert (
        strict.post(
            "/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {token},{checksum}"}
        ).status_code
        == 401
    )


def test_shared_token_draws_from_the_pool(make_gateway):
    shared = make_gateway(tokens=[], SHARED_TOKEN="s")
    assert (
        shared.post("/v1/chat/completions", json=chat_body(), headers={"Authorization": "Bearer s"}).status_code == 503
    )
    assert shared.post("/tokens/get", headers={"Authorization": "Bearer s"}).status_code == 401
    unshared = make_gateway(tokens=[])
    assert (
        unshared.post("/v1/chat/completions", json=chat_body(), headers={"Authorization": "Bearer s"}).status_code
        == 401
    )


def test_pasted_bearer_forms_work_or_say_what_is_wrong(gateway):
    token = make_token("user_paste")
    checksum = checksum_for(token)
    for working in (
        f"  {token},{checksum}  ",
        f"user_paste%3A%3A{token},{checksum}",
        f"user_paste::{token},{checksum}",
        f"WorkosCursorSessionToken=user_paste%3A%3A{token},{checksum}",
    ):
        assert (
            gateway.post(
                "/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {working}"}
            ).status_code
            == 200
        )
    expired = make_token("user_paste", issued=int(time.time()) - 100, lifetime=10)
    failing = {
        f"user_paste::{token}": "checksum",
        f"WorkosCursorSessionToken=user_paste%3A%3A{token}": "checksum",
        f"not-a-token,{checksum}": "not a Cursor session token",
        f"{expired},{checksum}": "expired",
        f"{token},abc": "not a valid checksum",
    }
    for value, reason in failing.items():
        response = gateway.post("/v1/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {value}"})
        message = error_of(response)["message"]
        assert response.status_code == 401 and reason in message, value
        assert token not in message and checksum not in message  # never echoed back
