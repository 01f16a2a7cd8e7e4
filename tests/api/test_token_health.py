"""Token health: cooling down, disabling, skipping, re-enabling (issue #6 item 1)."""
from __future__ import annotations

from tests.api.test_chat_upstream import chat
from tests.conftest import ADMIN
from tests.support import make_token

RATE_LIMIT = "fake:error:ERROR_FREE_USER_RATE_LIMIT_EXCEEDED"
LOGGED_OUT = "fake:error:ERROR_NOT_LOGGED_IN"


def health_of(client) -> dict[str, dict]:
    return {entry["token"]: entry["health"] for entry in client.post("/tokens/get", headers=ADMIN).get_json()["tokens"]}


def test_failing_tokens_are_set_aside_and_rotation_skips_them(make_gateway, upstream):
    tokens = [make_token(f"user_h{i}") for i in range(3)]
    client = make_gateway(tokens=tokens)
    assert chat(client, RATE_LIMIT).status_code == 429  # token 0
    assert chat(client, LOGGED_OUT).status_code == 403  # token 1
    health = health_of(client)
    assert health[tokens[0]]["state"] == "cooling" and 0 < health[tokens[0]]["retry_after"] <= 60
    assert health[tokens[1]] == {"state": "disabled", "reason": "Fake failure", "since": health[tokens[1]]["since"]}
    assert health[tokens[2]] == {"state": "healthy"}
    upstream.clear()
    for _ in range(10):
        assert chat(client, "hi", model="cursor-small").status_code == 200
    assert {r["headers"]["Authorization"] for r in upstream.chat_requests()} == {f"Bearer {tokens[2]}"}


def test_all_cooling_is_429_with_retry_after_and_all_disabled_is_503(make_gateway):
    tokens = [make_token(f"user_c{i}") for i in range(2)]
    client = make_gateway(tokens=tokens)
    chat(client, RATE_LIMIT)
    chat(client, RATE_LIMIT)
    cooling = chat(client, "hi")
    assert cooling.status_code == 429 and 0 < int(cooling.headers["Retry-After"]) <= 60
    assert cooling.get_json()["error"]["code"] == "tokens_cooling_down"
    disabled = make_gateway(tokens=[make_token("user_d")])
    chat(disabled, LOGGED_OUT)
    response = chat(disabled, "hi")
    assert response.status_code == 503 and "re-enable" in response.get_json()["error"]["message"]


def test_repeated_rate_limits_back_off(make_gateway):
    from app.services.token_health import Verdict, next_health

    first = next_health({"state": "healthy"}, Verdict("rate_limited", "x"), now=0)
    second = next_health(first, Verdict("rate_limited", "x"), now=0)
    assert (first["until"], second["until"]) == (60, 120)
    assert next_health(second, Verdict("ok"), now=0) == {"state": "healthy"}


def test_an_operator_re_enables_tokens(make_gateway, upstream):
    token = make_token("user_back")
    client = make_gateway(tokens=[token])
    chat(client, LOGGED_OUT)
    assert chat(client, "hi").status_code == 503
    assert client.post("/tokens/enable", json={"tokens": [token]}).status_code == 401  # admin only
    enabled = client.post("/tokens/enable", json={"tokens": [token, "missing"]}, headers=ADMIN).get_json()
    assert enabled == {"status": "success", "enabled": 1, "failed_tokens": ["missing"]}
    assert chat(client, "hi").status_code == 200
    assert health_of(client)[token] == {"state": "healthy"}


def test_a_users_own_token_never_changes_pool_health(make_gateway):
    from tests.conftest import checksum_for

    token = make_token("user_shared_account")
    client = make_gateway(tokens=[token])
    chat(client, LOGGED_OUT, headers={"Authorization": f"Bearer {token},{checksum_for(token)}"})
    assert health_of(client)[token] == {"state": "healthy"}
