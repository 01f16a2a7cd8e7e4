"""The operator's pages in a real browser (issue #4; SPEC §13, rows 6 and 8)."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.support import ADMIN, make_token


def sign_in(page, url: str) -> None:
    page.goto(url)
    page.fill("#auth-token", "admin-secret")


def test_pages_are_wired_to_their_apis(server):
    html = {
        path: requests.get(server.url + path).text for path in ("/tokens", "/logs", "/config", "/api", "/build-key")
    }
    for path, text in html.items():
        assert requests.get(server.url + path).headers["Content-Type"] == "text/html;charset=utf-8"
        assert "/static/shared.js" in text and "/static/shared-styles.css" in text, path
    for endpoint in ("/tokens/get", "/tokens/add", "/tokens/delete", "/tokens/reload", "/build-key", "/v1/models"):
        assert endpoint in html["/tokens"], endpoint
    assert "POST /logs" in html["/logs"] and "/tokens/delete" in html["/logs"]
    assert "POST /config" in html["/config"]
    for endpoint in ("/health", "/basic-calibration", "/userinfo"):
        assert endpoint in html["/api"], endpoint


def test_add_a_token_and_see_it_in_the_table(page, server):
    added = make_token("user_added_in_browser")
    sign_in(page, f"{server.url}/tokens")
    page.click("#refresh")
    expect(page.locator("#count")).to_have_text("1 of 1 tokens")
    page.fill("#new-tokens", f"# a comment line\n{added}\n")
    page.click("#add")
    expect(page.locator(".toast-success").last).to_contain_text("New tokens have been added")
    expect(page.locator("#count")).to_have_text("2 of 2 tokens")
    expect(page.locator(f'tr[data-token="{added}"]')).to_be_visible()
    page.fill("#search", "nothing-matches")
    expect(page.locator("#token-rows")).to_contain_text("No token matches")


def test_the_admin_token_is_remembered_and_errors_are_shown_in_words(page, server):
    sign_in(page, f"{server.url}/tokens")
    page.reload()
    expect(page.locator("#auth-token")).to_have_value("admin-secret")  # kept for 24 h in this browser
    page.fill("#auth-token", "wrong")
    page.click("#refresh")
    expect(page.locator(".toast-error").last).to_contain_text("status: 401")
    page.click("#forget-token")
    page.reload()
    expect(page.locator("#auth-token")).to_have_value("")


def test_change_a_setting_and_see_it_through_the_api(page, server):
    sign_in(page, f"{server.url}/config")
    page.click("#get")
    expect(page.locator("#enable_slow_pool")).to_have_value("false")
    page.select_option("#enable_slow_pool", "true")
    page.click("#update")
    expect(page.locator(".toast-success").last).to_contain_text("配置已更新")
    got = requests.post(f"{server.url}/config", json={"action": "get", "path": "/"}, headers=ADMIN).json()["data"]
    assert got["enable_slow_pool"] is True
    expect(page.locator('[data-badge="enable_slow_pool"] .changed')).to_be_visible()
    requests.post(f"{server.url}/config", json={"action": "reset", "enable_slow_pool": True}, headers=ADMIN)


def test_the_doctor_runs_from_the_config_page(page, server):
    sign_in(page, f"{server.url}/config")
    page.click("#doctor")
    report = page.locator("#doctor-report")
    expect(report).to_be_visible(timeout=30000)
    expect(report).to_contain_text("ok   agent  one-word chat")
    expect(report).to_contain_text("model list")
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.", report.inner_text())  # the pool token is masked


def test_a_chat_appears_on_the_logs_page_with_its_timing(page, server):
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "fake:capture:256"}]}
    assert requests.post(f"{server.url}/v1/chat/completions", json=body, headers=ADMIN).text.endswith("[DONE]\n\n")
    sign_in(page, f"{server.url}/logs")
    page.click("#refresh")
    row = page.locator("#log-rows tr").filter(has_text="gpt-4o-mini").first
    expect(row).to_contain_text("success")
    timing = row.locator(".timing").inner_text()
    assert re.fullmatch(r"\d+\.\d{3} s / \d+\.\d{3} s", timing), timing
    row.locator(".show-prompt").click()
    expect(page.locator("#prompt-dialog")).to_contain_text("system")
    page.locator("#prompt-dialog [data-close]").click()
    page.select_option("#filter-status", "failed")
    expect(page.locator("#log-rows")).not_to_contain_text("gpt-4o-mini")


def test_the_logs_page_shows_which_api_each_request_came_through(page, server):
    message = {"model": "gpt-4", "max_tokens": 32, "messages": [{"role": "user", "content": "fake:text:hi"}]}
    headers = {"x-api-key": ADMIN["Authorization"].removeprefix("Bearer ")}
    assert requests.post(f"{server.url}/v1/messages", json=message, headers=headers).status_code == 200
    sign_in(page, f"{server.url}/logs")
    page.click("#refresh")
    row = page.locator("#log-rows tr").filter(has_text="gpt-4").filter(has_text="messages").first
    expect(row).to_contain_text("success")
    expect(page.locator("thead")).to_contain_text("API")


def test_a_disabled_token_is_shown_and_re_enabled_from_the_page(page, server):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "fake:error:ERROR_NOT_LOGGED_IN"}]}
    pooled = requests.post(f"{server.url}/tokens/get", headers=ADMIN).json()["tokens"]
    for _ in pooled:  # every pooled token answers "not logged in" once: all disabled
        requests.post(f"{server.url}/v1/chat/completions", json=body, headers=ADMIN)
    sign_in(page, f"{server.url}/tokens")
    page.click("#refresh")
    row = page.locator("#token-rows tr").first
    expect(row).to_contain_text("disabled")
    row.locator("button.enable").click()
    expect(page.locator(".toast-success").last).to_contain_text("token enabled")
    expect(row).to_contain_text("healthy")
