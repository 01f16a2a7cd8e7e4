"""Redirects, the README page, `.env.example` and the shared static files (SPEC §4.2, §11.5).

Static files are served from the package, by name: only the two shared assets exist; any
other name is 404 `Not found`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import markdown
from flask import Blueprint, Response, render_template

from app.blueprints import gateway, text_response
from app.services.pages import PAGE_PATHS

bp = Blueprint("pages", __name__)

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STATIC_TYPES = {
    "shared-styles.css": "text/css;charset=utf-8",
    "shared.js": "text/javascript;charset=utf-8",
}


def overridden(path: str) -> Response | None:
    """The operator's replacement for a page (SPEC §4.3), if any. The two shared assets keep
    their own content type whatever the override's type."""
    override = gateway().pages.get(path)
    if override is None or override["type"] == "default":
        return None
    content_type = STATIC_TYPES.get(path.removeprefix("/static/")) or (
        "text/html;charset=utf-8" if override["type"] == "html" else "text/plain;charset=utf-8"
    )
    return text_response(override["content"], content_type=content_type)


def _empty_redirect(location: str) -> Response:
    return Response(b"", status=307, headers={"Location": location})


@bp.get("/")
def root() -> Response:
    return overridden("/") or _empty_redirect("/health")


@bp.get("/about")
def about() -> Response:
    return overridden("/about") or _empty_redirect("/readme")


SCREENS = {
    "/tokens": ("tokens.html", "Token pool"),
    "/logs": ("logs.html", "Request logs"),
    "/config": ("config.html", "Configuration"),
    "/build-key": ("build_key.html", "Key builder"),
    "/api": ("api.html", "API tools"),
}


def _screen(path: str) -> Response:
    template, title = SCREENS[path]
    html = render_template(
        template, title=title, current=path, prefix=gateway().settings.route_prefix, page_paths=PAGE_PATHS
    )
    return text_response(html, content_type="text/html;charset=utf-8")


def _register_screen(path: str) -> None:
    bp.add_url_rule(path, f"screen_{path.strip('/').replace('-', '_')}", lambda: overridden(path) or _screen(path))


for _path in SCREENS:
    _register_screen(_path)


@bp.get("/env-example")
def env_example() -> Response:
    return text_response((ROOT / ".env.example").read_text(encoding="utf-8"))


@cache
def _readme_html() -> str:
    body = markdown.markdown((ROOT / "README.md").read_text(encoding="utf-8"), extensions=["fenced_code", "tables"])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>cursor-api README</title>"
        '<link rel="stylesheet" href="/static/shared-styles.css"></head>'
        f'<body><main class="readme">{body}</main></body></html>'
    )


@bp.get("/readme")
def readme() -> Response:
    return overridden("/readme") or text_response(_readme_html(), content_type="text/html;charset=utf-8")


@bp.get("/static/<name>")
def static_file(name: str) -> Response:
    content_type = STATIC_TYPES.get(name)
    if content_type is None:
        return text_response("Not found", status=404)
    return overridden(f"/static/{name}") or text_response(
        (STATIC_DIR / name).read_text(encoding="utf-8"), content_type=content_type
    )
