"""The request-log API and counters (SPEC §9, §6.14; §18 rows 42, 54–61)."""

from __future__ import annotations

import re

from tests.support import ADMIN, chat, checksum_for, make_token

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} [+-]\d\d:\d\d$")


def test_admin_view_with_counters(make_gateway):
    client = make_gateway(tokens=[make_token()], SERVICE_TIMEOUT="1")
    chat(client, "hi", model="gpt-4o-online")
    chat(client, "fake:slow_headers:3")
    body = client.post("/logs", headers=ADMIN).get_json()
    assert set(body) == {"status", "total", "active", "error", "logs", "timestamp"}
    assert (body["total"], body["active"], body["error"]) == (2, 0, 1) and STAMP.match(body["timestamp"])
    first, second = body["logs"]
    assert second["id"] == first["id"] + 1
    assert first["model"] == "gpt-4o-online" and first["status"] == "success"
    assert (second["status"], second["error"]) == ("failed", "Request timeout")
    assert set(first["token_info"]) >= {"token", "checksum"} and "total" in first["timing"]


def test_users_see_only_their_own_entries(make_gateway):
    client = make_gateway(tokens=[])
    mine, theirs = make_token("user_mine"), make_token("user_theirs")
    for token in (mine, theirs, mine):
        chat(client, "hi", headers={"Authorization": f"Bearer {token},{checksum_for(token)}"})
    for bearer in (mine, f"{mine},{checksum_for(mine)}"):
        own = client.post("/logs", headers={"Authorization": f"Bearer {bearer}"}).get_json()
        assert set(own) == {"status", "total", "logs", "timestamp"} and own["total"] == 2
        assert {entry["token_info"]["token"] for entry in own["logs"]} == {mine}
    unused = make_token("user_unused")
    for headers in ({"Authorization": f"Bearer {unused}"}, {}, {"Authorization": "Bearer garbage"}):
        response = client.post("/logs", headers=headers)
        assert (response.status_code, response.data) == (401, b"")


def test_ring_limit(make_gateway):
    client = make_gateway(tokens=[make_token()], REQUEST_LOGS_LIMIT="2")
    for _ in range(3):
        chat(client, "hi", model="cursor-small")
    ids = [entry["id"] for entry in client.post("/logs", headers=ADMIN).get_json()["logs"]]
    assert ids == [2, 3]
