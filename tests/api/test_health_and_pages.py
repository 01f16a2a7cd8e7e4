"""Health, the README page and static assets (SPEC §10, §11.5; §18 rows 7–10, 16, 17, 19; D4, D12)."""

from __future__ import annotations

import re

from tests.support import ADMIN

ENDPOINTS = [
    "/v1/chat/completions",
    "/v1/models",
    "/tokens",
    "/tokens/get",
    "/tokens/update",
    "/tokens/add",
    "/tokens/delete",
    "/logs",
    "/env-example",
    "/config",
    "/static/{path}",
    "/about",
    "/readme",
    "/api",
    "/get-hash",
    "/get-checksum",
    "/get-tsheader",
    "/basic-calibration",
    "/userinfo",
    "/build-key",
]


def test_public_health(gateway):
    body = gateway.get("/health").get_json()
    assert (body["status"], body["version"]) == ("healthy", "0.1.3-rc.4")
    assert isinstance(body["uptime"], int) and body["uptime"] >= 0
    assert len(body["models"]) == 23 and body["endpoints"] == ENDPOINTS and "stats" not in body
    assert "stats" not in gateway.get("/health", headers={"Authorization": "Bearer wrong"}).get_json()


def test_admin_health_has_real_stats(gateway):
    stats = gateway.get("/health", headers=ADMIN).get_json()["stats"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} [+-]\d\d:\d\d", stats["started"])
    assert (stats["total_requests"], stats["active_requests"]) == (0, 0)
    assert stats["system"]["memory"]["rss"] > 10 * 1024 * 1024  # D4: the real RSS, not 0
    assert isinstance(stats["system"]["cpu"]["usage"], float)


def test_readme_page(gateway):
    response = gateway.get("/readme")
    assert response.headers["Content-Type"] == "text/html;charset=utf-8"
    assert "<h1>cursor-api for Python</h1>" in response.get_data(as_text=True)


def test_static_assets(gateway):
    css, js = gateway.get("/static/shared-styles.css"), gateway.get("/static/shared.js")
    assert (css.status_code, css.headers["Content-Type"]) == (200, "text/css;charset=utf-8")
    assert (js.status_code, js.headers["Content-Type"]) == (200, "text/javascript;charset=utf-8")
    missing = gateway.get("/static/x.png")
    assert (missing.status_code, missing.data) == (404, b"Not found")
    assert gateway.get("/static/a/b.js").status_code == 404


def test_pages_are_html_and_prefix_aware(make_gateway):
    client = make_gateway(ROUTE_PREFIX="/p")
    for path in ("/tokens", "/logs", "/config", "/api", "/build-key"):
        response = client.get(path)
        assert (response.status_code, response.headers["Content-Type"]) == (200, "text/html;charset=utf-8"), path
        assert 'data-prefix="/p"' in response.get_data(as_text=True)
