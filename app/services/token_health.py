"""Token health (issue #6): a pool token is healthy, cooling down until a time, or disabled
with a reason. Upstream errors move tokens between states; rotation skips the unusable ones.

Rate limits cool a token down with exponential backoff for repeats; authentication failures
disable it until an operator re-enables it; an exhausted usage quota cools it down for a day
(quotas reset daily at the earliest).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict


class Health(TypedDict):
    """A pooled token's health as stored with its entry (absent means healthy)."""

    state: Literal["healthy", "cooling", "disabled"]
    until: NotRequired[float]  # cooling: the Unix time it is usable again
    reason: NotRequired[str]
    since: NotRequired[float]  # disabled: when
    strikes: NotRequired[int]  # cooling: rate limits in a row, for the backoff
    retry_after: NotRequired[int]  # only as shown: whole seconds left


HEALTHY: Health = {"state": "healthy"}
RATE_LIMIT_BASE_SECONDS = 60
RATE_LIMIT_MAX_SECONDS = 3600
USAGE_COOLDOWN_SECONDS = 24 * 3600

RATE_LIMITED = frozenset({
    "ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", "ERROR_PRO_USER_RATE_LIMIT_EXCEEDED", "ERROR_OPENAI_RATE_LIMIT_EXCEEDED",
    "ERROR_OPENAI_ACCOUNT_LIMIT_EXCEEDED", "ERROR_GENERIC_RATE_LIMIT_EXCEEDED", "ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT",
    "ERROR_API_KEY_RATE_LIMIT",
})  # fmt: skip
AUTH_FAILED = frozenset({
    "ERROR_NOT_LOGGED_IN", "ERROR_BAD_API_KEY", "ERROR_INVALID_AUTH_ID", "ERROR_AUTH_TOKEN_NOT_FOUND",
    "ERROR_AUTH_TOKEN_EXPIRED", "ERROR_UNAUTHORIZED",
})  # fmt: skip
USAGE_EXHAUSTED = frozenset({"ERROR_FREE_USER_USAGE_LIMIT", "ERROR_PRO_USER_USAGE_LIMIT"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an upstream answer says about the token that made it."""

    kind: str  # "ok" | "rate_limited" | "auth_failed" | "usage_exhausted" | "neutral"
    reason: str = ""


def verdict_for(error_name: str | None, reason: str) -> Verdict:
    if error_name in RATE_LIMITED:
        return Verdict("rate_limited", reason)
    if error_name in AUTH_FAILED:
        return Verdict("auth_failed", reason)
    if error_name in USAGE_EXHAUSTED:
        return Verdict("usage_exhausted", reason)
    return Verdict("neutral")  # not the token's fault (bad request, server trouble)


def next_health(current: Health, verdict: Verdict, now: float) -> Health:
    """The token's health after this verdict."""
    if verdict.kind == "ok":
        return HEALTHY
    if verdict.kind == "auth_failed":
        return {"state": "disabled", "reason": verdict.reason, "since": now}
    if verdict.kind == "usage_exhausted":
        return {"state": "cooling", "until": now + USAGE_COOLDOWN_SECONDS, "reason": verdict.reason, "strikes": 0}
    if verdict.kind == "rate_limited":
        strikes = current.get("strikes", 0) + 1 if current.get("state") == "cooling" else 1
        delay = min(RATE_LIMIT_BASE_SECONDS * 2 ** (strikes - 1), RATE_LIMIT_MAX_SECONDS)
        return {"state": "cooling", "until": now + delay, "reason": verdict.reason, "strikes": strikes}
    return current


def usable(health: Health | None, now: float) -> bool:
    health = health or HEALTHY
    if health["state"] == "cooling":
        return health["until"] <= now
    return health["state"] == "healthy"


def shown(health: Health | None, now: float | None = None) -> Health:
    """The health as /tokens/get shows it: an expired cooldown reads as healthy."""
    now = time.time() if now is None else now
    health = health or HEALTHY
    if health["state"] == "cooling" and health["until"] <= now:
        return HEALTHY
    if health["state"] == "cooling":
        return {**health, "retry_after": math.ceil(health["until"] - now)}
    return health
