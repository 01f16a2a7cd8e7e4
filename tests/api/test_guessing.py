"""Guessing the gateway's secrets is slow (issue #14 item 9), in-process: AUTH_FAILURE_LIMIT
failures per client address, then 429 with Retry-After for any secret from that address; users'
own credentials and the shared token's holders never count. (Across gunicorn workers:
tests/e2e/test_store_hardening.py.)"""

from __future__ import annotations

from tests.support import ADMIN, chat, checksum_for, make_token

WRONG = {"Authorization": "Bearer a-guess"}


def test_the_limit_is_a_setting_and_other_addresses_are_not_refused(make_gateway):
    client = make_gateway(tokens=[make_token("user_limit")], AUTH_FAILURE_LIMIT="3")
    assert [client.post("/tokens/get", headers=WRONG).status_code for _ in range(3)] == [401] * 3
    refused = client.post("/tokens/get", headers=ADMIN)
    assert refused.status_code == 429 and 55 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["error"]["type"] == "rate_limit_error"
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.post("/tokens/get", headers=ADMIN, environ_base=elsewhere).status_code == 200


def test_zero_turns_the_limit_off(make_gateway):
    client = make_gateway(tokens=[make_token("user_nolimit")], AUTH_FAILURE_LIMIT="0")
    assert {client.post("/logs", headers=WRONG).status_code for _ in range(30)} == {401}
    assert chat(client, "hi").status_code == 200


def test_users_own_credentials_and_shared_token_holders_never_count(make_gateway):
    client = make_gateway(tokens=[make_token("user_pooled")], AUTH_FAILURE_LIMIT="2", SHARED_TOKEN="shared-one")
    own = make_token("user_own")
    unknown = make_token("user_without_logs")
    for _ in range(5):
        assert chat(client, "hi", headers={"Authorization": f"Bearer {own},{checksum_for(own)}"}).status_code == 200
        assert client.post("/logs", headers={"Authorization": f"Bearer {unknown}"}).status_code == 401  # a token
        assert client.post("/tokens/get", headers={"Authorization": "Bearer shared-one"}).status_code == 401
        assert "stats" not in client.get("/health", headers={"Authorization": "Bearer shared-one"}).get_json()
    assert chat(client, "hi").status_code == 200  # nothing counted against this address


def test_health_answers_the_same_but_counts_a_wrong_bearer(make_gateway):
    client = make_gateway(tokens=[make_token("user_health")], AUTH_FAILURE_LIMIT="2")
    assert [client.get("/health", headers=WRONG).status_code for _ in range(2)] == [200, 200]
    assert client.get("/health", headers=ADMIN).status_code == 429
    assert client.get("/health").status_code == 200  # no bearer: the public answer
