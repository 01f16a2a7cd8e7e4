"""Account usage: which chats refresh an account's profile, and the pre-check that stops
spending an exhausted free account (SPEC §6.4–6.5, PROTOCOL §6.3–6.4).

The latest good profile of each token is kept in the store, so the pre-check is one lookup
(the reference scans its log ring). A failed fetch never erases a good profile (D14).
"""

from __future__ import annotations

import time
from typing import cast

from app.cursor.keys import USAGE_ALL, USAGE_CUSTOM, KeyOptions
from app.cursor.profile import fetch_profile
from app.services import store_outage
from app.services.background import run_in_background
from app.services.records import Profile
from app.services.request_log import RequestLog
from app.services.token_pool import TokenPool
from app.settings import MODEL_IDS, USAGE_CHECK_DEFAULT_MODELS, ProxySetting, UsageRule
from app.store import Store, StoreError

PROFILE_KEY = "profile:"
FETCHED_KEY = "profile-fetched:"
_DEFAULT_LIST = frozenset(USAGE_CHECK_DEFAULT_MODELS)


def effective_rule(global_rule: UsageRule, key: KeyOptions | None) -> UsageRule:
    """A dynamic key's rule replaces the global one; its TYPE_DEFAULT means no check (D8)."""
    if key is None or key.usage_check is None:
        return global_rule
    kind, models = key.usage_check
    if kind == USAGE_ALL:
        return UsageRule("all")
    if kind == USAGE_CUSTOM and models:
        return UsageRule("list", models)
    return UsageRule("none")


def rule_selects(rule: UsageRule, base_model: str, live_catalog: bool = False) -> bool:
    """Whether a chat on `base_model` refreshes the account's profile. With Cursor's live catalog
    (the agent path) the rc.4 lists say nothing about its models, so the default checks them
    all: a check is one profile fetch per token per USAGE_CHECK_TTL_SECONDS, not per chat."""
    if live_catalog:
        return {"none": False, "default": True, "all": True}.get(rule.kind, base_model in rule.models)
    if base_model not in MODEL_IDS:
        return False  # names admitted only by PASS_ANY_CLAUDE are never checked
    return {"none": False, "default": base_model in _DEFAULT_LIST, "all": True}.get(
        rule.kind, base_model in rule.models
    )


def is_exhausted(profile: Profile, base_model: str) -> bool:
    """Only plain `free` accounts are blocked; premium models count against the premium bucket
    (the fixed default list decides, whatever the configured rule)."""
    if profile.get("stripe", {}).get("membership_type") != "free":
        return False
    bucket = profile["usage"]["premium" if base_model in _DEFAULT_LIST else "standard"]
    return "max_requests" in bucket and bucket["requests"] >= bucket["max_requests"]


class AccountUsage:
    def __init__(self, store: Store, pool: TokenPool, request_log: RequestLog, clients, ttl: float = 300.0) -> None:
        self._store = store
        self._ttl = ttl
        self._pool = pool
        self._log = request_log
        self._clients = clients

    def latest_profile(self, token: str) -> Profile | None:
        return self._store.get(PROFILE_KEY + token)

    def fetch(self, token: str, proxies: ProxySetting) -> Profile | None:
        return cast(Profile | None, fetch_profile(self._clients.get(proxies), token))

    def claim_refresh(self, token: str) -> bool:
        """True for the one caller that should fetch the profile now: at most once per token per
        USAGE_CHECK_TTL_SECONDS across every worker and instance (issue #15: three upstream
        calls after every chat were most of a chat's cost). Within the TTL this is one store
        read and no write; the store's atomic update decides between callers once it is due."""
        now = time.time()
        try:
            fetched_at = self._store.get(FETCHED_KEY + token)
            if fetched_at is not None and now - fetched_at < self._ttl:
                return False

            def claim(fetched_at: float | None) -> float:
                return now if fetched_at is None or now - fetched_at >= self._ttl else fetched_at

            return self._store.update(FETCHED_KEY + token, claim) == now
        except StoreError as error:
            store_outage.report(error, "checking when an account's usage was fetched")
            return False

    def refresh_in_background(self, token: str, log_id: int, proxies: ProxySetting) -> None:
        """Fetch the profile without delaying the chat (a greenlet under gunicorn's gevent), for
        the caller `claim_refresh` chose; the log entry gets it when it arrives."""
        run_in_background(self._refresh, token, log_id, proxies)

    def _refresh(self, token: str, log_id: int, proxies: ProxySetting) -> None:
        profile = self.fetch(token, proxies)
        if profile is None:
            return
        try:
            self._store.put(PROFILE_KEY + token, profile)
            self._pool.set_profile(token, profile)
        except StoreError as error:  # kept next time; the log entry still gets it
            store_outage.report(error, "keeping an account's profile")
        self._log.set_profile(log_id, profile)
