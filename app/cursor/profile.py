"""An account's profile: usage, user and membership, from three calls (PROTOCOL §6).

Any transport, JSON or shape failure makes the whole profile None, as in the reference.
"""

from __future__ import annotations

import datetime
from typing import Any

from app.cursor.client import CursorClient
from app.cursor.errors import CursorError
from app.cursor.session_token import parse_claims, usage_cookie

USAGE_PATH, USER_PATH, STRIPE_PATH = "/api/usage", "/api/auth/me", "/auth/full_stripe_profile"
MEMBERSHIPS = frozenset({"free", "free_trial", "pro", "enterprise"})
BUCKETS = (("premium", "gpt-4"), ("standard", "gpt-3.5-turbo"), ("unknown", "gpt-4-32k"))
_BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
_EDITOR_UA = f"{_BROWSER} Cursor/0.42.5 Chrome/124.0.6367.243 Electron/30.4.0 Safari/537.36"
_WEB_UA = f"{_BROWSER} Chrome/131.0.0.0 Safari/537.36"


def stripe_headers(token: str) -> dict[str, str]:
    """PROTOCOL §1.5, in order."""
    return {
        "sec-ch-ua": '"Not-A.Brand";v="99", "Chromium";v="124"', "x-ghost-mode": "true", "sec-ch-ua-mobile": "?0",
        "Authorization": f"Bearer {token}", "User-Agent": _EDITOR_UA, "sec-ch-ua-platform": '"Windows"',
        "Accept": "*/*", "Origin": "vscode-file://vscode-app", "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors",
        "sec-fetch-dest": "empty", "Accept-Encoding": "gzip,br", "Accept-Language": "zh-CN", "priority": "u=1, i",
    }  # fmt: skip


def web_headers(token: str) -> dict[str, str]:
    """PROTOCOL §1.6, in order; the cookie is set by hand with a literal %3A%3A (P10)."""
    return {
        "User-Agent": _WEB_UA, "Accept": "*/*", "Accept-Language": "zh-CN", "Accept-Encoding": "gzip,br",
        "Referer": "https://www.cursor.com/settings", "DNT": "1", "sec-gpc": "1", "sec-fetch-dest": "empty",
        "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin", "Connection": "keep-alive", "Pragma": "no-cache",
        "Cache-Control": "no-cache", "TE": "trailers", "priority": "u=4", "Cookie": usage_cookie(token),
    }  # fmt: skip


def _count(value: Any, required: bool) -> int | None:
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or (required and value < 0):
        raise ValueError("not a count")
    return value


def parse_usage(body: Any) -> dict:
    usage = {}
    for name, key in BUCKETS:
        bucket = body[key]
        entry = {"requests": _count(bucket.get("numRequests"), True)}
        optional = {"requests_total": "numRequestsTotal", "tokens": "numTokens", "max_requests": "maxRequestUsage",
                    "max_tokens": "maxTokenUsage"}  # fmt: skip
        for out, upstream in optional.items():
            value = _count(bucket.get(upstream), out == "tokens")
            if value is not None:
                entry[out] = value
        usage[name] = entry
    return usage


def parse_user(body: Any) -> dict:
    if not all(isinstance(body.get(key), str) for key in ("email", "name", "sub", "updated_at")):
        raise ValueError("incomplete user")
    updated = datetime.datetime.fromisoformat(body["updated_at"]).astimezone()
    return {"email": body["email"], "name": body["name"], "id": body["sub"], "updated_at": updated.isoformat()}


def parse_stripe(body: Any) -> dict:
    membership = body["membershipType"]
    if membership not in MEMBERSHIPS:
        raise ValueError(f"unknown membership {membership!r}")
    profile = {"membership_type": membership}
    if isinstance(body.get("paymentId"), str):
        profile["payment_id"] = body["paymentId"]
    profile["days_remaining_on_trial"] = _count(body.get("daysRemainingOnTrial"), True)
    return profile


def fetch_profile(client: CursorClient, token: str, timeout: float = 15) -> dict | None:
    """The profile, or None on any failure (PROTOCOL §6.1: usage, user, then stripe)."""
    claims = parse_claims(token)
    if claims is None:
        return None
    upstream = client.upstream
    query = {"user": claims.user_id}
    try:
        usage = parse_usage(client.get_json(upstream.web_base_url, USAGE_PATH, web_headers(token), timeout, query))
        user = parse_user(client.get_json(upstream.web_base_url, USER_PATH, web_headers(token), timeout, query))
        stripe = parse_stripe(client.get_json(upstream.api2_base_url, STRIPE_PATH, stripe_headers(token), timeout))
    except (CursorError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return {"usage": usage, "user": user, "stripe": stripe}
