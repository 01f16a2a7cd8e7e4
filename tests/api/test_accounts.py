"""Account profiles and the usage pre-check (SPEC §6.4–6.5, §11.4; §18 rows 51–53, 94)."""

from __future__ import annotations

import time

from tests.support import ADMIN, chat, checksum_for, log_entries, make_token


def wait_for(condition, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()


def pool_profile(client):
    return client.post("/tokens/get", headers=ADMIN).get_json()["tokens"][0].get("profile")


def test_a_checked_model_fetches_the_profile_in_the_background(make_gateway, upstream):
    client = make_gateway(tokens=[make_token("user_pro_1")])
    assert chat(client, "hi", model="gpt-4o").status_code == 200
    profile = wait_for(lambda: pool_profile(client))
    assert profile["stripe"] == {"membership_type": "pro", "payment_id": "cus_fake123", "days_remaining_on_trial": 0}
    assert profile["usage"]["premium"] == {
        "requests": 120,
        "requests_total": 120,
        "tokens": 120000,
        "max_requests": 500,
    }
    assert profile["user"]["email"] == "user_pro_1@example.com" and profile["user"]["id"] == "auth0|user_pro_1"
    assert wait_for(lambda: log_entries(client)[0]["token_info"].get("profile")) == profile
    calls = upstream.account_requests()
    assert [c["path"] for c in calls] == ["/api/usage", "/api/auth/me", "/auth/full_stripe_profile"]
    assert all(c["accepted"] for c in calls), [c["reason"] for c in calls]
    usage_call = calls[0]
    assert usage_call["query"] == "user=user_pro_1"
    assert usage_call["headers"]["Cookie"].startswith("WorkosCursorSessionToken=user_pro_1%3A%3AeyJ")


def test_unchecked_model_and_rule_none_fetch_nothing(make_gateway, upstream):
    chat(make_gateway(tokens=[make_token("user_a")]), "hi", model="cursor-small")
    chat(make_gateway(tokens=[make_token("user_b")], USAGE_CHECK="none"), "hi", model="gpt-4o")
    time.sleep(0.3)
    assert upstream.account_requests() == []


def test_exhausted_free_account_is_blocked_for_premium_models(make_gateway, upstream):
    client = make_gateway(tokens=[make_token("user_free_exhausted")])
    assert chat(client, "first", model="gpt-4o").status_code == 200
    wait_for(lambda: pool_profile(client))
    before = client.application.extensions["gateway"].request_log.counters()
    blocked = chat(client, "second", model="gpt-4o")
    assert blocked.status_code == 401 and blocked.get_json()["error"]["code"] == "unauthorized"
    after = client.application.extensions["gateway"].request_log.counters()
    assert (after.total - before.total, after.error - before.error) == (1, 1)
    assert len(log_entries(client)) == 1  # no entry for the blocked request
    assert chat(client, "standard", model="cursor-small").status_code == 200  # standard bucket still open


def test_standard_exhaustion_blocks_standard_models(make_gateway):
    client = make_gateway(tokens=[make_token("user_free_standard_out")], USAGE_CHECK="all")
    chat(client, "first", model="cursor-small")
    wait_for(lambda: pool_profile(client))
    assert chat(client, "again", model="cursor-small").status_code == 401
    assert chat(client, "premium", model="gpt-4o").status_code == 200


def test_trial_and_pro_accounts_are_never_blocked(make_gateway):
    client = make_gateway(tokens=[make_token("user_trial")])
    chat(client, "first")
    wait_for(lambda: pool_profile(client))
    assert chat(client, "again").status_code == 200


def test_userinfo(make_gateway):
    client = make_gateway()
    assert client.post("/userinfo", json={}).get_json() == {"error": "No data"}
    assert client.post("/userinfo", json={"token": "garbage"}).get_json() == {"error": "No data"}
    token = make_token("user_info")
    for value in (token, f"{token},{checksum_for(token)}", f"user_info::{token}"):
        profile = client.post("/userinfo", json={"token": value}).get_json()
        assert set(profile) == {"usage", "user", "stripe"} and profile["stripe"]["membership_type"] == "free_trial"
    unknown_plan = make_token("user_weird_plan")
    assert client.post("/userinfo", json={"token": unknown_plan}).get_json() == {"error": "No data"}


def test_fake_account_endpoints_refuse_calls_without_the_session_cookie(upstream):
    import requests

    token = make_token("user_strict")
    assert requests.get(f"{upstream.url}/api/usage", params={"user": "user_strict"}).status_code == 401
    wrong_user = {"Cookie": f"WorkosCursorSessionToken=user_other%3A%3A{token}", "Referer": "x", "User-Agent": "x"}
    assert (
        requests.get(f"{upstream.url}/api/usage", params={"user": "user_other"}, headers=wrong_user).status_code == 401
    )
    assert (
        requests.get(
            f"{upstream.url}/auth/full_stripe_profile", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_the_profile_is_fetched_once_per_ttl_however_many_chats(make_gateway, upstream):
    """Issue #15 item 2: ten chats, one profile fetch; another once the TTL has passed; the
    pre-check still has the profile, and every log entry still gets it."""
    client = make_gateway(tokens=[make_token("user_pro_ttl")], USAGE_CHECK_TTL_SECONDS="1")

    def fetches() -> int:
        return sum(1 for call in upstream.account_requests() if call["path"] == "/auth/full_stripe_profile")

    assert chat(client, "first", model="gpt-4o").status_code == 200
    wait_for(lambda: pool_profile(client))
    for number in range(9):
        assert chat(client, f"chat {number}", model="gpt-4o").status_code == 200
    assert fetches() == 1
    assert all(entry["token_info"].get("profile") for entry in log_entries(client))
    time.sleep(1.1)  # past the TTL: not a timing assertion, only the TTL's expiry
    chat(client, "after the ttl", model="gpt-4o")
    assert wait_for(lambda: fetches() == 2)


def test_on_the_agent_path_the_default_rule_checks_catalog_models(make_gateway, upstream):
    """rc.4's premium list names none of Cursor's 2026 catalog, so on `agent` the default rule
    checks every model (one fetch per TTL), and `USAGE_CHECK=none` still checks none."""
    agent = {"CURSOR_PROTOCOL": "agent", "CURSOR_AGENT_BASE_URL": upstream.url}
    checked = make_gateway(tokens=[make_token("user_pro_agent")], **agent)
    body = {"model": "claude-4.5-sonnet", "messages": [{"role": "user", "content": "hi"}]}
    assert checked.post("/v1/chat/completions", json=body, headers=ADMIN).status_code == 200
    assert wait_for(lambda: pool_profile(checked))["user"]["email"] == "user_pro_agent@example.com"
    unchecked = make_gateway(tokens=[make_token("user_pro_agent_off")], USAGE_CHECK="none", **agent)
    assert unchecked.post("/v1/chat/completions", json=body, headers=ADMIN).status_code == 200
    time.sleep(0.3)
    assert [call for call in upstream.account_requests() if "user_pro_agent_off" in call["query"]] == []
