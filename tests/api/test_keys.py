"""Dynamic keys through the API (SPEC §11.6; §18 rows 84, 95–98)."""

from __future__ import annotations

from tests.support import ADMIN, chat, checksum_for, make_token

T = make_token("user_keyed")
C = checksum_for(T)


def build(client, headers=None, **options):
    return client.post("/build-key", json={"auth_token": f"{T},{C}", **options}, headers=headers or {})


def test_build_key_is_open_without_a_shared_token(make_gateway):
    response = build(make_gateway())
    assert response.status_code == 200 and response.get_json()["key"].startswith("sk-")


def test_build_key_is_guarded_with_a_shared_token(make_gateway):
    client = make_gateway(SHARED_TOKEN="s")
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = build(client, headers)
        assert response.status_code == 401 and response.get_json() == {"error": "Unauthorized"}
    assert build(client, {"Authorization": "Bearer s"}).status_code == 200
    assert build(client, ADMIN).status_code == 200


def test_invalid_auth_token_is_400(make_gateway):
    response = make_gateway().post("/build-key", json={"auth_token": "garbage"})
    assert response.status_code == 400 and response.get_json() == {"error": "Invalid auth token"}
    assert make_gateway().post("/build-key", json={"auth_token": T}).status_code == 400  # no checksum


def test_key_round_trip_with_option_overrides(make_gateway, upstream):
    client = make_gateway(tokens=[], DYNAMIC_KEY="true")
    key = build(client, include_web_references=True, enable_slow_pool=True).get_json()["key"]
    response = chat(client, "fake:web", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.get_json()["choices"][0]["message"]["content"].startswith("WebReferences:")  # key beats global off
    [received] = upstream.chat_requests()
    assert received["headers"]["Authorization"] == f"Bearer {T}"
    sent = received["headers"]["x-cursor-checksum"]
    assert sent[8:] == C[8:]  # C's device and MAC hashes, fresh header
    assert received["request"]["model_details"]["enable_slow_pool"] is True


def test_keys_are_refused_when_dynamic_keys_are_off(make_gateway):
    client = make_gateway(tokens=[])
    key = build(client).get_json()["key"]
    assert chat(client, "hi", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    on = make_gateway(tokens=[], DYNAMIC_KEY="true")
    assert chat(on, "hi", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert chat(on, "hi", headers={"Authorization": "Bearer sk-broken!"}).status_code == 401


def test_key_prefix(make_gateway):
    custom = make_gateway(tokens=[], DYNAMIC_KEY="true", KEY_PREFIX="ck-")
    key = build(custom).get_json()["key"]
    assert key.startswith("ck-") and chat(custom, "hi", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert build(make_gateway(KEY_PREFIX=" ")).get_json()["key"].startswith("sk-")


def test_build_key_body_errors(make_gateway):
    client = make_gateway()
    assert (
        client.post("/build-key", json={"auth_token": f"{T},{C}", "usage_check_models": {"type": "weird"}}).status_code
        == 422
    )
    assert client.post("/build-key", json={}).status_code == 422
    custom = client.post(
        "/build-key",
        json={"auth_token": f"{T},{C}", "usage_check_models": {"type": "custom", "model_ids": "gpt-4o, bogus"}},
    )
    assert custom.status_code == 200
