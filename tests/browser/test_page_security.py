"""The pages resist framing and injection (issue #14 item 8), in a real browser and on the wire."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.support import ADMIN

PAGES = ("/tokens", "/logs", "/config", "/api", "/build-key", "/readme")
OTHERS = ("/static/shared.js", "/static/shared-styles.css", "/health", "/env-example", "/v1/models", "/no-such-page")


def directives(response: requests.Response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def sign_in(page, url: str) -> None:
    page.goto(url)
    page.fill("#auth-token", "admin-secret")


def test_every_response_carries_the_security_headers(server):
    for path in PAGES + OTHERS:
        response = requests.get(server.url + path, allow_redirects=False)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        policy = directives(response)
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"], path
    for path in PAGES:
        policy = directives(requests.get(server.url + path))
        scripts = policy["script-src"]
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "*" not in scripts, path
        assert policy["object-src"] == ["'none'"] and policy["default-src"] == ["'self'"], path
    for path in OTHERS:  # nothing but pages may load anything
        assert directives(requests.get(server.url + path))["default-src"] == ["'none'"], path


def test_each_page_load_has_its_own_nonce_and_only_its_scripts_carry_it(server):
    first, second = (requests.get(f"{server.url}/tokens") for _ in range(2))
    nonces = [
        re.fullmatch(r"'nonce-([A-Za-z0-9_-]{20,})'", directives(r)["script-src"][-1])[1] for r in (first, second)
    ]
    assert nonces[0] != nonces[1]
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", first.text)
    assert inline == [f' nonce="{nonces[0]}"']  # the page's one inline script, and it carries the nonce


def test_injected_markup_cannot_run_script(page, server):
    reports: list[str] = []
    page.on("console", lambda message: reports.append(message.text))
    sign_in(page, f"{server.url}/tokens")
    page.click("#refresh")  # the page's own scripts work
    expect(page.locator("#count")).to_have_text("1 of 1 tokens")
    page.evaluate(
        """() => {
        window.injected = [];
        // What an escaping mistake would let in: markup with an event handler, a script element.
        document.getElementById("toasts").insertAdjacentHTML("beforeend",
            '<img src="data:," onerror="window.injected.push(\\'handler\\')">');
        const script = document.createElement("script");
        script.textContent = "window.injected.push('inline script')";
        document.body.appendChild(script);
        const link = document.createElement("a");
        link.href = "javascript:window.injected.push('javascript: URL')";
        document.body.appendChild(link);
        link.click();
    }"""
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.injected") == []
    assert any("Content Security Policy" in report for report in reports), reports


def test_pages_cannot_be_framed(page, server):
    reports: list[str] = []
    page.on("console", lambda message: reports.append(message.text))
    page.set_content(f'<iframe src="{server.url}/tokens"></iframe>')  # another site framing the page
    page.wait_for_timeout(500)
    framed = page.frames[1]
    assert framed.url != f"{server.url}/tokens" or framed.title() == ""
    assert any("frame-ancestors" in report for report in reports), reports


def test_an_operator_page_keeps_its_own_scripts_but_cannot_be_framed(page, server):
    content = "<!DOCTYPE html><title>operator</title><p id=out>waiting</p><script>out.textContent = 'ran'</script>"
    update = {"action": "update", "path": "/", "content": {"type": "html", "content": content}}
    assert requests.post(f"{server.url}/config", json=update, headers=ADMIN).status_code == 200
    try:
        response = requests.get(f"{server.url}/", allow_redirects=False)
        assert response.status_code == 200 and directives(response) == {"frame-ancestors": ["'none'"]}
        page.goto(f"{server.url}/")
        expect(page.locator("#out")).to_have_text("ran")  # the operator's content, trusted as such
    finally:
        requests.post(f"{server.url}/config", json={"action": "reset", "path": "/"}, headers=ADMIN)
