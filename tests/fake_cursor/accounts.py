"""The fake's account endpoints (PROTOCOL §6): usage and user info on the web host, the
stripe profile on the API host. The account's kind comes from its user id:

  user id containing   membership   usage (gpt-4 = premium, gpt-3.5-turbo = standard)
  free_exhausted       free         premium 50 of 50 used
  free_standard_out    free         premium 0 of 50, standard 200 of 200
  pro                  pro          premium 120 of 500
  weird_plan           "ultra"      (an unknown membership: the profile must fail)
  anything else        free_trial   premium 3 of 150, 7 trial days left
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs

from tests.fake_cursor.request import Request

ACCOUNT_PATHS = ("/api/usage", "/api/auth/me", "/auth/full_stripe_profile")
_COOKIE = re.compile(r"WorkosCursorSessionToken=([A-Za-z0-9_]+)%3A%3A([^;\s]+)")


def user_id_of(jwt: str) -> str | None:
    try:
        payload = jwt.split(".")[1]
        sub = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    except (IndexError, ValueError, KeyError, TypeError):
        return None
    return sub.split("|")[-1]


def _kind(user_id: str) -> str:
    for kind in ("free_exhausted", "free_standard_out", "pro", "weird_plan"):
        if kind in user_id:
            return kind
    return "trial"


def _bucket(used: int, limit: int | None) -> dict:
    return {"numRequests": used, "numRequestsTotal": used, "numTokens": used * 1000, "maxRequestUsage": limit,
            "maxTokenUsage": None}  # fmt: skip


def usage_body(kind: str) -> dict:
    premium, standard = {"free_exhausted": (50, 10), "free_standard_out": (0, 200), "pro": (120, 0)}.get(kind, (3, 1))
    return {
        "gpt-4": _bucket(premium, 500 if kind == "pro" else 50 if kind.startswith("free") else 150),
        "gpt-3.5-turbo": _bucket(standard, 200),
        "gpt-4-32k": _bucket(0, None),
        "startOfMonth": "2026-11-01T00:00:00.000Z",
    }


def stripe_body(kind: str) -> dict:
    membership = {"free_exhausted": "free", "free_standard_out": "free", "pro": "pro", "weird_plan": "ultra"}.get(
        kind, "free_trial"
    )
    body = {"membershipType": membership, "daysRemainingOnTrial": 7 if membership == "free_trial" else 0}
    if membership == "pro":
        body["paymentId"] = "cus_fake123"
    return body


def answer(request: Request) -> tuple[int, dict, str | None]:
    """(status, body, rejection reason) for an account call, checked like the real service."""
    if request.method != "GET":
        return 405, {"error": "Method not allowed"}, "method"
    if request.path == "/auth/full_stripe_profile":
        auth = request.header("Authorization") or ""
        user_id = user_id_of(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if user_id is None or request.header("Origin") != "vscode-file://vscode-app":
            return 401, {"error": "Unauthorized"}, "stripe call without a bearer token or the editor's origin"
        return 200, stripe_body(_kind(user_id)), None
    cookie = _COOKIE.search(request.header("Cookie") or "")
    query_user = parse_qs(request.query).get("user", [None])[0]
    if not cookie or cookie.group(1) != query_user or user_id_of(cookie.group(2)) != query_user:
        return 401, {"error": "Not authenticated"}, "web call without a matching session cookie"
    if not request.header("Referer") or not request.header("User-Agent"):
        return 403, {"error": "Forbidden"}, "web call without browser headers"
    kind = _kind(query_user)
    if request.path == "/api/usage":
        return 200, usage_body(kind), None
    return (
        200,
        {
            "email": f"{query_user}@example.com",
            "email_verified": True,
            "name": "Fake User",
            "sub": f"auth0|{query_user}",
            "updated_at": "2026-11-20T08:00:00.000Z",
            "picture": None,
        },
        None,
    )
