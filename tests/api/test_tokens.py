"""The token-pool API (SPEC §7.4–7.8; §18 rows 63–75)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.cursor.checksum import build_checksum, tsheader
from tests.support import ADMIN, checksum_for, make_token

T, U = make_token("user_t"), make_token("user_u")
UNAUTHORIZED_JSON = {"status": "error", "error": "unauthorized", "message": "Invalid authorization token"}


def tokens_file(client) -> Path:
    return Path(client.application.extensions["gateway"].settings.token_list_file)


def listed(client) -> list[str]:
    return [entry["token"] for entry in client.post("/tokens/get", headers=ADMIN).get_json()["tokens"]]


def test_get_requires_the_admin_and_answers_401_with_an_empty_body(make_gateway):
    client = make_gateway(tokens=[T], SHARED_TOKEN="shared")
    ok = client.post("/tokens/get", headers=ADMIN).get_json()
    assert ok["status"] == "success" and ok["tokens_count"] == 1 and ok["tokens"][0]["token"] == T
    assert ok["tokens"][0]["checksum"].startswith(tsheader())  # row 76: current header shown
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer shared"}):
        response = client.post("/tokens/get", headers=headers)
        assert (response.status_code, response.data) == (401, b"")


def test_missing_file_is_created_empty(make_gateway):
    client = make_gateway()
    assert tokens_file(client).read_text() == ""
    assert client.post("/tokens/get", headers=ADMIN).get_json()["tokens_count"] == 0


def test_reload_picks_up_external_edits(make_gateway):
    client = make_gateway(tokens=[T])
    tokens_file(client).write_text(f"{T},{checksum_for(T)}\n{U},{checksum_for(U)}\n")
    response = client.post("/tokens/reload", headers=ADMIN).get_json()
    assert response == {"status": "success", "tokens_count": 2, "message": "Token list has been reloaded"}
    assert listed(client) == [T, U]


def test_update_writes_then_normalises(make_gateway):
    client = make_gateway(tokens=[U])
    response = client.post("/tokens/update", json={"tokens": f"#x\n{T},{checksum_for(T)}"}, headers=ADMIN).get_json()
    assert response == {"status": "success", "tokens_count": 1, "message": "Token files have been updated and reloaded"}
    text = tokens_file(client).read_text()
    assert text.startswith(f"{T},") and "#" not in text and "\n" not in text
    assert client.post("/tokens/update", json={"tokens": "x"}).status_code == 401


def test_add_appends_with_a_generated_checksum(make_gateway):
    client = make_gateway(tokens=[U])
    response = client.post("/tokens/add", json=[{"token": T}], headers=ADMIN).get_json()
    assert response == {"status": "success", "tokens_count": 2, "message": "New tokens have been added and reloaded"}
    lines = tokens_file(client).read_text().split("\n")
    assert lines[0].startswith(f"{U},") and lines[1].startswith(f"{T},") and len(lines[1].split(",")[1]) == 137


def test_add_skips_duplicates_and_invalid_tokens_without_touching_the_file(make_gateway):
    client = make_gateway(tokens=[T])
    before = tokens_file(client).stat().st_mtime_ns
    expired = make_token("user_old", issued=int(time.time()) - 100, lifetime=10)
    response = client.post(
        "/tokens/add", json=[{"token": T}, {"token": "not-a-jwt"}, {"token": expired}], headers=ADMIN
    ).get_json()
    assert response == {"status": "success", "tokens_count": 1, "message": "No new tokens were added"}
    assert tokens_file(client).stat().st_mtime_ns == before


def test_add_deduplicates_within_the_request(make_gateway):
    client = make_gateway(tokens=[])
    client.post("/tokens/add", json=[{"token": T}, {"token": f"user_t::{T}"}, {"token": U}], headers=ADMIN)
    assert listed(client) == [T, U]  # D10


def test_add_keeps_the_given_checksum_hashes(make_gateway):
    client = make_gateway(tokens=[])
    given = build_checksum("e" * 64, "f" * 64, now=0)
    client.post("/tokens/add", json=[{"token": T, "checksum": given}], headers=ADMIN)
    stored = client.post("/tokens/get", headers=ADMIN).get_json()["tokens"][0]["checksum"]
    assert stored == tsheader() + given[8:]


@pytest.mark.parametrize("prefix", ["user_x%3A%3A", "user_x::"])
def test_add_strips_cookie_prefixes(make_gateway, prefix):
    client = make_gateway(tokens=[])
    client.post("/tokens/add", json=[{"token": prefix + T}], headers=ADMIN)
    assert listed(client) == [T]


def test_add_and_delete_refuse_others_with_a_json_401(make_gateway):
    client = make_gateway(tokens=[T])
    for path, body in (("/tokens/add", [{"token": U}]), ("/tokens/delete", {"tokens": [T]})):
        response = client.post(path, json=body, headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401 and response.get_json() == UNAUTHORIZED_JSON
    assert listed(client) == [T]


def test_body_errors_come_before_auth_and_are_plain_text(make_gateway):
    client = make_gateway(tokens=[])
    not_array = client.post("/tokens/add", json={"token": T})
    assert not_array.status_code == 422 and not_array.mimetype == "text/plain"
    assert client.post("/tokens/add", data="[", content_type="application/json").status_code == 400
    assert client.post("/tokens/add", data="[]", content_type="text/plain").status_code == 415
    bad_mode = client.post("/tokens/delete", json={"tokens": [], "expectation": "all"}, headers=ADMIN)
    assert bad_mode.status_code == 422


@pytest.mark.parametrize(
    "expectation,expected",
    [
        ("simple", {"status": "success"}),
        ("updated_tokens", {"status": "success", "updated_tokens": [U]}),
        ("failed_tokens", {"status": "success", "failed_tokens": ["missing"]}),
        ("detailed", {"status": "success", "updated_tokens": [U], "failed_tokens": ["missing"]}),
    ],
)
def test_delete_modes(make_gateway, expectation, expected):
    client = make_gateway(tokens=[T, U])
    response = client.post("/tokens/delete", json={"tokens": [T, "missing"], "expectation": expectation}, headers=ADMIN)
    assert response.get_json() == expected
    assert T not in tokens_file(client).read_text()


def test_deleting_unknown_tokens_only_leaves_the_file_alone(make_gateway):
    client = make_gateway(tokens=[T, U])
    before = tokens_file(client).read_bytes(), tokens_file(client).stat().st_mtime_ns
    response = client.post(
        "/tokens/delete", json={"tokens": ["missing", "missing"], "expectation": "detailed"}, headers=ADMIN
    )
    assert response.get_json() == {
        "status": "success",
        "updated_tokens": [T, U],
        "failed_tokens": ["missing", "missing"],
    }
    assert (tokens_file(client).read_bytes(), tokens_file(client).stat().st_mtime_ns) == before


def test_added_token_is_used_by_the_next_pool_chat(make_gateway, upstream):
    client = make_gateway(tokens=[])
    client.post("/tokens/add", json=[{"token": T}], headers=ADMIN)
    chat = client.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, headers=ADMIN
    )
    assert chat.status_code == 200
    assert upstream.chat_requests()[0]["headers"]["Authorization"] == f"Bearer {T}"
