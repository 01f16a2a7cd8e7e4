"""Redirects, the README page, `.env.example` and the shared static files (SPEC §4.2, §11.5).

Static files are served from the package, by name: only the two shared assets exist; any
other name is 404 `Not found`.

Every response carries the headers of `add_security_headers` (issue #14): no MIME sniffing, no
referrer, no framing, and a Content-Security-Policy. The gateway's own pages may run only
their own scripts: the shared script and the inline script of each page, which carries a nonce
made for that one response, so markup injected into a page cannot run script, not even in an
event handler. Anything else (JSON, text, the static files) gets a policy that allows nothing.
An operator's page override (SPEC §4.3) is the operator's own content, trusted like the
configuration itself: it keeps its scripts (custom pages rely on inline ones), but it cannot be
framed either.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path

import markdown
from flask import Blueprint, Response, g, render_template

from app.blueprints import gateway, text_response
from app.services.pages import PAGE_PATHS

bp = Blueprint("pages", __name__)

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STATIC_TYPES = {
    "shared-styles.css": "text/css;charset=utf-8",
    "shared.js": "text/javascript;charset=utf-8",
}


# The gateway's own pages: scripts from this origin and the response's nonce; inline style
# attributes stay allowed (the pages and their tables use them; styles cannot run script).
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
OVERRIDE_POLICY = "frame-ancestors 'none'"  # the operator's own page: only framing is refused
OTHER_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP 2
}


def csp_nonce() -> str:
    """This response's script nonce, made on first use."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def page_response(html: str, *, nonce: str | None = None) -> Response:
    """One of the gateway's own HTML pages, under PAGE_POLICY."""
    response = text_response(html, content_type="text/html;charset=utf-8")
    response.headers["Content-Security-Policy"] = PAGE_POLICY.format(nonce=f" 'nonce-{nonce}'" if nonce else "")
    return response


def add_security_headers(response: Response) -> Response:
    """After every request: the headers above, and OTHER_POLICY unless the response has its own."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", OTHER_POLICY)
    return response


def overridden(path: str) -> Response | None:
    """The operator's replacement for a page (SPEC §4.3), if any. The two shared assets keep
    their own content type whatever the override's type."""
    override = gateway().pages.get(path)
    if override is None or override["type"] == "default":
        return None
    content_type = STATIC_TYPES.get(path.removeprefix("/static/")) or (
        "text/html;charset=utf-8" if override["type"] == "html" else "text/plain;charset=utf-8"
    )
    response = text_response(override["content"], content_type=content_type)
    if override["type"] == "html" and not path.startswith("/static/"):
        response.headers["Content-Security-Policy"] = OVERRIDE_POLICY
    return response


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
    nonce = csp_nonce()
    html = render_template(
        template,
        title=title,
        current=path,
        prefix=gateway().settings.route_prefix,
        page_paths=PAGE_PATHS,
        csp_nonce=nonce,
    )
    return page_response(html, nonce=nonce)


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
    return overridden("/readme") or page_response(_readme_html())


@bp.get("/static/<name>")
def static_file(name: str) -> Response:
    content_type = STATIC_TYPES.get(name)
    if content_type is None:
        return text_response("Not found", status=404)
    return overridden(f"/static/{name}") or text_response(
        (STATIC_DIR / name).read_text(encoding="utf-8"), content_type=content_type
    )
