"""Token health and failover (issue #6 items 1–2). The fake answers by account: a user id with
`ratelimited` is always rate-limited, `loggedout` never logged in, anything else answers."""

from __future__ import annotations

from tests.api.sse import joined_content, sse_payloads
from tests.support import ADMIN, chat, checksum_for, log_entries, make_token


def health_of(client) -> dict[str, dict]:
    return {entry["token"]: entry["health"] for entry in client.post("/tokens/get", headers=ADMIN).get_json()["tokens"]}


def test_failover_gives_a_200_from_the_third_token(make_gateway, upstream):
    tokens = [make_token("user_ratelimited_1"), make_token("user_loggedout_2"), make_token("user_fine_3")]
    client = make_gateway(tokens=tokens)
    response = chat(client, "hello", stream=True)
    assert response.status_code == 200
    assert joined_content(sse_payloads(response.get_data(as_text=True))) == "Echo: hello"
    [entry] = log_entries(client)
    assert [a["result"] for a in entry["attempts"]] == ["Fake failure", "Fake failure", "answered"]
    assert all("…" in a["token"] and a["token"] not in tokens for a in entry["attempts"])  # masked
    assert entry["token_info"]["token"] == tokens[2] and entry["status"] == "success"
    health = health_of(client)
    assert health[tokens[0]]["state"] == "cooling" and 0 < health[tokens[0]]["retry_after"] <= 60
    assert health[tokens[1]]["state"] == "disabled" and health[tokens[1]]["reason"] == "Fake failure"
    assert health[tokens[2]] == {"state": "healthy"}
    upstream.clear()
    for _ in range(10):
        assert chat(client, "hi", model="cursor-small").status_code == 200
    assert {r["headers"]["Authorization"] for r in upstream.chat_requests()} == {f"Bearer {tokens[2]}"}


def test_all_cooling_is_429_with_retry_after(make_gateway):
    client = make_gateway(tokens=[make_token(f"user_ratelimited_{i}") for i in range(3)])
    tried = chat(client, "hi")
    assert tried.status_code == 429  # three attempts, all rate-limited: the last answer stands
    assert len(log_entries(client)[0]["attempts"]) == 3
    cooling = chat(client, "hi")
    assert cooling.status_code == 429 and 0 < int(cooling.headers["Retry-After"]) <= 60
    assert cooling.get_json()["error"]["code"] == "tokens_cooling_down"


def test_all_disabled_is_503_saying_why(make_gateway):
    client = make_gateway(tokens=[make_token("user_loggedout_a")])
    assert chat(client, "hi").status_code == 403
    response = chat(client, "hi")
    assert response.status_code == 503 and "re-enable" in response.get_json()["error"]["message"]


def test_retries_are_bounded(make_gateway):
    client = make_gateway(tokens=[make_token(f"user_ratelimited_{i}") for i in range(5)], MAX_TOKEN_RETRIES="1")
    chat(client, "hi")
    assert len(log_entries(client)[0]["attempts"]) == 2


def test_repeated_rate_limits_back_off():
    from app.services.token_health import Verdict, next_health

    first = next_health({"state": "healthy"}, Verdict("rate_limited", "x"), now=0)
    second = next_health(first, Verdict("rate_limited", "x"), now=0)
    assert (first["until"], second["until"]) == (60, 120)
    assert next_health(second, Verdict("ok"), now=0) == {"state": "healthy"}


def test_an_operator_re_enables_tokens(make_gateway):
    token = make_token("user_loggedout_back")
    client = make_gateway(tokens=[token])
    chat(client, "hi")
    assert chat(client, "hi").status_code == 503
    assert client.post("/tokens/enable", json={"tokens": [token]}).status_code == 401  # admin only
    enabled = client.post("/tokens/enable", json={"tokens": [token, "missing"]}, headers=ADMIN).get_json()
    assert enabled == {"status": "success", "enabled": 1, "failed_tokens": ["missing"]}
    assert health_of(client)[token] == {"state": "healthy"}


def test_own_tokens_are_never_swapped_and_never_change_pool_health(make_gateway, upstream):
    pooled = make_token("user_fine_pooled")
    own = make_token("user_ratelimited_own")
    client = make_gateway(tokens=[pooled])
    response = chat(client, "hi", headers={"Authorization": f"Bearer {own},{checksum_for(own)}"})
    assert response.status_code == 429  # no failover onto the pool for a user's own token
    assert [r["headers"]["Authorization"] for r in upstream.chat_requests()] == [f"Bearer {own}"]
    assert "attempts" not in log_entries(client)[0]
    assert health_of(client)[pooled] == {"state": "healthy"}


def test_a_plain_http_429_cools_the_token_and_fails_over(make_gateway):
    pool = make_gateway(tokens=[make_token("user_http429_a"), make_token("user_http429_b")])
    response = chat(pool, "fake:http_error:429")
    assert response.status_code == 429  # not a 502: a rate limit is a rate limit (issue #14)
    assert len(log_entries(pool)[-1]["attempts"]) == 2  # the other token was tried
    states = {entry["health"]["state"] for entry in pool.post("/tokens/get", headers=ADMIN).get_json()["tokens"]}
    assert states == {"cooling"}


def test_a_connection_cut_right_after_the_headers_fails_over(make_gateway):
    pool = make_gateway(tokens=[make_token("user_cut_a"), make_token("user_cut_b")])
    response = chat(pool, "fake:cut_after_headers")
    assert response.status_code == 500
    attempts = log_entries(pool)[-1]["attempts"]
    assert len(attempts) == 3 and all(
        "Failed to read" in attempt["result"] for attempt in attempts
    )  # 1 + MAX_TOKEN_RETRIES
