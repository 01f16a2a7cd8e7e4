"""The HTTP surface around chat: routes, redirects, CORS, limits, JSON rejection (SPEC §4,
§18 rows 4, 5, 11–15, 20)."""

from __future__ import annotations

import json
import re

from app.settings import MODEL_IDS
from tests.support import ADMIN, chat_body


def test_models_list_is_the_fixed_23_in_order(gateway):
    response = gateway.get("/v1/models")
    assert response.status_code == 200
    body = response.get_json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == list(MODEL_IDS) and len(MODEL_IDS) == 23
    assert {m["created"] for m in body["data"]} == {1706659200}
    assert {m["object"] for m in body["data"]} == {"model"}
    owners = {m["id"]: m["owned_by"] for m in body["data"]}
    assert owners["claude-3.5-sonnet"] == "anthropic" and owners["cursor-small"] == "cursor"
    assert owners["gemini-exp-1206"] == "google" and owners["deepseek-r1"] == "deepseek"


def test_route_prefix_applies_to_models_and_chat_only(make_gateway):
    client = make_gateway(tokens=[], ROUTE_PREFIX="/p")
    assert client.get("/p/v1/models").status_code == 200
    assert client.get("/v1/models").status_code == 404
    assert client.post("/tokens/get", headers=ADMIN).status_code == 200
    assert client.post("/p/v1/chat/completions", json=chat_body(), headers=ADMIN).status_code == 503
    health = client.get("/health").get_json()
    assert health["endpoints"][:2] == ["/p/v1/chat/completions", "/p/v1/models"]


def test_a_route_prefix_with_angle_brackets_is_literal(make_gateway):
    """Issue 14 item 10: Flask read `<…>` in ROUTE_PREFIX as a route variable (every /v1/* path
    answered 500); the prefix is matched as the text it is, and nothing else matches."""
    for prefix in ("/a<b>", "/x/<id>/y", "/<int:n>", "/p<"):
        client = make_gateway(tokens=[], ROUTE_PREFIX=prefix)
        assert client.get(f"{prefix}/v1/models").status_code == 200, prefix
        assert client.post(f"{prefix}/v1/chat/completions", json=chat_body(), headers=ADMIN).status_code == 503
        for other in ("/a/v1/models", "/x/1/y/v1/models", "/7/v1/models", "/v1/models"):
            assert client.get(other).status_code == 404, (prefix, other)
        missing = client.get(f"{prefix}/v1/nothing")
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_root_and_about_redirect_with_empty_bodies(gateway):
    root = gateway.get("/")
    assert (root.status_code, root.headers["Location"], root.data) == (307, "/health", b"")
    about = gateway.get("/about")
    assert (about.status_code, about.headers["Location"], about.data) == (307, "/readme", b"")


def test_env_example_lists_every_variable(gateway):
    response = gateway.get("/env-example")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain;charset=utf-8"
    text = response.get_data(as_text=True)
    for name in (
        "PORT",
        "AUTH_TOKEN",
        "ROUTE_PREFIX",
        "SHARED_TOKEN",
        "TOKEN_LIST_FILE",
        "ENABLE_SLOW_POOL",
        "PASS_ANY_CLAUDE",
        "VISION_ABILITY",
        "USAGE_CHECK",
        "DYNAMIC_KEY",
        "KEY_PREFIX",
        "DEFAULT_INSTRUCTIONS",
        "REVERSE_PROXY_HOST",
        "PROXIES",
        "REQUEST_BODY_LIMIT_MB",
        "TOKEN_DELIMITER",
        "USE_COMMA_DELIMITER",
        "DEBUG",
        "DEBUG_LOG_FILE",
        "REQUEST_LOGS_LIMIT",
        "SERVICE_TIMEOUT",
        "INCLUDE_WEB_REFERENCES",
        "LOGS_FILE_PATH",
        "PAGES_FILE_PATH",
        "CURSOR_API2_BASE_URL",
        "CURSOR_WEB_BASE_URL",
        "DATA_DIR",
        "STORE_URL",
    ):
        assert re.search(rf"\b{name}\b", text), name


def test_unknown_paths_and_wrong_methods(gateway):
    assert gateway.get("/nope").status_code == 404
    assert gateway.get("/tokens/").status_code == 404  # no trailing-slash redirects
    wrong = gateway.get("/v1/chat/completions")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"  # OpenAI shape on /v1 (D18)
    assert "POST" in wrong.headers["Allow"]
    post_health = gateway.post("/health")
    assert post_health.status_code == 405 and post_health.data == b""


def test_every_response_allows_any_origin_and_preflight_succeeds(gateway):
    assert gateway.get("/health").headers["Access-Control-Allow-Origin"] == "*"
    assert gateway.get("/nope").headers["Access-Control-Allow-Origin"] == "*"
    preflight = gateway.options(
        "/v1/chat/completions",
        headers={
            "Origin": "https://chat.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()


def _padded_chat(size: int) -> bytes:
    body = chat_body("x" * size)
    return json.dumps(body).encode()


def test_body_limit_is_honoured_exactly(make_gateway):
    small = make_gateway(tokens=[], REQUEST_BODY_LIMIT_MB="1")
    too_big = small.post(
        "/v1/chat/completions", data=_padded_chat(1536 * 1024), headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert too_big.status_code == 413
    assert too_big.get_json()["error"]["code"] == "request_too_large"
    fits = small.post(
        "/v1/chat/completions", data=_padded_chat(512 * 1024), headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert fits.status_code == 503  # past the limit check: empty pool
    large = make_gateway(tokens=[], REQUEST_BODY_LIMIT_MB="8")  # D17: more than 2 MiB works
    five_mib = large.post(
        "/v1/chat/completions",
        data=_padded_chat(5 * 1024 * 1024),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert five_mib.status_code == 503


def test_json_rejections_use_the_reference_statuses(gateway):
    headers = {**ADMIN, "Content-Type": "application/json"}
    bad_json = gateway.post("/v1/chat/completions", data=b"{not json", headers=headers)
    assert bad_json.status_code == 400 and bad_json.get_json()["error"]["code"] == "invalid_json"
    wrong_shape = gateway.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": "x"}, headers=ADMIN)
    assert wrong_shape.status_code == 400  # D31: OpenAI's status, not the reference's 422
    assert wrong_shape.get_json()["error"]["param"] == "messages"
    assert wrong_shape.get_json()["error"]["type"] == "invalid_request_error"
    no_type = gateway.post(
        "/v1/chat/completions", data=json.dumps(chat_body()), headers={**ADMIN, "Content-Type": "text/plain"}
    )
    assert no_type.status_code == 415
    assert no_type.get_json()["error"]["type"] == "invalid_request_error"


def test_json_nested_too_deep_is_a_400_never_a_500(gateway):
    headers = {**ADMIN, "Content-Type": "application/json"}
    deep = b'{"model": "gpt-4o", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    chat = gateway.post("/v1/chat/completions", data=deep, headers=headers)
    assert chat.status_code == 400 and chat.get_json()["error"]["type"] == "invalid_request_error"
    admin = gateway.post("/tokens/add", data=b"[" * 100_000, headers=headers)
    assert admin.status_code == 400 and admin.mimetype == "text/plain"


def test_admin_shape_errors_keep_the_reference_422(gateway):
    response = gateway.post("/tokens/add", json={"tokens": 5}, headers=ADMIN)
    assert response.status_code == 422 and response.mimetype == "text/plain"


def test_shape_errors_name_the_field(gateway):
    cases = [
        ({"messages": []}, "model"),
        ({"model": 5, "messages": []}, "model"),
        ({"model": "gpt-4o", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": None}]}, "messages[0].content"),
        (
            {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"text": "x"}]}]},
            "messages[0].content[0].type",
        ),
        ({"model": "gpt-4o", "messages": [], "stream": "yes"}, "stream"),
        ([1, 2], "body"),
    ]
    for body, param in cases:
        response = gateway.post("/v1/chat/completions", json=body, headers=ADMIN)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["param"] == param, body
        assert response.get_json()["error"]["type"] == "invalid_request_error", body
