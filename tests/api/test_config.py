"""Runtime configuration and page overrides (SPEC §8, §4.3; §18 rows 77–88)."""

from __future__ import annotations

from tests.support import ADMIN, chat, checksum_for, free_port, make_token


def config(client, **body):
    return client.post("/config", json=body, headers=ADMIN)


def data(client, path: str = "/") -> dict:
    return config(client, action="get", path=path).get_json()["data"]


def test_get_shows_every_setting(make_gateway):
    shown = data(make_gateway())
    assert shown == {
        "page_content": {"type": "default"},
        "vision_ability": "base64",
        "enable_slow_pool": False,
        "enable_all_claude": False,
        "usage_check_models": {"type": "default"},
        "enable_dynamic_key": False,
        "proxies": "",
        "include_web_references": False,
    }
    assert data(make_gateway(), "/nope")["page_content"] is None


def test_auth_and_action_errors(make_gateway):
    client = make_gateway()
    assert client.post("/config", json={"action": "get"}).get_json() == {
        "status": "failed",
        "code": 401,
        "error": "未提供认证令牌",
    }
    wrong = client.post("/config", json={"action": "get"}, headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.get_json()["error"]) == (401, "无效的认证令牌")
    bad = config(client, action="x")
    assert (bad.status_code, bad.get_json()) == (400, {"status": "failed", "code": 400, "error": "无效的操作类型"})
    assert config(client, action="update", vision_ability="sometimes").status_code == 422


def test_update_then_get(make_gateway):
    client = make_gateway()
    response = config(client, action="update", vision_ability="base64-http", enable_slow_pool=True)
    assert response.get_json() == {"status": "success", "message": "配置已更新"}
    shown = data(client)
    assert (shown["vision_ability"], shown["enable_slow_pool"]) == ("all", True)


def test_reset_restores_built_in_defaults_not_the_environment(make_gateway):
    client = make_gateway(ENABLE_SLOW_POOL="true")
    assert data(client)["enable_slow_pool"] is True
    assert config(client, action="reset", enable_slow_pool=False).get_json() == {
        "status": "success",
        "message": "配置已重置",
    }
    assert data(client)["enable_slow_pool"] is False


def test_usage_rule_list_filtering(make_gateway):
    client = make_gateway()
    config(client, action="update", usage_check_models={"type": "list", "content": "gpt-4o, bogus"})
    assert data(client)["usage_check_models"] == {"type": "list", "content": "gpt-4o"}
    config(client, action="update", usage_check_models={"type": "list", "content": "bogus"})
    assert data(client)["usage_check_models"] == {"type": "none"}


def test_share_token_via_config(make_gateway):
    client = make_gateway(tokens=[])
    config(client, action="update", share_token="s2")
    assert data(client)["share_token"] == "s2"
    assert chat(client, "hi", headers={"Authorization": "Bearer s2"}).status_code == 503  # a pool user
    token = make_token("user_k")
    assert client.post("/build-key", json={"auth_token": f"{token},{checksum_for(token)}"}).status_code == 401
    config(client, action="update", share_token="")
    assert chat(client, "hi", headers={"Authorization": "Bearer s2"}).status_code == 401
    assert client.post("/build-key", json={"auth_token": f"{token},{checksum_for(token)}"}).status_code == 200


def test_proxies_via_config(make_gateway):
    client = make_gateway(tokens=[make_token()])
    config(client, action="update", proxies=f"http://127.0.0.1:{free_port()}")
    assert data(client)["proxies"].startswith("http://127.0.0.1:")
    failed = chat(client, "hi")
    assert failed.status_code == 500 and failed.get_json()["error"]["code"] == "request_failed"
    config(client, action="update", proxies="nonsense")
    assert data(client)["proxies"] == "system"
    config(client, action="update", proxies="")
    assert data(client)["proxies"] == "" and chat(client, "hi").status_code == 200


def test_dynamic_key_switch(make_gateway):
    client = make_gateway(tokens=[])
    token = make_token("user_switch")
    key = client.post("/build-key", json={"auth_token": f"{token},{checksum_for(token)}"}).get_json()["key"]
    config(client, action="update", enable_dynamic_key=False)
    assert chat(client, "hi", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    config(client, action="update", enable_dynamic_key=True)
    assert chat(client, "hi", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_page_overrides(make_gateway):
    client = make_gateway()
    config(client, action="update", path="/", content={"type": "html", "content": "<b>hi</b>"})
    root = client.get("/")
    assert (root.status_code, root.headers["Content-Type"], root.data) == (200, "text/html;charset=utf-8", b"<b>hi</b>")
    config(client, action="update", path="/", content={"type": "text", "content": "plain"})
    assert client.get("/").headers["Content-Type"] == "text/plain;charset=utf-8"
    config(client, action="update", path="/static/shared.js", content={"type": "html", "content": "alert(1)"})
    script = client.get("/static/shared.js")
    assert (script.headers["Content-Type"], script.data) == ("text/javascript;charset=utf-8", b"alert(1)")
    assert data(client, "/")["page_content"] == {"type": "text", "content": "plain"}
    config(client, action="reset", path="/")
    assert client.get("/").status_code == 307


def test_invalid_page_path_applies_nothing(make_gateway):
    client = make_gateway()
    response = config(
        client, action="update", path="/nope", content={"type": "text", "content": "x"}, enable_slow_pool=True
    )
    assert response.status_code == 500 and response.get_json()["error"].startswith("更新页面内容失败")
    assert data(client)["enable_slow_pool"] is False


def test_config_changes_apply_to_the_next_chat(make_gateway, upstream):
    client = make_gateway(tokens=[make_token()])
    config(client, action="update", include_web_references=True)
    assert chat(client, "fake:web").get_json()["choices"][0]["message"]["content"].startswith("WebReferences:")
